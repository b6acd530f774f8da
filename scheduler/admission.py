"""Admission: which queued jobs start now, on which pool.

Gang admission (a job starts only when all its accelerators are free at once), ordered by fair
share (decayed usage relative to award), then priority, then age, with EASY backfilling as Slurm
does it: a later job may jump ahead only if it cannot delay the earliest start of the job at the
head of the queue. The planner is a pure function; `admit_pending_jobs` feeds it from the
database with a fixed number of queries per pool, whatever the length of the queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from scheduler import jobs
from scheduler.models import AcceleratorPool, Allocation, JobEvent, TrainingJob
from scheduler.quota import decay

S = TrainingJob.State
LAUNCH_TASK = "scheduler.runner_tasks.launch_job"


@dataclass(frozen=True)
class Running:
    accelerators: int
    ends_at: datetime  # worst case: start + max runtime


@dataclass(frozen=True)
class Pending:
    job_id: int
    accelerators: int
    max_runtime: timedelta
    fair_share: float  # decayed usage / award: lower goes first
    priority: int
    submitted_at: datetime

    def order_key(self) -> tuple:
        return (self.fair_share, -self.priority, self.submitted_at, self.job_id)


@dataclass
class Plan:
    admit: list[int]
    head_job_id: int | None = None
    head_start: datetime | None = None  # the head job's earliest start (its "shadow time")


def earliest_start(free: int, releases: list[Running], needed: int, now: datetime) -> tuple[datetime, int]:
    """When `needed` accelerators are free at once, and how many are spare then."""
    if needed <= free:
        return now, free - needed
    for release in sorted(releases, key=lambda r: r.ends_at):
        free += release.accelerators
        if free >= needed:
            return max(release.ends_at, now), free - needed
    raise ValueError("The job needs more accelerators than the pool has.")


def plan_admission(capacity: int, running: list[Running], pending: list[Pending], now: datetime) -> Plan:
    """Which of `pending` (in any order) start now under gang admission with EASY backfill."""
    free = capacity - sum(r.accelerators for r in running)
    releases = list(running)
    plan = Plan(admit=[])
    spare_at_head = 0
    for job in sorted(pending, key=Pending.order_key):
        if job.accelerators > capacity:
            continue  # can never run; submission refuses these, this only guards the planner
        if plan.head_job_id is None:
            if job.accelerators <= free:
                plan.admit.append(job.job_id)
                free -= job.accelerators
                releases.append(Running(job.accelerators, now + job.max_runtime))
                continue
            plan.head_job_id = job.job_id
            plan.head_start, spare_at_head = earliest_start(free, releases, job.accelerators, now)
            continue
        # Backfill: it must fit now, and either end before the head starts or use only
        # accelerators the head will not need.
        assert plan.head_start is not None
        if job.accelerators > free:
            continue
        if now + job.max_runtime <= plan.head_start:
            plan.admit.append(job.job_id)
            free -= job.accelerators
        elif job.accelerators <= spare_at_head:
            plan.admit.append(job.job_id)
            free -= job.accelerators
            spare_at_head -= job.accelerators
    return plan


def estimated_starts(
    capacity: int, running: list[Running], pending: list[Pending], now: datetime
) -> dict[int, datetime]:
    """Queue position estimates: each job in order starts once its accelerators are free, assuming
    every job runs its full maximum runtime (so the estimate is late rather than early)."""
    free = capacity - sum(r.accelerators for r in running)
    releases = list(running)
    estimates: dict[int, datetime] = {}
    for job in sorted(pending, key=Pending.order_key):
        if job.accelerators > capacity:
            continue
        start, _ = earliest_start(free, releases, job.accelerators, now)
        # Jobs ending before `start` give their accelerators back; the rest stay busy.
        still_busy = [r for r in releases if r.ends_at > start]
        free = capacity - sum(r.accelerators for r in still_busy) - job.accelerators
        releases = [*still_busy, Running(job.accelerators, start + job.max_runtime)]
        estimates[job.job_id] = start
    return estimates


def _pool_state(pool: AcceleratorPool, now: datetime) -> tuple[list[Running], list[Pending]]:
    return _pools_state([pool.pk], now)[pool.pk]


def _pools_state(pool_ids: list[int], now: datetime) -> dict[int, tuple[list[Running], list[Pending]]]:
    """Running and pending jobs of each pool: two queries of plain tuples, whatever the queues' lengths."""
    states: dict[int, tuple[list[Running], list[Pending]]] = {pool_id: ([], []) for pool_id in pool_ids}
    active = TrainingJob.objects.filter(pool__in=pool_ids, state__in=TrainingJob.ACTIVE_STATES)
    for pool_id, workers, per_worker, started, admitted, runtime in active.values_list(
        "pool_id", "workers", "accelerators_per_worker", "started_at", "admitted_at", "max_runtime_seconds"
    ):
        ends_at = (started or admitted or now) + timedelta(seconds=runtime)
        states[pool_id][0].append(Running(workers * per_worker, ends_at))
    queued = TrainingJob.objects.filter(
        pool__in=pool_ids, state=S.QUEUED, allocation__state=Allocation.State.ACTIVE
    ).values_list(
        "pool_id",
        "id",
        "workers",
        "accelerators_per_worker",
        "max_runtime_seconds",
        "priority",
        "submitted_at",
        "allocation_id",
        "allocation__awarded",
        "allocation__decayed_usage",
        "allocation__decayed_usage_at",
    )
    shares: dict[int, float] = {}
    for (
        pool_id,
        job_id,
        workers,
        per_worker,
        runtime,
        priority,
        submitted,
        alloc_id,
        awarded,
        usage,
        usage_at,
    ) in queued:
        share = shares.get(alloc_id)
        if share is None:
            share = shares[alloc_id] = decay(usage, usage_at, now) / max(awarded, 1)
        pending = Pending(job_id, workers * per_worker, timedelta(seconds=runtime), share, priority, submitted)
        states[pool_id][1].append(pending)
    return states


def queue_estimates(pool: AcceleratorPool, now: datetime | None = None) -> list[tuple[int, int, datetime]]:
    """(job id, position, estimated start) for the pool's queue, first to last."""
    return queue_estimates_of([pool], now)[pool.pk]


def queue_estimates_of(
    pools: list[AcceleratorPool], now: datetime | None = None
) -> dict[int, list[tuple[int, int, datetime]]]:
    """queue_estimates for several pools, read in two queries whatever their number."""
    now = now or timezone.now()
    states = _pools_state([pool.pk for pool in pools], now)
    estimated = {}
    for pool in pools:
        running, pending = states[pool.pk]
        starts = estimated_starts(pool.capacity, running, pending, now)
        ordered = sorted(pending, key=Pending.order_key)
        estimated[pool.pk] = [
            (job.job_id, position, starts[job.job_id])
            for position, job in enumerate(ordered, start=1)
            if job.job_id in starts
        ]
    return estimated


def admit_pool(pool_id: int, now: datetime | None = None) -> list[int]:
    """One admission cycle for one pool, under the pool's row lock (one cycle at a time)."""
    now = now or timezone.now()
    with transaction.atomic():
        pool = AcceleratorPool.objects.select_for_update().get(pk=pool_id)
        running, pending = _pool_state(pool, now)
        plan = plan_admission(pool.capacity, running, pending, now)
        if not plan.admit:
            return []
        # The state guard makes a second, concurrent cycle a no-op for these jobs.
        updated = TrainingJob.objects.filter(pk__in=plan.admit, state=S.QUEUED).update(
            state=S.ADMITTED, admitted_at=now
        )
        if updated != len(plan.admit):
            raise RuntimeError("Queued jobs changed during admission despite the pool lock.")
        JobEvent.objects.bulk_create(
            jobs.event(job_id, S.QUEUED, S.ADMITTED, at=now, message="all its accelerators are free")
            for job_id in plan.admit
        )
        admitted_ids = list(plan.admit)
        if settings.CG_LAUNCH_ON_ADMISSION:
            transaction.on_commit(lambda: hand_to_launchers(admitted_ids))
    return admitted_ids


def hand_to_launchers(job_ids: list[int]) -> None:
    """One launch message per job; a duplicate is harmless (scheduler.launches claims each once)."""
    for job_id in job_ids:
        current_app.send_task(LAUNCH_TASK, kwargs={"job_id": job_id})


def admit_pending_jobs(pool: AcceleratorPool | None = None, now: datetime | None = None) -> list[int]:
    """Run an admission cycle on one pool, or on every pool with queued jobs."""
    if pool is not None:
        return admit_pool(pool.pk, now)
    pool_ids = (
        TrainingJob.objects.filter(state=S.QUEUED).values_list("pool_id", flat=True).distinct().order_by("pool_id")
    )
    admitted: list[int] = []
    for pool_id in list(pool_ids):
        admitted.extend(admit_pool(pool_id, now))
    return admitted
