"""What the local backend leaves behind: no defunct process under the Celery worker once runs end, and
no TensorFlow CUDA-probe noise in the logs and failure reasons shown to users on a CPU machine."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from config.celery import app
from scheduler import quota
from scheduler.models import TrainingJob
from tests.scheduler.backends.test_runner import wait_for
from tests.scheduler.factories import PoolFactory, job_request, make_allocation

S = TrainingJob.State


def processes() -> dict[int, tuple[int, str, str]]:
    """Every process: pid -> (parent pid, state letter, command line)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # ended while we looked
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        found[int(entry.name)] = (int(parent), state, command or stat.split("(", 1)[1].rsplit(")", 1)[0])
    return found


def descendants(root: int) -> dict[int, tuple[int, str, str]]:
    table = processes()
    found: dict[int, tuple[int, str, str]] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, row in table.items():
            if row[0] == parent and pid not in found:
                found[pid] = row
                frontier.append(pid)
    return found


@pytest.fixture
def quick(tmp_path) -> Path:
    folder = tmp_path / "quick"
    folder.mkdir()
    (folder / "train.py").write_text(
        "import os, sys, time\n"
        "print('worker', os.environ['CG_WORKER_INDEX'], 'up', flush=True)\n"
        "time.sleep(1)\n"
        "sys.exit(3 if '--fail' in sys.argv else 0)\n"
    )
    return folder


@pytest.mark.django_db(transaction=True)
def test_finished_runs_leave_no_defunct_process_under_the_celery_worker(celery_worker, quick):
    pool = PoolFactory(kind="cpu", capacity=8)
    allocation = make_allocation(pool=pool, hours=10)
    jobs = [
        quota.submit_job(allocation, job_request(workers=2, runtime=120, source_path=str(quick), args=args))
        for args in ([], [], ["--fail"])
    ]
    app.send_task("scheduler.tasks.run_admission_cycle", kwargs={"pool_id": pool.pk}).get(timeout=60)
    ended = [wait_for(job, {S.SUCCEEDED, S.FAILED, S.LOST}, timeout=120) for job in jobs]
    assert [job.state for job in ended] == [S.SUCCEEDED, S.SUCCEEDED, S.FAILED], celery_worker.log_tail()
    worker = celery_worker.process.pid
    # The supervisors exit just after the last worker's exit is recorded: give them a moment.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        running = {pid: row for pid, row in descendants(worker).items() if row[1] != "Z"}
        if not running:
            break
        time.sleep(0.2)
    left = descendants(worker)
    defunct = {pid: row for pid, row in left.items() if row[1] == "Z"}
    assert not defunct, f"defunct processes under the Celery worker {worker}: {defunct}"
    assert not left, f"processes still running under the Celery worker {worker}: {left}"
