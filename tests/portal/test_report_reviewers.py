"""Reports decided by the award's reviewer as well as by maintainers (issue 17: "maintainers, or an assigned
reviewer, approve or return it"); releasing held hours with the approval stays with maintainers."""

from functools import partial

import pytest
from django.urls import reverse

from portal.forms.progress_reports import ONLY_MAINTAINERS_RELEASE
from portal.models import AuditEntry, ReviewAssignment
from portal.services import applications, decisions, progress_reports
from portal.tasks import send_email
from tests.portal.conftest import client_for

HOUR = 3600
pytestmark = pytest.mark.django_db


def _mails(callbacks):  # type: ignore[no-untyped-def]
    return [
        cb.args[:2]
        for cb in callbacks
        if isinstance(cb, partial) and getattr(cb.func, "__func__", None) is send_email.delay.__func__
    ]


@pytest.fixture
def reviewer(make_user):  # type: ignore[no-untyped-def]
    return make_user("rosa", "reviewer", affiliation="Review Institute")


@pytest.fixture
def awarded(draft, applicant, maintainer, reviewer, open_call):  # type: ignore[no-untyped-def]
    open_call.report_months = [3]
    open_call.save()
    application = applications.submit(draft, actor=applicant)  # rosa is assigned on submission
    assert application.assignments.get().reviewer == reviewer
    return decisions.award(application, 100 * HOUR, actor=maintainer, held_seconds=40 * HOUR)


def _submitted(awarded, applicant, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    report = awarded.allocation.reports.order_by("due_at").first()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        progress_reports.submit(report, actor=applicant, work_done="Trained the model.")
    return report, _mails(callbacks)


def test_the_awards_reviewer_is_told_and_approves_without_releasing_held_hours(
    awarded, applicant, reviewer, maintainer, django_capture_on_commit_callbacks
):
    report, mails = _submitted(awarded, applicant, django_capture_on_commit_callbacks)
    subject = f"[ComputeGrant] Report to decide: 3-month report of {awarded.project}"
    assert {(reviewer.email, subject), (maintainer.email, subject)} <= set(mails)

    page = client_for(reviewer).get(reverse("portal:report_detail", args=[report.pk])).content.decode()
    assert 'data-testid="report-decide-form"' in page and "release_hours" not in page
    decide = reverse("portal:report_decide", args=[report.pk])
    refused = client_for(reviewer).post(decide, {"decision": "approve", "release_hours": "40"}, follow=True)
    assert ONLY_MAINTAINERS_RELEASE in refused.content.decode()
    report.refresh_from_db()
    awarded.allocation.refresh_from_db()
    assert report.state == "submitted" and awarded.allocation.held == 40 * HOUR  # nothing changed

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert client_for(reviewer).post(decide, {"decision": "approve", "comment": "Well done."}).status_code == 302
    report.refresh_from_db()
    assert (report.state, report.decided_by, report.decision_comment) == ("approved", reviewer, "Well done.")
    assert (applicant.email, f"[ComputeGrant] 3-month report of {awarded.project}: Approved") in _mails(callbacks)
    assert AuditEntry.objects.filter(verb="report.approved", actor=reviewer, target_id=awarded.pk).exists()
    awarded.allocation.refresh_from_db()
    assert awarded.allocation.held == 40 * HOUR  # a maintainer releases the tranche


def test_the_reviewer_returns_a_report_with_a_comment(awarded, applicant, reviewer, django_capture_on_commit_callbacks):
    report, _ = _submitted(awarded, applicant, django_capture_on_commit_callbacks)
    decide = reverse("portal:report_decide", args=[report.pk])
    client_for(reviewer).post(decide, {"decision": "return", "comment": "Link the runs."})
    report.refresh_from_db()
    assert report.state == "returned" and report.decided_by == reviewer


def test_other_reviewers_and_a_reviewer_who_declined_do_not_decide(
    awarded, applicant, reviewer, make_user, django_capture_on_commit_callbacks
):
    report, _ = _submitted(awarded, applicant, django_capture_on_commit_callbacks)
    decide = reverse("portal:report_decide", args=[report.pk])
    stranger = make_user("ravi", "reviewer", affiliation="Elsewhere")
    assert client_for(stranger).post(decide, {"decision": "approve"}).status_code == 403
    ReviewAssignment.objects.filter(reviewer=reviewer).update(state=ReviewAssignment.State.DECLINED)
    assert client_for(reviewer).post(decide, {"decision": "approve"}).status_code == 403
    assert client_for(applicant).post(decide, {"decision": "approve"}).status_code == 403
    report.refresh_from_db()
    assert report.state == "submitted"


def test_a_maintainer_still_releases_the_tranche_with_the_approval(
    awarded, applicant, maintainer, django_capture_on_commit_callbacks
):
    report, _ = _submitted(awarded, applicant, django_capture_on_commit_callbacks)
    page = client_for(maintainer).get(reverse("portal:report_detail", args=[report.pk])).content.decode()
    assert "release_hours" in page
    decide = reverse("portal:report_decide", args=[report.pk])
    client_for(maintainer).post(decide, {"decision": "approve", "release_hours": "40"})
    awarded.allocation.refresh_from_db()
    assert awarded.allocation.held == 0


def test_the_reviewers_queue_lists_the_reports_waiting_for_them(
    awarded, applicant, reviewer, make_user, django_capture_on_commit_callbacks
):
    queue = reverse("portal:review_queue")
    assert 'data-testid="reports-to-decide"' not in client_for(reviewer).get(queue).content.decode()
    report, _ = _submitted(awarded, applicant, django_capture_on_commit_callbacks)
    page = client_for(reviewer).get(queue).content.decode()
    assert 'data-testid="reports-to-decide"' in page and reverse("portal:report_detail", args=[report.pk]) in page
    other = make_user("ravi", "reviewer", affiliation="Elsewhere")
    assert 'data-testid="reports-to-decide"' not in client_for(other).get(queue).content.decode()
