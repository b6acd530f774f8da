"""Admission cycle cost at 1,000 and 10,000 queued jobs (1,000 allocations, 20 pools), and
sustained admission throughput through the real path: 10,000 jobs submitted with the service
functions (quota.submit_job), admitted by a real Celery beat and worker on PostgreSQL and Redis.

Prints the cycle's time and query count at both sizes, the machine reference (the same fixed
template render as benchmarks/pages.py, so figures read in reference units) and the jobs admitted
per second; the last line is JSON. Goals: under 200 ms per cycle at 10,000 jobs, a query count
that does not grow with the queue, at least 400 jobs admitted per second (Kueue's scalability
test admits about 40 workloads per second).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/computegrant_bench python benchmarks/admission.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/computegrant_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/12")
os.environ["CG_LAUNCH_ON_ADMISSION"] = "0"  # admission only: nothing is launched
os.environ["CG_ADMIT_ON_SUBMIT"] = "0"  # beat's cycle admits, as after a burst of submissions

import django

from benchmarks.postgres import ensure_database

ensure_database(os.environ["DATABASE_URL"])
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Max  # noqa: E402
from django.template import Context as TemplateContext  # noqa: E402
from django.template import Template  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from portal.models import Project, User  # noqa: E402
from scheduler import admission, quota  # noqa: E402
from scheduler.models import AcceleratorPool, Allocation, TrainingJob  # noqa: E402

POOLS, ALLOCATIONS = 20, 1000


def reset() -> None:
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


# The same fixed render as benchmarks/pages.py: its time says how fast the machine was.
REFERENCE_TEMPLATE = Template("{% for i in items %}<tr><td>{{ i }}</td><td>{{ i|floatformat:2 }}</td></tr>{% endfor %}")


def reference_ms(repeats: int = 50) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        REFERENCE_TEMPLATE.render(TemplateContext({"items": range(400)}))
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def submit_through_the_services(jobs: int) -> float:
    """`jobs` jobs submitted one by one with quota.submit_job (reserve, ledger entry, event), on
    pools big enough that one cycle can admit them all. Returns submissions per second."""
    reset()
    owner = User.objects.create(username="bench-owner", email="bench@example.org")
    pools = AcceleratorPool.objects.bulk_create(
        AcceleratorPool(name=f"pool-{i}", kind="gpu", capacity=100_000) for i in range(POOLS)
    )
    allocations = []
    for i in range(ALLOCATIONS // 10):
        project = Project.objects.create(
            name=f"p{i}", slug=f"p{i}", owner=owner, repository_url="https://example.org/r"
        )
        allocations.append(
            quota.award(project, pools[i % POOLS], 10**9, expires_at=timezone.now() + timedelta(days=30))
        )
    started = time.perf_counter()
    for i in range(jobs):
        request = quota.JobRequest(
            entrypoint="train.py", workers=1 + i % 4, accelerators_per_worker=1, max_runtime_seconds=600
        )
        quota.submit_job(allocations[i % len(allocations)], request)
    return jobs / (time.perf_counter() - started)


def admitted_by_beat_and_worker(jobs: int, timeout: float = 600) -> tuple[float, float]:
    """Start a real worker and beat, wait until every job is admitted. Returns (jobs admitted per
    second from beat's start to the last admission, seconds from beat's first cycle to the last)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    logs = Path(tempfile.mkdtemp(prefix="admission-bench-"))
    worker = subprocess.Popen(
        ["celery", "-A", "config", "worker", "-Q", "celery", "--pool", "threads", "-c", "2", "--loglevel", "WARNING"],
        env=env,
        stdout=open(logs / "worker.log", "w"),  # noqa: SIM115 - the process outlives this call
        stderr=subprocess.STDOUT,
    )
    time.sleep(5)  # the worker connects before beat sends its first cycle
    beat_started = timezone.now()
    beat = subprocess.Popen(
        ["celery", "-A", "config", "beat", "--schedule", str(logs / "schedule"), "--loglevel", "WARNING"],
        env=env,
        stdout=open(logs / "beat.log", "w"),  # noqa: SIM115 - the process outlives this call
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + timeout
        while TrainingJob.objects.filter(state=TrainingJob.State.QUEUED).exists():
            if time.monotonic() > deadline or worker.poll() is not None or beat.poll() is not None:
                raise SystemExit(f"jobs still queued after {timeout} s; logs in {logs}")
            time.sleep(0.5)
    finally:
        for process in (beat, worker):
            process.terminate()
            process.wait(30)
    admitted = TrainingJob.objects.exclude(admitted_at=None)
    last = admitted.aggregate(last=Max("admitted_at"))["last"]
    first_cycle = admitted.order_by("admitted_at").values_list("admitted_at", flat=True).first()
    total = (last - beat_started).total_seconds()
    return admitted.count() / total, (last - first_cycle).total_seconds()


def main() -> None:
    call_command("migrate", verbosity=0)
    reference = reference_ms()
    print(f"machine reference: {reference:.2f} ms (the fixed render of benchmarks/pages.py)")
    results = {}
    for jobs in (1_000, 10_000):
        populate(jobs)
        cycle_ms, queries, admitted = measure_cycle()
        results[jobs] = (cycle_ms, queries)
        print(f"{jobs:>6} queued jobs: one admission cycle {cycle_ms:7.1f} ms, {queries} queries, {admitted} admitted")
    small, large = results[1_000], results[10_000]
    print(f"growth 1,000 -> 10,000 jobs: time x{large[0] / small[0]:.2f}, queries x{large[1] / small[1]:.2f}")
    submitted_per_s = submit_through_the_services(10_000)
    print(f"10,000 jobs submitted through quota.submit_job: {submitted_per_s:.0f} per second")
    admitted_per_s, spread = admitted_by_beat_and_worker(10_000)
    # Beat's first cycle comes one interval (10 s) after it starts: that wait is in the figure.
    print(
        f"admitted by beat and a worker: {admitted_per_s:.0f} jobs per second from beat's start "
        f"(first to last admission {spread:.2f} s); goal 400: {'met' if admitted_per_s >= 400 else 'not met'}"
    )
    reset()
    print(
        json.dumps(
            {
                "benchmark": "admission",
                "reference_ms": round(reference, 3),
                "admitted_per_s": round(admitted_per_s, 1),
                "submitted_per_s": round(submitted_per_s, 1),
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
