"""Quota services: award, reserve the worst case, charge what was used, release the rest."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from scheduler import quota
from scheduler.models import Allocation, LedgerEntry, TrainingJob
from tests.scheduler.factories import HOUR, PoolFactory, job_request, make_allocation

pytestmark = pytest.mark.django_db
S = TrainingJob.State


def assert_ledger_matches(allocation):
    allocation.refresh_from_db()
    assert quota.ledger_balances(allocation) == {
        "awarded": allocation.awarded,
        "reserved": allocation.reserved,
        "used": allocation.used,
        "held": allocation.held,
    }


def test_award_creates_an_active_allocation_with_one_ledger_entry():
    allocation = make_allocation(hours=100)
    assert allocation.state == Allocation.State.ACTIVE
    assert (allocation.awarded, allocation.reserved, allocation.used) == (100 * HOUR, 0, 0)
    assert list(allocation.ledger.values_list("kind", "seconds")) == [("award", 100 * HOUR)]


def test_award_refuses_nonsense():
    pool = PoolFactory()
    with pytest.raises(quota.QuotaError, match="positive"):
        make_allocation(pool=pool, hours=0)
    with pytest.raises(quota.QuotaError, match="expire after"):
        make_allocation(pool=pool, days=-1)
    assert not Allocation.objects.exists()


def test_submitting_reserves_the_worst_case():
    allocation = make_allocation(hours=100)
    job = quota.submit_job(allocation, job_request(workers=2, per_worker=2, runtime=3 * HOUR))
    assert job.state == S.QUEUED
    assert job.reserved_seconds == 2 * 2 * 3 * HOUR
    allocation.refresh_from_db()
    assert allocation.reserved == 12 * HOUR
    assert allocation.remaining == 88 * HOUR
    assert list(job.events.values_list("to_state", flat=True)) == ["queued"]
    assert_ledger_matches(allocation)


def test_a_job_that_does_not_fit_is_refused_with_what_is_missing_and_nothing_reserved():
    allocation = make_allocation(hours=10)
    quota.submit_job(allocation, job_request(runtime=6 * HOUR))
    with pytest.raises(quota.QuotaError) as refused:
        quota.submit_job(allocation, job_request(workers=2, runtime=3 * HOUR))
    message = str(refused.value)
    assert "may use up to 6 accelerator-hours" in message
    assert "has 4 left" in message
    assert "2 accelerator-hours are missing" in message
    allocation.refresh_from_db()
    assert allocation.reserved == 6 * HOUR
    assert TrainingJob.objects.count() == 1
    assert_ledger_matches(allocation)


@pytest.mark.parametrize(
    ("request_kwargs", "message"),
    [
        ({"workers": 5, "per_worker": 2}, "asks for 10 accelerators at once; the .* pool has 8"),
        ({"runtime": 0}, "Maximum runtime"),
        ({"runtime": 25 * HOUR}, "Maximum runtime"),
        ({"workers": 0}, "at least one worker"),
    ],
)
def test_invalid_job_specs_are_refused(request_kwargs, message):
    allocation = make_allocation(hours=1000)
    with pytest.raises(quota.QuotaError, match=message):
        quota.submit_job(allocation, job_request(**request_kwargs))
    allocation.refresh_from_db()
    assert allocation.reserved == 0


def test_suspended_and_expired_allocations_take_no_new_jobs():
    allocation = make_allocation()
    quota.suspend(allocation)
    with pytest.raises(quota.QuotaError, match="suspended"):
        quota.submit_job(allocation, job_request())
    quota.resume(allocation)
    quota.submit_job(allocation, job_request())
    Allocation.objects.filter(pk=allocation.pk).update(
        starts_at=timezone.now() - timedelta(days=2), expires_at=timezone.now() - timedelta(days=1)
    )
    with pytest.raises(quota.QuotaError, match="expired"):
        quota.submit_job(allocation, job_request())


def start(job, at=None):
    quota.mark_started(job, at=at)
    job.refresh_from_db()
    return job


def admit(job):
    TrainingJob.objects.filter(pk=job.pk).update(state=S.ADMITTED, admitted_at=timezone.now())
    job.refresh_from_db()
    return job


def test_finishing_charges_each_workers_seconds_times_accelerators_and_releases_the_rest():
    allocation = make_allocation(hours=100)
    job = quota.submit_job(allocation, job_request(workers=2, per_worker=2, runtime=HOUR))
    start(admit(job))
    quota.finish_job(job, S.SUCCEEDED, worker_seconds=[600, 540.2])
    job.refresh_from_db()
    allocation.refresh_from_db()
    assert job.state == S.SUCCEEDED
    assert job.charged_seconds == 2281  # ceil((600 + 540.2) * 2)
    assert job.reserved_seconds == 0
    assert (allocation.used, allocation.reserved) == (2281, 0)
    kinds = list(allocation.ledger.filter(job=job).values_list("kind", "seconds"))
    assert kinds == [("reserve", 4 * HOUR), ("charge", 2281), ("release", -(4 * HOUR - 2281))]
    assert_ledger_matches(allocation)


def test_finishing_twice_charges_once():
    allocation = make_allocation()
    job = start(admit(quota.submit_job(allocation, job_request())))
    quota.finish_job(job, S.FAILED, worker_seconds=[100], reason="worker 0 exited with 1")
    quota.finish_job(job, S.SUCCEEDED, worker_seconds=[3000])
    job.refresh_from_db()
    assert (job.state, job.charged_seconds, job.failure_reason) == (S.FAILED, 100, "worker 0 exited with 1")
    assert allocation.ledger.filter(kind="charge").count() == 1
    assert_ledger_matches(allocation)


def test_a_run_is_never_charged_more_than_its_reservation():
    allocation = make_allocation()
    job = start(admit(quota.submit_job(allocation, job_request(runtime=600))))
    quota.finish_job(job, S.FAILED, worker_seconds=[700], reason="deadline exceeded")
    job.refresh_from_db()
    assert job.charged_seconds == 600
    assert_ledger_matches(allocation)


def test_cancelling_a_queued_job_releases_everything():
    allocation = make_allocation()
    job = quota.submit_job(allocation, job_request(runtime=2 * HOUR))
    quota.cancel_job(job)
    job.refresh_from_db()
    allocation.refresh_from_db()
    assert (job.state, job.charged_seconds, allocation.reserved, allocation.used) == (S.CANCELLED, 0, 0, 0)
    assert_ledger_matches(allocation)


def test_cancelling_a_running_job_asks_the_runner_and_charges_when_it_stops():
    allocation = make_allocation()
    job = start(admit(quota.submit_job(allocation, job_request())), at=timezone.now() - timedelta(seconds=90))
    quota.cancel_job(job)
    job.refresh_from_db()
    assert job.state == S.RUNNING and job.cancel_requested
    quota.finish_job(job, S.CANCELLED)
    job.refresh_from_db()
    assert job.state == S.CANCELLED
    assert 90 <= job.charged_seconds <= 100
    assert_ledger_matches(allocation)


def test_a_lost_job_is_charged_until_last_seen():
    allocation = make_allocation()
    started = timezone.now() - timedelta(minutes=30)
    job = start(admit(quota.submit_job(allocation, job_request(workers=2))), at=started)
    quota.mark_lost(job, last_seen=started + timedelta(minutes=10))
    job.refresh_from_db()
    assert job.state == S.LOST
    assert job.charged_seconds == 2 * 600
    assert "vanished" in job.failure_reason


def test_expiry_releases_reservations_cancels_queued_jobs_and_stops_running_ones():
    allocation = make_allocation()
    queued = quota.submit_job(allocation, job_request())
    running = start(admit(quota.submit_job(allocation, job_request())))
    Allocation.objects.filter(pk=allocation.pk).update(
        starts_at=timezone.now() - timedelta(days=2), expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert quota.expire_allocations() == [allocation.pk]
    assert quota.expire_allocations() == []
    queued.refresh_from_db()
    running.refresh_from_db()
    allocation.refresh_from_db()
    assert allocation.state == Allocation.State.EXPIRED
    assert queued.state == S.CANCELLED
    assert running.state == S.RUNNING and running.cancel_requested
    assert allocation.reserved == running.reserved_seconds
    assert_ledger_matches(allocation)


def test_revoking_gives_back_what_is_neither_used_nor_held():
    allocation = make_allocation(hours=10)
    running = start(admit(quota.submit_job(allocation, job_request())))
    quota.submit_job(allocation, job_request())
    quota.revoke(allocation, memo="licence violation")
    allocation.refresh_from_db()
    assert allocation.state == Allocation.State.REVOKED
    assert allocation.remaining == 0
    assert allocation.reserved == HOUR  # still held by the running job
    assert allocation.ledger.filter(kind="revoke").get().seconds == -(10 * HOUR - HOUR)
    quota.finish_job(running, S.CANCELLED, worker_seconds=[60])
    assert_ledger_matches(allocation)


def test_top_up_and_adjust():
    allocation = make_allocation(hours=10)
    quota.top_up(allocation, 5 * HOUR)
    job = quota.submit_job(allocation, job_request(runtime=12 * HOUR))
    with pytest.raises(quota.QuotaError, match="below what is used and reserved"):
        quota.adjust(allocation, -4 * HOUR, actor=None, memo="typo")
    with pytest.raises(quota.QuotaError, match="memo"):
        quota.adjust(allocation, HOUR, actor=None, memo=" ")
    quota.adjust(allocation, -3 * HOUR, actor=None, memo="correction")
    allocation.refresh_from_db()
    assert allocation.awarded == 12 * HOUR and job.reserved_seconds == 12 * HOUR
    assert_ledger_matches(allocation)


def test_ledger_entries_cannot_be_changed_or_deleted():
    allocation = make_allocation()
    entry = allocation.ledger.get()
    entry.seconds = 1
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_the_database_refuses_to_rewrite_the_ledger():
    allocation = make_allocation()
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(allocation=allocation).update(seconds=1)
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(allocation=allocation).delete()


def test_the_database_refuses_an_overspent_allocation():
    allocation = make_allocation(hours=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Allocation.objects.filter(pk=allocation.pk).update(used=HOUR, reserved=1)


def test_held_tranches_are_in_the_award_but_cannot_be_reserved_until_released():
    allocation = make_allocation(hours=10, held=6 * HOUR)
    assert (allocation.awarded, allocation.held, allocation.remaining) == (10 * HOUR, 6 * HOUR, 4 * HOUR)
    assert list(allocation.ledger.values_list("kind", "seconds")) == [("award", 10 * HOUR), ("hold", 6 * HOUR)]
    with pytest.raises(quota.QuotaError, match="has 4 left; 1 accelerator-hours are missing"):
        quota.submit_job(allocation, job_request(runtime=5 * HOUR))
    with pytest.raises(quota.QuotaError, match="Between 0 and 6 held"):
        quota.release_held(allocation, 7 * HOUR)
    quota.release_held(allocation, 6 * HOUR, memo="progress report approved")
    quota.submit_job(allocation, job_request(runtime=5 * HOUR))
    allocation.refresh_from_db()
    assert (allocation.held, allocation.reserved, allocation.remaining) == (0, 5 * HOUR, 5 * HOUR)
    assert_ledger_matches(allocation)


def test_an_award_must_release_something_now():
    with pytest.raises(quota.QuotaError, match="leave some of the award released now"):
        make_allocation(hours=10, held=10 * HOUR)
    assert not Allocation.objects.exists()


def test_returning_unused_hours_keeps_what_runs_hold_and_takes_held_tranches_last():
    allocation = make_allocation(hours=10, held=4 * HOUR)
    quota.submit_job(allocation, job_request(runtime=2 * HOUR))
    assert quota.return_unused(allocation, limit=3 * HOUR, memo="idle") == 3 * HOUR
    allocation.refresh_from_db()
    assert (allocation.awarded, allocation.held, allocation.remaining) == (7 * HOUR, 4 * HOUR, HOUR)
    assert quota.return_unused(allocation) == 5 * HOUR  # the last released hour and the held four
    allocation.refresh_from_db()
    assert (allocation.awarded, allocation.reserved, allocation.held, allocation.remaining) == (
        2 * HOUR,
        2 * HOUR,
        0,
        0,
    )
    assert quota.return_unused(allocation) == 0  # nothing left: no entry
    kinds = list(allocation.ledger.values_list("kind", "seconds"))
    assert kinds[-3:] == [("return", -3 * HOUR), ("unhold", -4 * HOUR), ("return", -5 * HOUR)]
    assert_ledger_matches(allocation)


def test_revoking_ends_held_tranches_too():
    allocation = make_allocation(hours=10, held=4 * HOUR)
    quota.revoke(allocation, memo="abandoned")
    allocation.refresh_from_db()
    assert (allocation.awarded, allocation.held) == (0, 0)
    assert_ledger_matches(allocation)
