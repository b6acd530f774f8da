"""The scheduler's state as Prometheus metrics, read from the database at each scrape.

Names follow Kueue's where they mean the same thing (a pool is a ClusterQueue, a job a workload),
prefixed `computegrant_`: pending jobs, admitted active jobs, admission wait time, jobs admitted
and finished, a pool's nominal quota and usage, the accelerator-seconds awarded, reserved and
used, and the active allocations whose balances differ from their ledger's sums (ledger drift, which
must stay 0; deploy/monitoring alerts on it). Read from the database, they agree whichever web
process answers the scrape.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from scheduler.models import AcceleratorPool, Allocation, LedgerEntry, TrainingJob

S = TrainingJob.State
# Kueue's admission wait buckets start at 1 s and double; ours reach a day.
WAIT_BUCKETS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)


def _by_pool() -> dict[int, str]:
    return dict(AcceleratorPool.objects.values_list("pk", "name"))


def job_metrics(pools: dict[int, str]) -> Iterator[Metric]:
    pending = GaugeMetricFamily("computegrant_pending_jobs", "Jobs queued for admission.", labels=["pool"])
    active = GaugeMetricFamily("computegrant_admitted_active_jobs", "Jobs admitted and not yet ended.", labels=["pool"])
    finished = CounterMetricFamily(
        "computegrant_finished_jobs", "Jobs ended, by how they ended.", labels=["pool", "state"]
    )
    admitted = CounterMetricFamily("computegrant_admitted_jobs", "Jobs ever admitted.", labels=["pool"])
    counts: dict[tuple[int, str], int] = {
        (row["pool_id"], row["state"]): row["n"]
        for row in TrainingJob.objects.values("pool_id", "state").annotate(n=Count("pk")).order_by()
    }
    ever = dict(
        TrainingJob.objects.filter(admitted_at__isnull=False)
        .values("pool_id")
        .annotate(n=Count("pk"))
        .values_list("pool_id", "n")
        .order_by()
    )
    for pk, name in pools.items():
        pending.add_metric([name], counts.get((pk, S.QUEUED), 0))
        active.add_metric([name], sum(counts.get((pk, state), 0) for state in TrainingJob.ACTIVE_STATES))
        for state in TrainingJob.TERMINAL_STATES:
            finished.add_metric([name, state], counts.get((pk, state), 0))
        admitted.add_metric([name], ever.get(pk, 0))
    yield from (pending, active, admitted, finished)


def admission_wait(pools: dict[int, str]) -> Metric:
    """Submission to admission, per pool, as a histogram (one query: a count per bucket)."""
    family = HistogramMetricFamily(
        "computegrant_admission_wait_time_seconds", "Time from submission to admission.", labels=["pool"]
    )
    wait = ExpressionWrapper(F("admitted_at") - F("submitted_at"), output_field=DurationField())
    buckets: dict[str, Any] = {f"le_{b}": Count("pk", filter=Q(wait__lte=timedelta(seconds=b))) for b in WAIT_BUCKETS}
    rows = (
        TrainingJob.objects.filter(admitted_at__isnull=False)
        .annotate(wait=wait)
        .values("pool_id")
        .annotate(total=Count("pk"), seconds=Sum("wait"), **buckets)
        .order_by()
    )
    seen: dict[int, dict[str, Any]] = {row["pool_id"]: dict(row) for row in rows}
    for pk, name in pools.items():
        row = seen.get(pk)
        total = row["total"] if row else 0
        cumulative = [(str(float(b)), row[f"le_{b}"] if row else 0) for b in WAIT_BUCKETS]
        seconds = row["seconds"].total_seconds() if row and row["seconds"] else 0.0
        family.add_metric([name], [*cumulative, ("+Inf", total)], seconds)
    return family


def capacity_metrics(pools: dict[int, str]) -> Iterator[Metric]:
    quota = GaugeMetricFamily(
        "computegrant_cluster_queue_nominal_quota", "Accelerators in the pool.", labels=["pool", "resource"]
    )
    usage = GaugeMetricFamily(
        "computegrant_cluster_queue_resource_usage", "Accelerators held by admitted jobs.", labels=["pool", "resource"]
    )
    held = dict(
        TrainingJob.objects.filter(state__in=TrainingJob.ACTIVE_STATES)
        .values("pool_id")
        .annotate(n=Sum(F("workers") * F("accelerators_per_worker")))
        .values_list("pool_id", "n")
        .order_by()
    )
    for pool in AcceleratorPool.objects.filter(pk__in=pools):
        resource = pool.resource_name or pool.kind
        quota.add_metric([pool.name, resource], pool.capacity)
        usage.add_metric([pool.name, resource], held.get(pool.pk) or 0)
    yield from (quota, usage)


def quota_metrics(pools: dict[int, str]) -> Metric:
    family = GaugeMetricFamily(
        "computegrant_quota_accelerator_seconds",
        "Accelerator-seconds of active allocations: awarded, reserved by queued and running jobs, used.",
        labels=["pool", "kind"],
    )
    sums: dict[int, dict[str, Any]] = {
        row["pool_id"]: dict(row)
        for row in Allocation.objects.filter(state=Allocation.State.ACTIVE)
        .values("pool_id")
        .annotate(awarded_sum=Sum("awarded"), reserved_sum=Sum("reserved"), used_sum=Sum("used"))
        .order_by()
    }
    for pk, name in pools.items():
        row: dict[str, Any] = sums.get(pk, {})
        for kind in ("awarded", "reserved", "used"):
            family.add_metric([name, kind], row.get(f"{kind}_sum") or 0)
    return family


# How each ledger entry kind moves a balance (as quota.ledger_balances counts them): a charge moves
# seconds from reserved to used.
LEDGER_MOVES: dict[str, dict[str, int]] = {
    **{kind: {"awarded": 1} for kind in ("award", "top_up", "revoke", "adjust", "return")},
    **{kind: {"reserved": 1} for kind in ("reserve", "release")},
    **{kind: {"held": 1} for kind in ("hold", "unhold")},
    "charge": {"used": 1, "reserved": -1},
}


def ledger_drift(pools: dict[int, str]) -> Metric:
    """Active allocations per pool whose cached balances differ from their ledger's sums: one grouped
    query over the ledger, not one per allocation."""
    family = GaugeMetricFamily(
        "computegrant_ledger_drift_allocations",
        "Active allocations whose balances differ from the sums of their ledger entries (must be 0).",
        labels=["pool"],
    )
    active = Allocation.objects.filter(state=Allocation.State.ACTIVE)
    sums: dict[int, dict[str, int]] = {}
    rows = (
        LedgerEntry.objects.filter(allocation__in=active)
        .values("allocation_id", "kind")
        .annotate(total=Sum("seconds"))
        .order_by()
    )
    for row in rows:
        balances = sums.setdefault(row["allocation_id"], {"awarded": 0, "reserved": 0, "used": 0, "held": 0})
        for balance, sign in LEDGER_MOVES.get(row["kind"], {}).items():
            balances[balance] += sign * int(row["total"] or 0)
    drifting: dict[int, int] = {}
    for pk, pool_id, *cached in active.values_list("pk", "pool_id", "awarded", "reserved", "used", "held"):
        expected = sums.get(pk, {"awarded": 0, "reserved": 0, "used": 0, "held": 0})
        if cached != [expected[balance] for balance in ("awarded", "reserved", "used", "held")]:
            drifting[pool_id] = drifting.get(pool_id, 0) + 1
    for pk, name in pools.items():
        family.add_metric([name], drifting.get(pk, 0))
    return family


class SchedulerCollector:
    """A prometheus_client collector: every scrape reads the scheduler's state afresh."""

    def collect(self) -> Iterator[Metric]:
        pools = _by_pool()
        yield from job_metrics(pools)
        yield admission_wait(pools)
        yield from capacity_metrics(pools)
        yield quota_metrics(pools)
        yield ledger_drift(pools)
