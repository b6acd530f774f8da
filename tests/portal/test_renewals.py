"""Renewals (issue 17): a member asks to continue an award in a later call; a draft application prefilled from the
award's is made and linked to the old allocation; its reviewers see the old award's usage, reports and released
models; the request is decided with the application (awarded: approved; declined or withdrawn: declined)."""

from datetime import timedelta
from functools import partial

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.errors import WorkflowError
from portal.models import Application, AuditEntry, AwardRequest
from portal.services import applications, award_requests, award_terms, calls, decisions, progress_reports, renewals
from portal.tasks import send_email
from reproducibility.models import Snapshot
from scheduler import quota
from scheduler.models import Allocation, TrainingJob
from tests.portal.conftest import client_for
from tests.scheduler.factories import job_request

HOUR = 3600
CHECKSUM = "12345678901234567890"
pytestmark = pytest.mark.django_db


def _mails(callbacks):  # type: ignore[no-untyped-def]
    return [
        cb.args[:2]
        for cb in callbacks
        if isinstance(cb, partial) and getattr(cb.func, "__func__", None) is send_email.delay.__func__
    ]


@pytest.fixture
def reviewers(make_user):  # type: ignore[no-untyped-def]
    return [make_user(name, "reviewer", affiliation=f"{name} Institute") for name in ("rosa", "ravi")]


@pytest.fixture
def awarded(draft, applicant, maintainer, reviewers, open_call):  # type: ignore[no-untyped-def]
    open_call.report_months = [1]
    open_call.save()
    application = decisions.award(applications.submit(draft, actor=applicant), 80 * HOUR, actor=maintainer)
    Snapshot.objects.filter(pk=application.snapshot_id).update(status=Snapshot.Status.DONE, commit="a" * 40)
    application.allocation.refresh_from_db()
    return application


@pytest.fixture
def later_call(gpu_pool, maintainer):  # type: ignore[no-untyped-def]
    now = timezone.now()
    return calls.open_call(
        title="Open compute 2028",
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=60),
        budgets=[(gpu_pool, 2000 * HOUR)],
        actor=maintainer,
    )


def _with_a_released_model(awarded, applicant, maintainer):  # type: ignore[no-untyped-def]
    """A run that exported a SavedModel, released in the 1-month report, approved."""
    job = quota.submit_job(awarded.allocation, job_request(runtime=2 * HOUR))
    TrainingJob.objects.filter(pk=job.pk).update(
        state=TrainingJob.State.RUNNING,
        started_at=timezone.now() - timedelta(hours=1),
        model_summary={"fingerprint": {"saved_model_checksum": CHECKSUM}},
    )
    job = quota.finish_job(job, TrainingJob.State.SUCCEEDED, worker_seconds=[HOUR])
    report = awarded.allocation.reports.order_by("due_at").first()
    progress_reports.submit(
        report, actor=applicant, work_done="Trained digits to 99%.", runs=[job], released_models=[job]
    )
    progress_reports.approve(report, actor=maintainer, comment="Good.")
    return job


def test_a_member_drafts_a_renewal_prefilled_from_the_award_and_maintainers_are_told(
    awarded, later_call, open_call, applicant, maintainer, django_capture_on_commit_callbacks
):
    allocation = awarded.allocation
    url = reverse("portal:allocation_renew", args=[allocation.pk])
    client = client_for(applicant)
    page = client.get(url).content.decode()
    assert "Open compute 2028" in page and "Open compute 2027</option>" not in page  # not the award's own call
    for post, says in (
        ({"call": later_call.pk, "reason": ""}, "This field is required."),
        ({"call": open_call.pk, "reason": "More."}, "Choose one of the open calls listed"),
        ({"call": "x", "reason": "More."}, "Choose one of the open calls listed"),
    ):
        refused = client.post(url, post)
        assert refused.status_code == 400 and says in refused.content.decode(), says
    assert not AwardRequest.objects.exists() and Application.objects.count() == 1

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        done = client.post(url, {"call": later_call.pk, "reason": "The model works; scale it to the full set."})
    request = AwardRequest.objects.get()
    renewal = request.renewal
    assert done.status_code == 302 and done["Location"] == reverse("portal:application_detail", args=[renewal.pk])
    assert (request.kind, request.state, request.allocation_id) == ("renewal", "pending", allocation.pk)
    assert (renewal.call, renewal.project, renewal.state) == (later_call, awarded.project, "draft")
    plan = ("pool", "requested_seconds", "justification", "entrypoint", "workers", "accelerators_per_worker")
    assert [getattr(renewal, f) for f in plan] == [getattr(awarded, f) for f in plan]
    subject = f"[ComputeGrant] Renewal for {allocation}: to decide"
    assert (maintainer.email, subject) in _mails(callbacks)
    assert AuditEntry.objects.filter(verb="award_request.renewal", target_id=awarded.pk).exists()

    requests_page = client.get(reverse("portal:allocation_requests", args=[allocation.pk])).content.decode()
    assert 'data-testid="renewal-application"' in requests_page and "application to Open compute 2028" in requests_page
    again = client.post(url, {"call": later_call.pk, "reason": "again"})
    assert again.status_code == 400 and "already waiting for a decision" in again.content.decode()


def test_the_renewals_reviewers_see_the_old_awards_usage_reports_and_released_models(
    awarded, later_call, applicant, maintainer
):
    job = _with_a_released_model(awarded, applicant, maintainer)
    request = renewals.request_renewal(awarded.allocation, actor=applicant, call=later_call, reason="Scale it up.")
    renewal = applications.submit(request.renewal, actor=applicant)
    assignment = renewal.assignments.first()
    assert assignment is not None
    page = client_for(assignment.reviewer).get(reverse("portal:review", args=[assignment.pk])).content.decode()
    assert 'data-testid="past-award"' in page and "Scale it up." in page
    assert "80.00 h / 1.00 h" in page  # awarded / used
    assert "1-month report" in page and "Trained digits to 99%." in page and "Approved" in page
    assert CHECKSUM in page and job.title in page
    # the project sees the same on its application page; an application renewing nothing shows none of it
    mine = client_for(applicant).get(reverse("portal:application_detail", args=[renewal.pk])).content.decode()
    assert 'data-testid="past-award"' in mine and CHECKSUM in mine
    first = client_for(applicant).get(reverse("portal:application_detail", args=[awarded.pk])).content.decode()
    assert 'data-testid="past-award"' not in first


def test_awarding_the_renewal_approves_the_request_and_declining_it_declines_the_request(
    awarded, later_call, applicant, maintainer, django_capture_on_commit_callbacks
):
    request = renewals.request_renewal(awarded.allocation, actor=applicant, call=later_call, reason="Go on.")
    decide = reverse("portal:award_request_decide", args=[request.pk])
    page = client_for(maintainer).post(decide, {"decision": "approve"}, follow=True).content.decode()
    assert "A renewal is approved by awarding its application" in page
    renewal = applications.submit(request.renewal, actor=applicant)
    assert renewal.state == "under_review"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        decisions.award(renewal, 120 * HOUR, actor=maintainer, message="Welcome back.")
    request.refresh_from_db()
    assert (request.state, request.decided_by, request.decision_message) == ("approved", maintainer, "Welcome back.")
    assert (applicant.email, f"[ComputeGrant] Renewal for {awarded.allocation}: Approved") in _mails(callbacks)
    renewal_mail = f"[ComputeGrant] Renewal for {awarded.allocation}: Approved"
    body = next(cb.args[2] for cb in callbacks if isinstance(cb, partial) and cb.args[1:2] == (renewal_mail,))
    assert 'its application to "Open compute 2028" was awarded.' in body and "Welcome back." in body
    assert AuditEntry.objects.filter(verb="award_request.approved", target_id=awarded.pk).exists()


def test_a_maintainer_declines_a_renewal_under_review_or_a_draft_with_a_message(
    awarded, later_call, applicant, maintainer, gpu_pool
):
    request = renewals.request_renewal(awarded.allocation, actor=applicant, call=later_call, reason="Go on.")
    decide = reverse("portal:award_request_decide", args=[request.pk])
    empty = client_for(maintainer).post(decide, {"decision": "decline"}, follow=True).content.decode()
    assert renewals.NEEDS_MESSAGE in empty
    request.refresh_from_db()
    assert request.state == "pending" and request.renewal.state == "draft"
    client_for(maintainer).post(decide, {"decision": "decline", "message": "The call funds new projects only."})
    request.refresh_from_db()
    assert request.state == "declined" and request.renewal.state == "withdrawn"
    assert request.decision_message == "renewal declined: The call funds new projects only."

    # another round: under review, the application itself is declined with the message
    now = timezone.now()
    third = calls.open_call(
        title="Open compute 2029",
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=9),
        budgets=[(gpu_pool, 500 * HOUR)],
        actor=maintainer,
    )
    second = renewals.request_renewal(awarded.allocation, actor=applicant, call=third, reason="Again.")
    applications.submit(second.renewal, actor=applicant)
    award_requests.decline(second, actor=maintainer, message="Budget is short.")
    second.refresh_from_db()
    assert (second.state, second.renewal.state, second.renewal.decision_message) == (
        "declined",
        "declined",
        "Budget is short.",
    )


def test_the_applicant_withdrawing_the_renewal_closes_the_request(awarded, later_call, applicant):
    request = renewals.request_renewal(awarded.allocation, actor=applicant, call=later_call, reason="Go on.")
    applications.withdraw(request.renewal, actor=applicant, reason="Not now.")
    request.refresh_from_db()
    assert (request.state, request.decision_message) == ("declined", "Not now.")


def test_what_a_renewal_refuses(awarded, later_call, open_call, applicant, maintainer):
    allocation = awarded.allocation
    with pytest.raises(WorkflowError, match="renew it in a later call"):
        renewals.request_renewal(allocation, actor=applicant, call=open_call, reason="x")
    with pytest.raises(WorkflowError, match="Say why"):
        renewals.request_renewal(allocation, actor=applicant, call=later_call, reason=" ")
    existing = applications.save_draft(awarded.project, later_call, renewals.plan_from(awarded), actor=applicant)
    with pytest.raises(WorkflowError, match=f"already has an application to Open compute 2028 \\(id {existing.pk}\\)"):
        renewals.request_renewal(allocation, actor=applicant, call=later_call, reason="x")
    existing.delete()
    award_terms.revoke(allocation, actor=maintainer, reason="Terms broken.")
    with pytest.raises(WorkflowError, match="was revoked; apply to a call afresh"):
        renewals.request_renewal(allocation, actor=applicant, call=later_call, reason="x")
    assert not AwardRequest.objects.exists() and Application.objects.count() == 1


def test_an_expired_award_is_renewed_too(awarded, later_call, applicant):
    Allocation.objects.filter(pk=awarded.allocation_id).update(
        starts_at=timezone.now() - timedelta(days=10), expires_at=timezone.now() - timedelta(seconds=1)
    )
    award_terms.sweep()
    request = renewals.request_renewal(awarded.allocation, actor=applicant, call=later_call, reason="Next round.")
    assert request.renewal.state == "draft"


def test_only_the_projects_members_renew(awarded, later_call, make_user, maintainer, reviewers):
    url = reverse("portal:allocation_renew", args=[awarded.allocation_id])
    stranger = make_user("eve", "applicant", affiliation="Elsewhere")
    for user in (stranger, maintainer, *reviewers):
        for response in (client_for(user).get(url), client_for(user).post(url, {"call": later_call.pk, "reason": "x"})):
            assert response.status_code == 403, user
    assert not AwardRequest.objects.exists()


def test_the_maintainers_application_page_shows_the_award_a_renewal_continues(
    awarded, later_call, applicant, maintainer
):
    request = renewals.request_renewal(awarded.allocation, actor=applicant, call=later_call, reason="Scale it up.")
    renewal = applications.submit(request.renewal, actor=applicant)
    page = client_for(maintainer).get(reverse("portal:application_reviews", args=[renewal.pk])).content.decode()
    assert 'data-testid="past-award"' in page and "Scale it up." in page


def test_a_call_that_cannot_take_the_awards_plan_is_refused_saying_why(awarded, applicant, maintainer, tpu_pool):
    now = timezone.now()
    tpu_only = calls.open_call(
        title="TPU round",
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=9),
        budgets=[(tpu_pool, 500 * HOUR)],
        actor=maintainer,
    )
    url = reverse("portal:allocation_renew", args=[awarded.allocation_id])
    refused = client_for(applicant).post(url, {"call": tpu_only.pk, "reason": "Go on."})
    page = refused.content.decode()
    assert refused.status_code == 400
    assert "which TPU round cannot take: TPU round does not offer nvidia-v100; it offers tpu-v4-8." in page
    assert not AwardRequest.objects.exists() and Application.objects.count() == 1
