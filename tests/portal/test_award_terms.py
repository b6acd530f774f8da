"""Award terms: the call's budget ledger, end-of-term notices (each once) and the end (hours back to the call)."""

from datetime import timedelta
from functools import partial

import pytest
from django.utils import timezone

from portal.models import AllocationNotice, AuditEntry, BudgetEntry, CallPool
from portal.services import applications, award_terms, call_budget, decisions
from portal.tasks import send_email
from reproducibility.models import Snapshot
from scheduler import quota
from scheduler.models import Allocation, LedgerEntry, TrainingJob
from tests.scheduler.factories import job_request, make_allocation

HOUR = 3600
pytestmark = pytest.mark.django_db


def _mails(callbacks):  # type: ignore[no-untyped-def]
    """(address, subject) of each mail the committed steps handed to the worker."""
    return [
        cb.args[:2]
        for cb in callbacks
        if isinstance(cb, partial) and getattr(cb.func, "__func__", None) is send_email.delay.__func__
    ]


@pytest.fixture
def awarded(draft, applicant, maintainer, make_user):  # type: ignore[no-untyped-def]
    make_user("free", "reviewer", affiliation="Neutral")  # assigned on submission: the application is under review
    application = decisions.award(applications.submit(draft, actor=applicant), 100 * HOUR, actor=maintainer)
    # Runs execute the reviewed snapshot once it is scored; no worker scores it here.
    Snapshot.objects.filter(pk=application.snapshot_id).update(status=Snapshot.Status.DONE, commit="a" * 40)
    return application


def _ends_in(allocation, delta):  # type: ignore[no-untyped-def]
    Allocation.objects.filter(pk=allocation.pk).update(
        starts_at=timezone.now() - timedelta(days=2), expires_at=timezone.now() + delta
    )


def test_an_award_is_an_entry_in_the_calls_budget_ledger(awarded, open_call):
    budget = CallPool.objects.get(call=open_call, pool=awarded.pool)
    entry = BudgetEntry.objects.get(call_pool=budget)
    assert (entry.kind, entry.seconds, entry.allocation_id) == ("award", 100 * HOUR, awarded.allocation_id)
    assert call_budget.ledger_sum(budget) == budget.awarded_seconds == 100 * HOUR
    with pytest.raises(ValueError, match="append-only"):
        entry.save()


def test_notices_go_out_30_7_and_1_days_before_the_end_each_once(
    awarded, applicant, django_capture_on_commit_callbacks
):
    allocation = awarded.allocation
    subjects = []
    for delta in (timedelta(days=40), timedelta(days=20), timedelta(days=20), timedelta(days=5), timedelta(hours=12)):
        _ends_in(allocation, delta)
        for _ in range(2):  # beat runs twice: nothing more is sent
            with django_capture_on_commit_callbacks(execute=False) as callbacks:
                award_terms.sweep()
            subjects += [subject for address, subject in _mails(callbacks) if address == applicant.email]
    assert subjects == [
        "[ComputeGrant] Digits on nvidia-v100 ends in 20 days",
        "[ComputeGrant] Digits on nvidia-v100 ends in 5 days",
        "[ComputeGrant] Digits on nvidia-v100 ends in 1 day",
    ]
    assert list(allocation.notices.values_list("kind", "mailed")) == [
        ("expiry_30", True),
        ("expiry_7", True),
        ("expiry_1", True),
    ]
    assert AuditEntry.objects.filter(verb="allocation.expiry_notice", target_id=awarded.pk).count() == 3


def test_a_short_award_gets_only_the_nearest_notice(awarded, django_capture_on_commit_callbacks):
    _ends_in(awarded.allocation, timedelta(days=3))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        award_terms.sweep()
    assert {subject for _, subject in _mails(callbacks)} == {"[ComputeGrant] Digits on nvidia-v100 ends in 3 days"}
    assert list(awarded.allocation.notices.values_list("kind", "mailed")) == [
        ("expiry_30", False),
        ("expiry_7", True),
    ]


def test_at_the_end_queued_runs_are_cancelled_and_unused_hours_go_back_to_the_call_once(
    awarded, open_call, applicant, django_capture_on_commit_callbacks
):
    allocation = awarded.allocation
    queued = quota.submit_job(allocation, job_request(runtime=10 * HOUR))
    running = quota.submit_job(allocation, job_request(runtime=5 * HOUR))
    TrainingJob.objects.filter(pk=running.pk).update(state=TrainingJob.State.RUNNING, started_at=timezone.now())
    _ends_in(allocation, -timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = award_terms.sweep()
    assert first["expired"] == [allocation.pk] and first["returned"] == [allocation.pk]
    queued.refresh_from_db()
    allocation.refresh_from_db()
    assert queued.state == "cancelled" and queued.reserved_seconds == 0
    # the running run keeps its 5 h until it ends; everything else went back
    assert (allocation.state, allocation.awarded, allocation.reserved, allocation.remaining) == (
        "expired",
        5 * HOUR,
        5 * HOUR,
        0,
    )
    assert allocation.ledger.filter(kind=LedgerEntry.Kind.RETURN).get().seconds == -95 * HOUR
    budget = CallPool.objects.get(call=open_call, pool=awarded.pool)
    assert budget.awarded_seconds == 5 * HOUR == call_budget.ledger_sum(budget)
    assert BudgetEntry.objects.get(kind="return").seconds == -95 * HOUR
    assert [s for a, s in _mails(callbacks) if a == applicant.email] == [
        "[ComputeGrant] Digits on nvidia-v100 has ended"
    ]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert award_terms.sweep() == {"expired": [], "returned": [], "notified": [], "reports_due": [], "idle": []}
    assert not _mails(callbacks)

    quota.finish_job(running, TrainingJob.State.SUCCEEDED, worker_seconds=[2 * HOUR])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert award_terms.sweep()["returned"] == [allocation.pk]
    assert not _mails(callbacks)  # the leftovers of the last run come back without a second mail
    allocation.refresh_from_db()
    budget.refresh_from_db()
    assert (allocation.awarded, allocation.used, allocation.remaining) == (2 * HOUR, 2 * HOUR, 0)
    assert budget.awarded_seconds == 2 * HOUR == call_budget.ledger_sum(budget)
    assert quota.ledger_balances(allocation)["awarded"] == allocation.awarded
    assert AllocationNotice.objects.filter(allocation=allocation, kind="ended").count() == 1


def test_an_allocation_without_an_award_expires_but_returns_nothing(gpu_pool):
    allocation = make_allocation(pool=gpu_pool, hours=3, days=1)
    _ends_in(allocation, -timedelta(seconds=1))
    assert award_terms.sweep()["returned"] == []
    allocation.refresh_from_db()
    assert (allocation.state, allocation.awarded) == ("expired", 3 * HOUR)


def test_the_sweep_is_on_the_beat_schedule():
    from config.celery import app

    assert "portal.tasks.award_terms_sweep" in {entry["task"] for entry in app.conf.beat_schedule.values()}
