"""Fault drill for launches (issue 14): concurrent launches of one job, and a Celery worker SIGKILLed
at a random moment of a launch. Counts the training processes each job started.

Needs PostgreSQL (row locks) and Redis: DATABASE_URL=postgres://.../cg_drill (migrated here; use a
scratch database) CELERY_BROKER_URL=redis://127.0.0.1:6379/14. Options: --rounds N (concurrent
launch rounds), --launchers K (processes per round), --kills N (worker kills). Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import signal
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = tempfile.mkdtemp(prefix="cg-drill-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["CG_DATA_DIR"] = DATA
os.environ["CG_ADMIT_ON_SUBMIT"] = "0"
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from django.utils import timezone  # noqa: E402

from portal.models import Project, User  # noqa: E402
from scheduler import quota, runner  # noqa: E402
from scheduler.models import AcceleratorPool, Allocation, TrainingJob  # noqa: E402
from tests.support.celery_worker import start_worker, worker_env  # noqa: E402

S = TrainingJob.State
TRAIN = (
    "import os, sys, time\n"
    "open(sys.argv[1], 'a').write(f\"{os.getpid()} {os.environ['CG_WORKER_INDEX']}\\n\")\n"
    "time.sleep(float(sys.argv[2]))\n"
)


def setup() -> tuple[Allocation, Path]:
    call_command("migrate", verbosity=0)
    program = Path(DATA) / "program"
    program.mkdir()
    (program / "train.py").write_text(TRAIN)
    stamp = time.time_ns()
    owner = User.objects.create(username=f"drill-{stamp}", email=f"drill-{stamp}@example.org")
    project = Project.objects.create(name="Drill", slug=f"drill-{time.time_ns()}", owner=owner)
    pool = AcceleratorPool.objects.create(name=f"drill-{time.time_ns()}", kind="cpu", capacity=1000)
    allocation = quota.award(project, pool, 10_000_000, expires_at=timezone.now() + timedelta(days=1))
    return allocation, program


def admitted_job(allocation: Allocation, program: Path, sleep: float) -> tuple[TrainingJob, Path]:
    starts = Path(DATA) / f"starts-{time.time_ns()}"
    request = quota.JobRequest(
        entrypoint="train.py",
        workers=2,
        max_runtime_seconds=300,
        source_path=str(program),
        args=[str(starts), str(sleep)],
    )
    job = quota.submit_job(allocation, request)
    TrainingJob.objects.filter(pk=job.pk).update(state=S.ADMITTED, admitted_at=timezone.now())
    return job, starts


def processes(starts: Path) -> int:
    return len(starts.read_text().splitlines()) if starts.exists() else 0


def finish(job: TrainingJob, timeout: float = 120) -> TrainingJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runner.reconcile_stale_launches(timedelta(seconds=1))
        for job_id in runner.unlaunched_job_ids(timedelta(0)):
            runner.launch_job(job_id)
        runner.sync_job(job.pk)
        job.refresh_from_db()
        if job.is_terminal:
            return job
        time.sleep(0.3)
    raise RuntimeError(f"job {job.pk} still {job.state}")


def _launch_at(job_id: int, at: float, results: multiprocessing.Queue) -> None:
    connections.close_all()  # a forked child must not share the parent's connection
    while time.time() < at:
        time.sleep(0.0005)
    results.put(runner.launch_job(job_id))


def concurrent_rounds(allocation: Allocation, program: Path, rounds: int, launchers: int) -> dict:
    context = multiprocessing.get_context("fork")
    started, launched, jobs = [], 0, []
    for _ in range(rounds):
        job, starts = admitted_job(allocation, program, sleep=0.5)
        connections.close_all()
        results: multiprocessing.Queue = context.Queue()
        at = time.time() + 0.5
        children = [context.Process(target=_launch_at, args=(job.pk, at, results)) for _ in range(launchers)]
        for child in children:
            child.start()
        for child in children:
            child.join()
        outcomes = [results.get() for _ in children]
        launched += outcomes.count("launched")
        job = finish(job)
        started.append(processes(starts))
        jobs.append(job.state)
    return {
        "rounds": rounds,
        "launch_calls": rounds * launchers,
        "launches_that_started_a_run": launched,
        "processes_per_job": sorted(set(started)),
        "jobs_with_extra_processes": sum(1 for n in started if n > 2),
        "succeeded": jobs.count(S.SUCCEEDED),
    }


def kill_rounds(allocation: Allocation, program: Path, kills: int) -> dict:
    from config.celery import app

    env = worker_env(CG_DATA_DIR=DATA, CG_ADMIT_ON_SUBMIT="0")
    outcomes: dict[str, int] = {}
    started = []
    for round_ in range(kills):
        worker = start_worker(env, Path(DATA) / f"worker-{round_}.log", concurrency=2)
        time.sleep(6)  # let it connect
        job, starts = admitted_job(allocation, program, sleep=1)
        app.send_task("scheduler.runner_tasks.launch_job", kwargs={"job_id": job.pk})
        deadline = time.monotonic() + 60
        while TrainingJob.objects.get(pk=job.pk).state == S.ADMITTED and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(random.uniform(0, 0.15))  # somewhere in the launch: before, during or after the processes
        os.kill(worker.process.pid, signal.SIGKILL)
        worker.process.wait()
        job.refresh_from_db()
        point = "handle recorded" if job.backend_handle else ("processes started" if processes(starts) else "claimed")
        job = finish(job)
        started.append(processes(starts))
        key = f"{point} -> {job.state} (attempts {job.launch_attempts})"
        outcomes[key] = outcomes.get(key, 0) + 1
    app.control.purge()
    return {
        "worker_kills": kills,
        "outcomes": outcomes,
        "processes_per_job": sorted(set(started)),
        "jobs_with_extra_processes": sum(1 for n in started if n > 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--launchers", type=int, default=6)
    parser.add_argument("--kills", type=int, default=5)
    options = parser.parse_args()
    if connections["default"].vendor != "postgresql":
        raise SystemExit("The drill needs PostgreSQL: set DATABASE_URL=postgres://.../cg_drill")
    allocation, program = setup()
    figures = {"concurrent": concurrent_rounds(allocation, program, options.rounds, options.launchers)}
    print("concurrent launches:", figures["concurrent"], flush=True)
    if options.kills:
        figures["kills"] = kill_rounds(allocation, program, options.kills)
        print("worker killed during a launch:", figures["kills"], flush=True)
    allocation.refresh_from_db()
    ledger = quota.ledger_balances(allocation)
    cached = {
        "awarded": allocation.awarded,
        "reserved": allocation.reserved,
        "used": allocation.used,
        "held": allocation.held,
    }
    figures["ledger_balances"] = ledger == cached
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
