"""Usage monitoring: burn rate and forecast; a low-usage notice once after the call's idle period; the
maintainer's reclaim of idle hours back to the call through both ledgers."""

from datetime import timedelta
from functools import partial

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.errors import WorkflowError
from portal.models import AuditEntry, BudgetEntry, CallPool
from portal.services import applications, award_terms, call_budget, decisions, usage
from reproducibility.models import Snapshot
from scheduler import quota
from scheduler.models import Allocation, LedgerEntry, TrainingJob
from tests.portal.conftest import client_for
from tests.scheduler.factories import job_request

HOUR = 3600
pytestmark = pytest.mark.django_db


def _mails(callbacks):  # type: ignore[no-untyped-def]
    return [cb.args[:2] for cb in callbacks if isinstance(cb, partial) and len(cb.args) == 3]


@pytest.fixture
def awarded(draft, applicant, maintainer, make_user):  # type: ignore[no-untyped-def]
    make_user("free", "reviewer", affiliation="Neutral")
    application = decisions.award(applications.submit(draft, actor=applicant), 100 * HOUR, actor=maintainer)
    Snapshot.objects.filter(pk=application.snapshot_id).update(status=Snapshot.Status.DONE, commit="a" * 40)
    application.allocation.refresh_from_db()
    return application


def _started_days_ago(allocation, days, ends_in_days=60):  # type: ignore[no-untyped-def]
    now = timezone.now()
    Allocation.objects.filter(pk=allocation.pk).update(
        starts_at=now - timedelta(days=days), expires_at=now + timedelta(days=ends_in_days)
    )
    allocation.refresh_from_db()


def test_the_burn_rate_forecasts_when_the_hours_run_out_or_what_is_left_at_the_end(awarded):
    allocation = awarded.allocation
    _started_days_ago(allocation, 10)
    fresh = usage.usage_of(allocation)
    assert (fresh.burn_per_day, fresh.days_since_last_run, fresh.runs_out_at) == (0, None, None)
    assert fresh.unused_at_end == 100 * HOUR
    job = quota.submit_job(allocation, job_request(workers=2, runtime=15 * HOUR))
    TrainingJob.objects.filter(pk=job.pk).update(state=TrainingJob.State.RUNNING, started_at=timezone.now())
    # 20 h charged in the 10 days since the start: 2 h a day
    quota.finish_job(job, TrainingJob.State.SUCCEEDED, worker_seconds=[10 * HOUR, 10 * HOUR])
    allocation.refresh_from_db()
    burning = usage.usage_of(allocation)
    assert burning.burn_per_day == pytest.approx(2 * HOUR, rel=0.01)
    assert burning.days_since_last_run == 0
    # 80 h left at 2 h a day: 40 days, within the 60 left, so they run out
    assert burning.runs_out_at is not None
    assert (burning.runs_out_at - timezone.now()).days in (39, 40)
    _started_days_ago(allocation, 10, ends_in_days=20)
    slower = usage.usage_of(allocation)
    assert slower.runs_out_at is None and slower.unused_at_end == pytest.approx(40 * HOUR, rel=0.01)


def test_an_idle_allocation_gets_one_low_usage_notice_and_then_its_idle_hours_can_be_reclaimed(
    awarded, applicant, maintainer, open_call, django_capture_on_commit_callbacks
):
    allocation = awarded.allocation
    url = reverse("portal:allocation_reclaim", args=[allocation.pk])
    _started_days_ago(allocation, 29)
    assert usage.send_idle_notices() == []  # the call's period (30 days) has not passed
    with pytest.raises(WorkflowError, match="after the project's low-usage notice"):
        usage.reclaim(allocation, HOUR, actor=maintainer, reason="idle")
    _started_days_ago(allocation, 31)
    subjects = []
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            award_terms.sweep()
        subjects += [s for a, s in _mails(callbacks) if a == applicant.email]
    assert subjects == [f"[ComputeGrant] {allocation}: no runs for 30 days"]

    assert client_for(applicant).post(url, {"hours": "10", "reason": "mine"}).status_code == 403
    page = client_for(maintainer).get(reverse("portal:allocation_usage", args=[allocation.pk])).content.decode()
    assert "reclaim-form" in page and "sent: idle hours may be reclaimed" in page
    for bad, says in (
        ({"hours": "101", "reason": "idle"}, "Only unreserved, released hours are reclaimed: 100 h, not 101 h."),
        ({"hours": "10", "reason": ""}, "Why (to the project): This field is required."),
    ):
        assert says in client_for(maintainer).post(url, bad, follow=True).content.decode()
    allocation.refresh_from_db()
    assert allocation.awarded == 100 * HOUR

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(maintainer).post(url, {"hours": "30", "reason": "No runs for a month."})
    assert response.status_code == 302
    allocation.refresh_from_db()
    budget = CallPool.objects.get(call=open_call, pool=allocation.pool)
    assert (allocation.awarded, allocation.remaining) == (70 * HOUR, 70 * HOUR)
    assert allocation.ledger.filter(kind=LedgerEntry.Kind.RETURN).get().seconds == -30 * HOUR
    assert BudgetEntry.objects.get(kind="reclaim").seconds == -30 * HOUR
    assert budget.awarded_seconds == 70 * HOUR == call_budget.ledger_sum(budget)
    assert quota.ledger_balances(allocation)["awarded"] == 70 * HOUR
    assert [s for a, s in _mails(callbacks) if a == applicant.email] == [
        f"[ComputeGrant] 30 idle accelerator-hours reclaimed from {allocation.project}"
    ]
    entry = AuditEntry.objects.get(verb="allocation.hours_reclaimed")
    assert (entry.actor, entry.details) == (maintainer, {"seconds": 30 * HOUR})


def test_a_recent_run_keeps_an_allocation_from_being_idle(awarded):
    allocation = awarded.allocation
    _started_days_ago(allocation, 90)
    quota.submit_job(allocation, job_request())
    assert usage.send_idle_notices() == []
