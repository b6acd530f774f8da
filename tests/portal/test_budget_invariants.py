"""The call's budget and its awards under random sequences of what happens after an award: awards with
held tranches, runs, tranche releases, supplements, idle-hour reclaims, revocations, extensions, end
dates nearing and passing, and the beat's sweep. Whatever the order: the budget is never overspent, each
balance equals its ledger's sum, held hours are never reserved, and a second sweep right after the
first does nothing."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from portal.errors import WorkflowError
from portal.models import AllocationNotice, Application, BudgetEntry, CallPool
from portal.services import award_requests, award_terms, call_budget, calls, decisions, tranches, usage
from scheduler import admission, quota
from scheduler.models import Allocation, TrainingJob
from tests.scheduler.factories import HOUR, PoolFactory, ProjectFactory, UserFactory, job_request

S = TrainingJob.State
BUDGET_HOURS = 12
PROJECTS = 3


class BudgetMachine(RuleBasedStateMachine):
    """Three applications to one call with a 12-hour budget on a 4-accelerator pool."""

    @initialize()
    def setup(self):
        self.maintainer = UserFactory()
        self.pool = PoolFactory(capacity=4)
        now = timezone.now()
        self.call = calls.open_call(
            title="Budget machine",
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=30),
            budgets=[(self.pool, BUDGET_HOURS * HOUR)],
            actor=self.maintainer,
        )
        self.applications = [
            Application.objects.create(
                call=self.call,
                project=ProjectFactory(),
                pool=self.pool,
                requested_seconds=BUDGET_HOURS * HOUR,
                state=Application.State.UNDER_REVIEW,
                submitted_at=now,
            )
            for _ in range(PROJECTS)
        ]

    def allocation(self, which: int) -> Allocation | None:
        application = Application.objects.get(pk=self.applications[which].pk)
        return application.allocation

    def budget(self) -> CallPool:
        return CallPool.objects.get(call=self.call, pool=self.pool)

    def jobs(self, *states):
        return list(TrainingJob.objects.filter(pool=self.pool, state__in=states).order_by("pk"))

    @rule(which=st.integers(0, PROJECTS - 1), hours=st.integers(1, 8), held=st.integers(0, 4))
    def award(self, which, hours, held):
        with contextlib.suppress(WorkflowError):  # over the budget, decided already, holding it all back
            decisions.award(self.applications[which], hours * HOUR, actor=self.maintainer, held_seconds=held * HOUR)

    @rule(which=st.integers(0, PROJECTS - 1), hours=st.integers(1, 8), override=st.booleans())
    def supplement(self, which, hours, override):
        allocation = self.allocation(which)
        if allocation is None:
            return
        try:
            request = award_requests.request_supplement(allocation, actor=None, seconds=hours * HOUR, reason="more")
        except WorkflowError:
            return  # ended: it takes no requests
        try:
            award_requests.approve(request, actor=self.maintainer, override_reason="core work" if override else "")
        except WorkflowError:  # over half the award, or over the budget: declined, nothing moved
            award_requests.decline(request, actor=self.maintainer, message="no")

    @rule(which=st.integers(0, PROJECTS - 1), workers=st.integers(1, 4), minutes=st.integers(10, 180))
    def submit(self, which, workers, minutes):
        allocation = self.allocation(which)
        if allocation is not None:
            with contextlib.suppress(quota.QuotaError):  # held hours are not the runs' to reserve
                quota.submit_job(allocation, job_request(workers=workers, runtime=minutes * 60))

    @rule(data=st.data())
    def admit_and_start(self, data):
        admission.admit_pending_jobs(self.pool)
        ready = self.jobs(S.ADMITTED, S.LAUNCHING)
        if ready:
            quota.mark_started(data.draw(st.sampled_from(ready)))

    @rule(data=st.data(), fraction=st.floats(0, 1.2))
    def finish(self, data, fraction):
        running = self.jobs(S.RUNNING)
        if running:
            job = data.draw(st.sampled_from(running))
            quota.finish_job(job, S.SUCCEEDED, worker_seconds=[job.max_runtime_seconds * fraction] * job.workers)

    @rule(which=st.integers(0, PROJECTS - 1), hours=st.integers(1, 4))
    def release_tranche(self, which, hours):
        allocation = self.allocation(which)
        if allocation is not None:
            with contextlib.suppress(WorkflowError):  # more than is held, or nothing held
                tranches.release(allocation, hours * HOUR, actor=self.maintainer, reason="report approved")

    @rule(which=st.integers(0, PROJECTS - 1), hours=st.integers(1, 4))
    def reclaim(self, which, hours):
        allocation = self.allocation(which)
        if allocation is None:
            return
        # the low-usage notice as the beat sends it: far enough ahead that every quiet award is idle
        usage.send_idle_notices(timezone.now() + timedelta(days=400))
        with contextlib.suppress(WorkflowError):  # not idle-noticed, ended, or more than is unreserved
            usage.reclaim(allocation, hours * HOUR, actor=self.maintainer, reason="idle")

    @rule(which=st.integers(0, PROJECTS - 1))
    def revoke(self, which):
        allocation = self.allocation(which)
        if allocation is not None:
            with contextlib.suppress(WorkflowError):  # already ended
                award_terms.revoke(allocation, actor=self.maintainer, reason="left the program")

    @rule(which=st.integers(0, PROJECTS - 1))
    def end_date_passes(self, which):
        allocation = self.allocation(which)
        if allocation is not None and allocation.state in award_terms.RUNNING_STATES:
            now = timezone.now()
            Allocation.objects.filter(pk=allocation.pk).update(
                starts_at=now - timedelta(days=2), expires_at=now - timedelta(seconds=1)
            )

    @rule(which=st.integers(0, PROJECTS - 1), days=st.integers(1, 40))
    def end_date_nears(self, which, days):
        allocation = self.allocation(which)
        if allocation is not None and allocation.state in award_terms.RUNNING_STATES:
            Allocation.objects.filter(pk=allocation.pk).update(expires_at=timezone.now() + timedelta(days=days))

    @rule(which=st.integers(0, PROJECTS - 1), days=st.integers(1, 90))
    def extension(self, which, days):
        allocation = self.allocation(which)
        if allocation is None:
            return
        new_end = allocation.expires_at + timedelta(days=days)
        try:
            request = award_requests.request_extension(allocation, actor=None, new_end=new_end, reason="late data")
        except WorkflowError:
            return  # ended: it takes no requests
        award_requests.approve(request, actor=self.maintainer)
        # the end moved: its notices are owed again, for the new end
        assert not AllocationNotice.objects.filter(allocation=allocation, kind__startswith="expiry").exists()

    @rule()
    def beat_sweeps_twice(self):
        award_terms.sweep()
        notices = AllocationNotice.objects.count()
        entries = BudgetEntry.objects.count()
        again = award_terms.sweep()
        assert again == {"expired": [], "returned": [], "notified": [], "reports_due": [], "idle": []}
        assert (AllocationNotice.objects.count(), BudgetEntry.objects.count()) == (notices, entries)

    @invariant()
    def the_budget_is_never_overspent_and_equals_its_ledger(self):
        if not hasattr(self, "call"):
            return
        budget = self.budget()
        assert 0 <= budget.awarded_seconds <= budget.budget_seconds
        assert budget.awarded_seconds == call_budget.ledger_sum(budget)
        awarded = Allocation.objects.filter(application__call=self.call)
        assert budget.awarded_seconds == sum(a.awarded for a in awarded)

    @invariant()
    def each_award_equals_its_ledgers_and_its_held_hours_are_never_reserved(self):
        if not hasattr(self, "call"):
            return
        for allocation in Allocation.objects.filter(application__call=self.call):
            assert allocation.used + allocation.reserved + allocation.held <= allocation.awarded
            assert quota.ledger_balances(allocation) == {
                "awarded": allocation.awarded,
                "reserved": allocation.reserved,
                "used": allocation.used,
                "held": allocation.held,
            }
            # the call's side of this award: award + supplements - returns, reclaims, revocation
            assert sum(allocation.budget_entries.values_list("seconds", flat=True)) == allocation.awarded
            assert sum(j.reserved_seconds for j in allocation.jobs.all()) == allocation.reserved
            if allocation.state not in award_terms.RUNNING_STATES:
                assert allocation.held == 0  # an ended award's held tranche went back to the call


@pytest.mark.django_db
def test_random_sequences_after_the_award_keep_the_budget_and_the_ledgers_whole():
    run_state_machine_as_test(
        BudgetMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
