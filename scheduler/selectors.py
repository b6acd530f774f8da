"""Read-side queries for the quota pages: summaries, pool usage, queues and burn-down series.

Each function runs a fixed number of queries whatever the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from portal.access import roles
from portal.selectors.subqueries import per_row
from portal.selectors.visibility import visible_project_filter
from scheduler import admission
from scheduler.models import AcceleratorPool, Allocation, LedgerEntry, TrainingJob

S = TrainingJob.State


def visible_allocations(user: Any) -> QuerySet[Allocation]:
    """Maintainers see every allocation; others those of projects they own, belong to or review."""
    allocations = Allocation.objects.select_related("project", "pool")
    if roles.is_maintainer(user):
        return allocations
    return allocations.filter(visible_project_filter(user, "project__"))


def visible_jobs(user: Any) -> QuerySet[TrainingJob]:
    jobs = TrainingJob.objects.select_related("allocation__project", "pool")
    if roles.is_maintainer(user):
        return jobs
    return jobs.filter(visible_project_filter(user, "allocation__project__"))


@dataclass
class Bar:
    """Percentages of an allocation's award: used, reserved, held for later tranches, remaining."""

    used: float
    reserved: float
    remaining: float
    held: float = 0.0

    @property
    def held_from(self) -> float:
        """Held hours are drawn at the bar's far end: the last to become runnable."""
        return round(100 - self.held, 1)


def bar(allocation: Allocation) -> Bar:
    """Held tranches are part of the award but not runnable: shown apart, not as remaining."""
    awarded = max(allocation.awarded, 1)
    used = 100 * allocation.used / awarded
    reserved = 100 * allocation.reserved / awarded
    held = 100 * allocation.held / awarded
    remaining = max(100 - used - reserved - held, 0)
    return Bar(round(used, 1), round(reserved, 1), round(remaining, 1), round(held, 1))


@dataclass
class PoolUsage:
    pool: AcceleratorPool
    in_use: int
    queued_jobs: int
    queued_accelerators: int

    @property
    def utilisation(self) -> float:
        return round(100 * self.in_use / self.pool.capacity, 1)


def pool_usage() -> list[PoolUsage]:
    """Capacity, accelerators in use and queued demand of every pool: one query."""
    # Subqueries on the (pool, state) index read only the live jobs; a join grouped every job ever run.
    active, queued = TrainingJob.ACTIVE_STATES, [S.QUEUED]
    pools = AcceleratorPool.objects.annotate(
        in_use=_of_pool_jobs(active, Sum(F("workers") * F("accelerators_per_worker"))),
        queued_jobs=_of_pool_jobs(queued, Count("*")),
        queued_accelerators=_of_pool_jobs(queued, Sum(F("workers") * F("accelerators_per_worker"))),
    ).order_by("name")
    return [PoolUsage(p, p.in_use, p.queued_jobs, p.queued_accelerators) for p in pools]


def _of_pool_jobs(states: Any, aggregate: Any) -> Coalesce:
    """An aggregate over the jobs of the outer pool in `states`, 0 without any."""
    return per_row(TrainingJob.objects.filter(state__in=states), "pool", aggregate)


@dataclass
class QueueRow:
    job: TrainingJob
    position: int
    estimated_start: datetime


@dataclass
class PoolQueue:
    pool: AcceleratorPool
    rows: list[QueueRow]  # the head of the line, `limit` rows at most
    length: int  # every queued job in line

    @property
    def hidden(self) -> int:
        return self.length - len(self.rows)


def _queued_jobs(estimates: list[tuple[int, int, datetime]]) -> dict[int, TrainingJob]:
    return TrainingJob.objects.select_related("allocation__project").in_bulk([job_id for job_id, _, _ in estimates])


def _rows(estimates: list[tuple[int, int, datetime]], jobs: dict[int, TrainingJob]) -> list[QueueRow]:
    return [QueueRow(jobs[job_id], position, start) for job_id, position, start in estimates]


def queues(pools: list[AcceleratorPool], now: datetime | None = None, limit: int = 10) -> list[PoolQueue]:
    """The head of each pool's queue in admission order with estimated starts: the first `limit` jobs."""
    # The estimates need the whole line; the page needs its head (rows of 1,000 jobs cost 0.4 s to render).
    estimates = admission.queue_estimates_of(pools, now)
    heads = {pool.pk: estimates[pool.pk][:limit] for pool in pools}
    jobs = _queued_jobs([row for head in heads.values() for row in head])  # one query for every pool
    return [PoolQueue(pool, _rows(heads[pool.pk], jobs), len(estimates[pool.pk])) for pool in pools]


def queue(pool: AcceleratorPool, now: datetime | None = None, limit: int = 10) -> PoolQueue:
    """The head of one pool's queue (see `queues`)."""
    return queues([pool], now, limit)[0]


def queue_page(
    pool: AcceleratorPool, number: Any, per_page: int, now: datetime | None = None
) -> tuple[Page[tuple[int, int, datetime]], list[QueueRow]]:
    """One page of a pool's whole queue in admission order, and its rows with estimated starts."""
    page = Paginator(admission.queue_estimates(pool, now), per_page).get_page(number)
    shown = list(page)
    return page, _rows(shown, _queued_jobs(shown))


def queue_position(job: TrainingJob) -> QueueRow | None:
    if job.state != S.QUEUED:
        return None
    for job_id, position, start in admission.queue_estimates(job.pool):
        if job_id == job.pk:
            return QueueRow(job, position, start)
    return None  # queued on a suspended allocation: not in line


@dataclass
class QueueWait:
    """Where a queued job stands in its pool's line, and why it has not started yet."""

    job: TrainingJob
    position: int
    length: int  # every job in the pool's line
    estimated_start: datetime
    reason: str


def queue_wait(job: TrainingJob, now: datetime | None = None) -> QueueWait | None:
    """A queued job's place in its pool's line and the reason it waits; None once it left the queue
    (or while its allocation is suspended, which keeps it out of line)."""
    if job.state != S.QUEUED:
        return None
    estimates = admission.queue_estimates(job.pool, now)
    row = next(((position, start) for job_id, position, start in estimates if job_id == job.pk), None)
    if row is None:
        return None
    position, start = row
    in_use = TrainingJob.objects.filter(pool_id=job.pool_id, state__in=TrainingJob.ACTIVE_STATES).aggregate(
        total=Coalesce(Sum(F("workers") * F("accelerators_per_worker")), 0)
    )["total"]
    return QueueWait(job, position, len(estimates), start, _why_waiting(job, position, in_use))


def _why_waiting(job: TrainingJob, position: int, in_use: int) -> str:
    reasons = []
    if job.accelerators > job.pool.capacity - in_use:
        reasons.append(
            f"{in_use} of the {job.pool.capacity} accelerators of {job.pool} are in use and it needs "
            f"{job.accelerators} at once"
        )
    if position > 1:
        ahead = position - 1
        reasons.append(f"{ahead} job{'s' if ahead > 1 else ''} ahead of it in fair-share order")
    return "; ".join(reasons) or "its accelerators are free: the next admission cycle starts it"


@dataclass
class BurnDown:
    """Remaining and used accelerator-hours after each ledger entry, and the hours awarded across the whole
    period (so an allocation with no usage yet still shows its line), as SVG polylines."""

    remaining_points: str
    used_points: str
    max_hours: float
    start: datetime | None
    end: datetime | None
    width: int = 640
    height: int = 200
    awarded_points: str = ""
    x_ticks: list[tuple[float, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.remaining_points


BURN_DOWN_TICKS = 4
# From the coarsest to the finest: the first format that tells every tick apart labels them.
TIME_TICK_FORMATS = ("%Y-%m-%d", "%m-%d %H:%M", "%H:%M", "%H:%M:%S")


def time_tick_labels(moments: list[datetime]) -> list[tuple[datetime, str]]:
    """Each moment with a label none of the others shares: dates when the period spans days, times when it
    spans hours (a one-day period would otherwise read the same date four times). Moments that even the
    finest format cannot tell apart are dropped."""
    for pattern in TIME_TICK_FORMATS:
        labels = [moment.strftime(pattern) for moment in moments]
        if len(set(labels)) == len(labels):
            return list(zip(moments, labels, strict=True))
    unique: dict[str, datetime] = {}
    for moment, label in zip(moments, labels, strict=True):
        unique.setdefault(label, moment)
    return [(moment, label) for label, moment in unique.items()]


def burn_down(allocation: Allocation, width: int = 640, height: int = 200) -> BurnDown:
    """The allocation's balances over time, replayed from its ledger (one query)."""
    awarded = reserved = used = held = 0
    series: list[tuple[datetime, float, float]] = []
    awarded_series: list[tuple[datetime, float]] = []
    for kind, seconds, created in allocation.ledger.order_by("created", "id").values_list("kind", "seconds", "created"):
        if kind in (
            LedgerEntry.Kind.AWARD,
            LedgerEntry.Kind.TOP_UP,
            LedgerEntry.Kind.REVOKE,
            LedgerEntry.Kind.ADJUST,
            LedgerEntry.Kind.RETURN,
        ):
            awarded += seconds
        elif kind in (LedgerEntry.Kind.RESERVE, LedgerEntry.Kind.RELEASE):
            reserved += seconds
        elif kind in (LedgerEntry.Kind.HOLD, LedgerEntry.Kind.UNHOLD):
            held += seconds
        else:
            used += seconds
            reserved -= seconds
        series.append((created, (awarded - used - reserved - held) / 3600, used / 3600))
        awarded_series.append((created, awarded / 3600))
    if not series:
        return BurnDown("", "", 0, None, None, width, height)
    start = series[0][0]
    end = max(
        timezone.now(),
        allocation.expires_at if allocation.state == Allocation.State.ACTIVE else series[-1][0],
    )
    span = max((end - start).total_seconds(), 1)
    top = max(max(r for _, r, _ in series), max(u for _, _, u in series), max(a for _, a in awarded_series), 1e-9)
    series.append((timezone.now(), series[-1][1], series[-1][2]))  # hold the last value until now
    awarded_series.append((end, awarded_series[-1][1]))  # what was awarded holds to the period's end

    def point(at: datetime, value: float) -> str:
        x = 40 + (width - 50) * (at - start).total_seconds() / span
        y = height - 20 - (height - 30) * value / top
        return f"{x:.1f},{y:.1f}"

    ticks = [start + (end - start) * i / (BURN_DOWN_TICKS - 1) for i in range(BURN_DOWN_TICKS)]
    return BurnDown(
        x_ticks=[
            (round(40 + (width - 50) * (at - start).total_seconds() / span, 1), label)
            for at, label in time_tick_labels(ticks)
        ],
        remaining_points=" ".join(point(at, r) for at, r, _ in series),
        used_points=" ".join(point(at, u) for at, _, u in series),
        awarded_points=" ".join(point(at, a) for at, a in awarded_series),
        max_hours=round(top, 2),
        start=start,
        end=end,
        width=width,
        height=height,
    )
