"""Random sequences of quota operations never break the ledger's invariants; nor do 16 threads."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from scheduler import admission, quota
from scheduler.models import Allocation, TrainingJob
from tests.scheduler.factories import HOUR, PoolFactory, ProjectFactory, job_request, make_allocation

S = TrainingJob.State


class QuotaMachine(RuleBasedStateMachine):
    """Drives award (the second with a held tranche), submit, admit, start, finish, cancel, preempt,
    expire, revoke, tranche releases and returns of unused hours at random."""

    @initialize()
    def setup(self):
        self.pool = PoolFactory(capacity=4)
        self.allocations = [
            make_allocation(pool=self.pool, hours=3, project=ProjectFactory()),
            make_allocation(pool=self.pool, hours=5, project=ProjectFactory(), held=3 * HOUR),
        ]
        self.head_starts: dict[int, object] = {}

    def jobs(self, *states):
        return list(TrainingJob.objects.filter(pool=self.pool, state__in=states).order_by("pk"))

    @rule(which=st.integers(0, 1), workers=st.integers(1, 4), minutes=st.integers(1, 120))
    def submit(self, which, workers, minutes):
        with contextlib.suppress(quota.QuotaError):  # refusals are part of the game
            quota.submit_job(self.allocations[which], job_request(workers=workers, runtime=minutes * 60))

    @rule(which=st.integers(0, 1), hours=st.integers(1, 3))
    def top_up(self, which, hours):
        with contextlib.suppress(quota.QuotaError):
            quota.top_up(self.allocations[which], hours * HOUR)

    @rule()
    def admit(self):
        admission.admit_pending_jobs(self.pool)

    @rule(data=st.data())
    def start(self, data):
        ready = self.jobs(S.ADMITTED, S.LAUNCHING)
        if ready:
            quota.mark_started(data.draw(st.sampled_from(ready)))

    @rule(
        data=st.data(),
        outcome=st.sampled_from([S.SUCCEEDED, S.FAILED, S.PREEMPTED, S.LOST]),
        fraction=st.floats(0, 1.5),
    )
    def finish(self, data, outcome, fraction):
        running = self.jobs(S.RUNNING)
        if running:
            job = data.draw(st.sampled_from(running))
            seconds = [job.max_runtime_seconds * fraction] * job.workers
            quota.finish_job(job, outcome, worker_seconds=seconds)
            quota.finish_job(job, outcome, worker_seconds=seconds)  # a retried task

    @rule(data=st.data())
    def cancel(self, data):
        live = self.jobs(S.QUEUED, S.ADMITTED, S.RUNNING)
        if live:
            quota.cancel_job(data.draw(st.sampled_from(live)))

    @rule(which=st.integers(0, 1))
    def expire(self, which):
        Allocation.objects.filter(pk=self.allocations[which].pk).update(
            starts_at=timezone.now() - timedelta(days=2), expires_at=timezone.now() - timedelta(seconds=1)
        )
        quota.expire_allocations()

    @rule(which=st.integers(0, 1))
    def revoke(self, which):
        quota.revoke(self.allocations[which])

    @rule(which=st.integers(0, 1), hours=st.integers(1, 3))
    def release_tranche(self, which, hours):
        with contextlib.suppress(quota.QuotaError):
            quota.release_held(self.allocations[which], hours * HOUR)

    @rule(which=st.integers(0, 1), limit=st.one_of(st.none(), st.integers(0, 4 * HOUR)))
    def return_unused(self, which, limit):
        quota.return_unused(self.allocations[which], limit=limit)

    @invariant()
    def balances_equal_the_ledger_and_are_never_overspent(self):
        for allocation in self.allocations:
            allocation.refresh_from_db()
            assert allocation.used >= 0 and allocation.reserved >= 0 and allocation.held >= 0
            # held hours are never reserved nor spent: they sit beside what runs hold
            assert allocation.used + allocation.reserved + allocation.held <= allocation.awarded
            assert quota.ledger_balances(allocation) == {
                "awarded": allocation.awarded,
                "reserved": allocation.reserved,
                "used": allocation.used,
                "held": allocation.held,
            }
            held = sum(j.reserved_seconds for j in allocation.jobs.all())
            assert held == allocation.reserved

    @invariant()
    def the_pool_never_runs_more_than_its_capacity(self):
        active = self.jobs(*TrainingJob.ACTIVE_STATES)
        assert sum(j.accelerators for j in active) <= self.pool.capacity

    @invariant()
    def every_live_job_holds_a_reservation_and_ended_ones_hold_none(self):
        for job in TrainingJob.objects.filter(pool=self.pool):
            if job.is_terminal:
                assert job.reserved_seconds == 0
            else:
                assert job.reserved_seconds == job.worst_case_seconds


@pytest.mark.django_db
def test_random_operation_sequences_keep_every_invariant():
    run_state_machine_as_test(
        QuotaMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


@pytest.mark.django_db(transaction=True)
def test_sixteen_concurrent_submissions_never_reserve_more_than_the_allocation_holds():
    allocation = make_allocation(pool=PoolFactory(capacity=8), hours=5)
    accepted: list[int] = []
    refused: list[str] = []
    barrier = threading.Barrier(16)

    def submit():
        try:
            barrier.wait()
            job = quota.submit_job(allocation, job_request(workers=1, runtime=HOUR))
            accepted.append(job.pk)
        except quota.QuotaError as error:
            refused.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    allocation.refresh_from_db()
    assert len(accepted) == 5 and len(refused) == 11
    assert allocation.reserved == 5 * HOUR and allocation.remaining == 0
    assert all("Not enough quota" in message and "has 0 left" in message for message in refused)
    assert quota.ledger_balances(allocation)["reserved"] == 5 * HOUR
