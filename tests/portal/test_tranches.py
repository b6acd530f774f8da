"""Tranches: part of an award held back at the decision, released by a maintainer, never reservable before."""

from functools import partial

import pytest
from django.urls import reverse

from portal.errors import WorkflowError
from portal.models import AuditEntry, CallPool
from portal.services import applications, decisions, tranches
from portal.tasks import send_email
from reproducibility.models import Snapshot
from scheduler import quota
from tests.portal.conftest import client_for
from tests.scheduler.factories import job_request

HOUR = 3600
pytestmark = pytest.mark.django_db


@pytest.fixture
def under_review(draft, applicant, make_user):  # type: ignore[no-untyped-def]
    make_user("free", "reviewer", affiliation="Neutral")
    return applications.submit(draft, actor=applicant)


def _runnable(application):  # type: ignore[no-untyped-def]
    Snapshot.objects.filter(pk=application.snapshot_id).update(status=Snapshot.Status.DONE, commit="a" * 40)
    application.allocation.refresh_from_db()
    return application.allocation


def test_the_ranking_form_awards_with_half_held_and_the_budget_counts_all_of_it(under_review, maintainer, open_call):
    response = client_for(maintainer).post(
        reverse("portal:application_decide", args=[under_review.pk]),
        {"decision": "award", "hours": "100", "held_hours": "50", "message": ""},
    )
    assert response.status_code == 302
    under_review.refresh_from_db()
    allocation = under_review.allocation
    assert (allocation.awarded, allocation.held, allocation.remaining) == (100 * HOUR, 50 * HOUR, 50 * HOUR)
    assert CallPool.objects.get(call=open_call, pool=allocation.pool).awarded_seconds == 100 * HOUR
    page = client_for(maintainer).get(reverse("scheduler:allocation_detail", args=[allocation.pk])).content.decode()
    assert 'data-testid="held">50.00 h' in page and "release-tranche-form" in page


def test_holding_back_the_whole_award_is_refused_and_nothing_changes(under_review, maintainer, open_call):
    response = client_for(maintainer).post(
        reverse("portal:application_decide", args=[under_review.pk]),
        {"decision": "award", "hours": "100", "held_hours": "100", "message": ""},
        follow=True,
    )
    assert "hold back less than the award" in response.content.decode()
    under_review.refresh_from_db()
    assert under_review.allocation is None and under_review.state == "under_review"
    with pytest.raises(WorkflowError, match="hold back less than the award"):
        decisions.award(under_review, 10 * HOUR, actor=maintainer, held_seconds=10 * HOUR)
    assert CallPool.objects.get(call=open_call, pool=under_review.pool).awarded_seconds == 0


def test_held_hours_cannot_be_reserved_until_a_maintainer_releases_them(
    under_review, maintainer, applicant, django_capture_on_commit_callbacks
):
    application = decisions.award(under_review, 10 * HOUR, actor=maintainer, held_seconds=6 * HOUR)
    allocation = _runnable(application)
    with pytest.raises(quota.QuotaError, match="has 4 left"):
        quota.submit_job(allocation, job_request(runtime=5 * HOUR))
    url = reverse("portal:allocation_release_tranche", args=[allocation.pk])
    # the project's owner may not release its own hours
    assert client_for(applicant).post(url, {"hours": "6", "reason": "please"}).status_code == 403
    for bad, says in (
        ({"hours": "7", "reason": "report approved"}, "Between 0 and 6 held accelerator-hours can be released"),
        ({"hours": "-1", "reason": "report approved"}, "Accelerator-hours to release: Ensure this value is greater"),
        ({"hours": "6", "reason": " "}, "Why (to the project): This field is required."),
    ):
        page = client_for(maintainer).post(url, bad, follow=True).content.decode()
        assert says in page
    allocation.refresh_from_db()
    assert allocation.held == 6 * HOUR and not allocation.ledger.filter(kind="unhold").exists()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(maintainer).post(url, {"hours": "6", "reason": "The 3-month report was approved."})
    assert response.status_code == 302
    mails = [cb.args[1] for cb in callbacks if isinstance(cb, partial) and cb.args[0] == applicant.email]
    assert mails == ["[ComputeGrant] 6 more accelerator-hours for Digits"]
    assert all(cb.func.__func__ is send_email.delay.__func__ for cb in callbacks if isinstance(cb, partial))
    quota.submit_job(allocation, job_request(runtime=5 * HOUR))
    allocation.refresh_from_db()
    assert (allocation.held, allocation.reserved, allocation.remaining) == (0, 5 * HOUR, 5 * HOUR)
    entry = AuditEntry.objects.get(verb="allocation.tranche_released")
    assert (entry.actor, entry.target_id, entry.details) == (maintainer, application.pk, {"seconds": 6 * HOUR})
    with pytest.raises(WorkflowError, match="Between 0 and 0 held"):
        tranches.release(allocation, HOUR, actor=maintainer, reason="again")


def test_the_api_awards_with_a_held_tranche_and_shows_it(under_review, maintainer):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(maintainer)
    answer = api.post(
        reverse("api:application-decide", args=[under_review.pk]),
        {"decision": "award", "awarded_hours": "100", "held_hours": "40", "message": ""},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    under_review.refresh_from_db()
    detail = api.get(reverse("api:allocation-detail", args=[under_review.allocation_id])).json()
    assert (detail["awarded_seconds"], detail["held_seconds"], detail["remaining_seconds"]) == (
        100 * HOUR,
        40 * HOUR,
        60 * HOUR,
    )
