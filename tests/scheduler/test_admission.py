"""Admission: gang, fair share then priority then age, EASY backfill that never delays the head."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler import admission, quota
from scheduler.admission import Pending, Running, earliest_start, plan_admission
from scheduler.models import JobEvent, TrainingJob
from tests.scheduler.factories import HOUR, PoolFactory, ProjectFactory, job_request, make_allocation

S = TrainingJob.State
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def pending(job_id, accelerators, hours=1.0, share=0.0, priority=0, age=0):
    return Pending(job_id, accelerators, timedelta(hours=hours), share, priority, NOW - timedelta(minutes=age))


# --- the pure planner ---------------------------------------------------------------------


def test_gang_admission_waits_for_all_accelerators_at_once():
    plan = plan_admission(8, [Running(6, NOW + timedelta(hours=1))], [pending(1, 4)], NOW)
    assert plan.admit == []
    assert plan.head_job_id == 1 and plan.head_start == NOW + timedelta(hours=1)


def test_order_is_fair_share_then_priority_then_age():
    jobs = [
        pending(1, 8, share=0.5, priority=9, age=100),
        pending(2, 8, share=0.1, priority=0, age=0),
        pending(3, 8, share=0.1, priority=5, age=0),
        pending(4, 8, share=0.1, priority=5, age=10),
    ]
    assert [j.job_id for j in sorted(jobs, key=Pending.order_key)] == [4, 3, 2, 1]
    assert plan_admission(8, [], jobs, NOW).admit == [4]


def test_a_short_job_backfills_when_it_ends_before_the_head_can_start():
    running = [Running(6, NOW + timedelta(hours=2))]
    plan = plan_admission(8, running, [pending(1, 4, age=10), pending(2, 2, hours=1)], NOW)
    assert plan.admit == [2]


def test_a_long_job_may_not_backfill_onto_accelerators_the_head_needs():
    running = [Running(6, NOW + timedelta(hours=2))]
    plan = plan_admission(8, running, [pending(1, 8, age=10), pending(2, 2, hours=3)], NOW)
    assert plan.admit == []


def test_a_long_job_may_backfill_onto_accelerators_the_head_will_not_need():
    running = [Running(4, NOW + timedelta(hours=2))]
    plan = plan_admission(8, running, [pending(1, 6, age=10), pending(2, 2, hours=5), pending(3, 2, hours=5)], NOW)
    # At the head's start 8 are free and it needs 6: 2 spare, so one long job may take them.
    assert plan.admit == [2]


running_jobs = st.lists(
    st.builds(Running, st.integers(1, 4), st.integers(1, 600).map(lambda m: NOW + timedelta(minutes=m))),
    max_size=4,
)
pending_jobs = st.lists(
    st.builds(
        Pending,
        st.integers(1, 10_000),
        st.integers(1, 8),
        st.integers(1, 600).map(lambda m: timedelta(minutes=m)),
        st.floats(0, 1),
        st.integers(-2, 2),
        st.integers(0, 600).map(lambda m: NOW - timedelta(minutes=m)),
    ),
    max_size=12,
    unique_by=lambda p: p.job_id,
)


@settings(max_examples=300, deadline=None)
@given(running=running_jobs, pending=pending_jobs)
def test_the_plan_never_exceeds_capacity_and_never_delays_the_head(running, pending):
    capacity = 8
    running = running[: max(0, len(running))]
    if sum(r.accelerators for r in running) > capacity:
        running = running[:1]
    plan = plan_admission(capacity, running, pending, NOW)
    by_id = {p.job_id: p for p in pending}
    admitted = [by_id[i] for i in plan.admit]
    assert len(set(plan.admit)) == len(plan.admit)
    assert sum(r.accelerators for r in running) + sum(j.accelerators for j in admitted) <= capacity
    if plan.head_job_id is not None:
        head = by_id[plan.head_job_id]
        # Everything started now runs its full maximum; the head must still start on time.
        busy = [*running, *(Running(j.accelerators, NOW + j.max_runtime) for j in admitted)]
        free = capacity - sum(r.accelerators for r in busy)
        start, _ = earliest_start(free, busy, head.accelerators, NOW)
        assert start <= plan.head_start


# --- admission on the database ------------------------------------------------------------


@pytest.mark.django_db
def test_admission_admits_what_fits_and_records_the_event():
    pool = PoolFactory(capacity=4)
    allocation = make_allocation(pool=pool)
    first = quota.submit_job(allocation, job_request(workers=2, per_worker=2))
    second = quota.submit_job(allocation, job_request(workers=1))
    assert admission.admit_pending_jobs(pool) == [first.pk]
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == S.ADMITTED and first.admitted_at is not None
    assert second.state == S.QUEUED
    assert first.events.last().message == "all its accelerators are free"


@pytest.mark.django_db
def test_jobs_of_suspended_allocations_wait():
    pool = PoolFactory()
    allocation = make_allocation(pool=pool)
    job = quota.submit_job(allocation, job_request())
    quota.suspend(allocation)
    assert admission.admit_pending_jobs(pool) == []
    quota.resume(allocation)
    assert admission.admit_pending_jobs(pool) == [job.pk]


@pytest.mark.django_db
def test_fair_share_lets_the_project_that_used_less_go_first():
    pool = PoolFactory(capacity=4)
    heavy = make_allocation(pool=pool, hours=100)
    light = make_allocation(pool=pool, hours=100)
    earlier = quota.submit_job(heavy, job_request(workers=1, runtime=HOUR))
    quota.mark_started(admission.admit_pending_jobs(pool)[0])
    quota.finish_job(earlier, S.SUCCEEDED, worker_seconds=[1800])
    heavy_job = quota.submit_job(heavy, job_request(workers=4))
    light_job = quota.submit_job(light, job_request(workers=4))
    assert admission.admit_pending_jobs(pool) == [light_job.pk]
    heavy_job.refresh_from_db()
    assert heavy_job.state == S.QUEUED


@pytest.mark.django_db
def test_a_second_cycle_admits_nothing_twice():
    pool = PoolFactory(capacity=8)
    allocation = make_allocation(pool=pool, hours=1000)
    for _ in range(3):
        quota.submit_job(allocation, job_request(workers=2))
    assert len(admission.admit_pending_jobs()) == 3
    assert admission.admit_pending_jobs() == []
    assert JobEvent.objects.filter(to_state=S.ADMITTED).count() == 3


@pytest.mark.django_db
def test_the_queue_shows_positions_and_estimated_starts():
    pool = PoolFactory(capacity=4)
    allocation = make_allocation(pool=pool, hours=1000)
    running = quota.submit_job(allocation, job_request(workers=4, runtime=2 * HOUR))
    admission.admit_pending_jobs(pool)
    quota.mark_started(running)
    a = quota.submit_job(allocation, job_request(workers=4, runtime=HOUR))
    b = quota.submit_job(allocation, job_request(workers=2, runtime=HOUR))
    now = timezone.now()
    estimates = admission.queue_estimates(pool, now)
    assert [(job_id, position) for job_id, position, _ in estimates] == [(a.pk, 1), (b.pk, 2)]
    running.refresh_from_db()
    assert estimates[0][2] == running.started_at + timedelta(hours=2)
    assert estimates[1][2] == estimates[0][2] + timedelta(hours=1)


@pytest.mark.django_db
def test_an_admission_cycle_makes_the_same_number_of_queries_for_10_or_100_jobs():
    def queries_for(count):
        pool = PoolFactory(capacity=2)
        allocations = [make_allocation(pool=pool, hours=10_000, project=ProjectFactory()) for _ in range(5)]
        for i in range(count):
            quota.submit_job(allocations[i % 5], job_request(workers=1))
        with CaptureQueriesContext(connection) as context:
            admitted = admission.admit_pending_jobs(pool)
        assert len(admitted) == 2
        return len(context.captured_queries)

    assert queries_for(10) == queries_for(100)


@pytest.mark.django_db(transaction=True)
def test_concurrent_admission_cycles_admit_each_job_once(settings):
    settings.CG_LAUNCH_ON_ADMISSION = False  # these jobs have nothing to run
    pool = PoolFactory(capacity=8)
    allocation = make_allocation(pool=pool, hours=1000)
    for _ in range(6):
        quota.submit_job(allocation, job_request(workers=1))
    results: list[list[int]] = []

    def cycle():
        try:
            results.append(admission.admit_pending_jobs(pool))
        finally:
            connection.close()

    threads = [threading.Thread(target=cycle) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    admitted = [job_id for result in results for job_id in result]
    assert sorted(admitted) == sorted(set(admitted)) and len(admitted) == 6
    assert JobEvent.objects.filter(to_state=S.ADMITTED).count() == 6
