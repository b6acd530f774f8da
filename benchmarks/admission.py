"""Admission cycle cost at 1,000 and 10,000 queued jobs (1,000 allocations, 20 pools).

Prints the cycle's time and query count at both sizes; the last line is JSON. Goal: under 200 ms
per cycle at 10,000 jobs, and a query count that does not grow with the queue.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/computegrant_bench python benchmarks/admission.py
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/computegrant_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

from benchmarks.postgres import ensure_database

ensure_database(os.environ["DATABASE_URL"])
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from portal.models import Project, User  # noqa: E402
from scheduler import admission  # noqa: E402
from scheduler.models import AcceleratorPool, Allocation, TrainingJob  # noqa: E402

POOLS, ALLOCATIONS = 20, 1000


def reset() -> None:
    TrainingJob.objects.all().delete()
    with connection.cursor() as cursor:  # the ledger refuses DELETE; TRUNCATE is the reset
        cursor.execute(
            "TRUNCATE scheduler_ledgerentry, scheduler_jobevent, scheduler_trainingjob, "
            "scheduler_allocation, scheduler_acceleratorpool, portal_project_members, portal_project "
            "RESTART IDENTITY CASCADE"
        )
    User.objects.filter(username="bench-owner").delete()


def populate(jobs: int) -> None:
    reset()
    owner = User.objects.create(username="bench-owner", email="bench@example.org")
    pools = AcceleratorPool.objects.bulk_create(
        AcceleratorPool(name=f"pool-{i}", kind="gpu", capacity=16) for i in range(POOLS)
    )
    projects = Project.objects.bulk_create(
        Project(name=f"p{i}", slug=f"p{i}", owner=owner, repository_url="https://example.org/r")
        for i in range(ALLOCATIONS)
    )
    now = timezone.now()
    allocations = Allocation.objects.bulk_create(
        Allocation(
            project=projects[i],
            pool=pools[i % POOLS],
            awarded=10**9,
            reserved=0,
            decayed_usage=float(i * 97 % 1000),
            decayed_usage_at=now,
            starts_at=now - timedelta(days=1),
            expires_at=now + timedelta(days=30),
        )
        for i in range(ALLOCATIONS)
    )
    TrainingJob.objects.bulk_create(
        TrainingJob(
            allocation=allocations[i % ALLOCATIONS],
            pool=allocations[i % ALLOCATIONS].pool,
            entrypoint="train.py",
            workers=1 + i % 4,
            accelerators_per_worker=1 + i % 2,
            max_runtime_seconds=600 + (i * 37) % 7200,
            priority=i % 3,
            reserved_seconds=1,
        )
        for i in range(jobs)
    )


def measure_cycle(repeats: int = 5) -> tuple[float, int, int]:
    timings, queries, admitted = [], 0, 0
    for _ in range(repeats):
        with transaction.atomic():
            with CaptureQueriesContext(connection) as context:
                start = time.perf_counter()
                admitted = len(admission.admit_pending_jobs())
                timings.append((time.perf_counter() - start) * 1000)
            queries = len(context.captured_queries)
            transaction.set_rollback(True)  # the same queue for the next repeat; no launches sent
    return statistics.median(timings), queries, admitted


def main() -> None:
    call_command("migrate", verbosity=0)
    results = {}
    for jobs in (1_000, 10_000):
        populate(jobs)
        cycle_ms, queries, admitted = measure_cycle()
        results[jobs] = (cycle_ms, queries)
        print(f"{jobs:>6} queued jobs: one admission cycle {cycle_ms:7.1f} ms, {queries} queries, {admitted} admitted")
    reset()
    small, large = results[1_000], results[10_000]
    print(f"growth 1,000 -> 10,000 jobs: time x{large[0] / small[0]:.2f}, queries x{large[1] / small[1]:.2f}")
    print(
        json.dumps(
            {
                "benchmark": "admission",
                "jobs": 10_000,
                "allocations": ALLOCATIONS,
                "pools": POOLS,
                "cycle_ms": round(large[0], 1),
                "queries": large[1],
                "cycle_ms_at_1000": round(small[0], 1),
                "queries_at_1000": small[1],
            }
        )
    )


if __name__ == "__main__":
    main()
