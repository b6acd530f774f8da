"""Exactly once under faults (issue 14): concurrent launches, launchers killed with SIGKILL at each
point of a launch, cancels while launching, deadlines and cancels with no Celery worker alive, and
admission without beat. Real PostgreSQL, Redis, Celery worker and processes; after every test each
allocation's balances equal the sum of its ledger entries."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from scheduler import launches, quota, runner
from scheduler.backends.local import _alive
from scheduler.models import Allocation, LedgerEntry, TrainingJob
from tests.conftest import _test_database_url
from tests.scheduler.factories import PoolFactory, job_request, make_allocation
from tests.support.celery_worker import worker_env

S = TrainingJob.State
ROOT = Path(__file__).resolve().parents[2]
BOUND = timedelta(seconds=2)  # the reconcile bound these tests use (120 s by default)

# A worker that notes its start (pid, index) in the file named by its first argument, sleeps, and
# with "stubborn" ignores SIGTERM as TensorFlow may.
TRAIN = """\
import os, signal, sys, time
if len(sys.argv) > 3 and sys.argv[3] == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
with open(sys.argv[1], "a") as starts:
    starts.write(f"{os.getpid()} {os.environ['CG_WORKER_INDEX']}\\n")
time.sleep(float(sys.argv[2]))
"""

# A launcher in its own OS process: launches, or claims and is SIGKILLed at a chosen point.
LAUNCHER = """\
import os, signal, sys, time
sys.path.insert(0, {root!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from scheduler import launches, runner
from scheduler.backends import get_backend
job_id, mode, at = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
while time.time() < at:
    time.sleep(0.0005)
if mode == "launch":
    print(runner.launch_job(job_id), flush=True)
    sys.exit(0)
claim = launches.claim_launch(job_id)
if mode == "die-after-claim":
    os.kill(os.getpid(), signal.SIGKILL)
# die-after-start: the steps of runner.start_claimed, up to the processes but not the handle.
get_backend(claim.job.pool.backend).submit(launches.spec_for(claim.job))
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.fixture(autouse=True)
def _ledger_balances_after_every_test():
    yield
    for allocation in Allocation.objects.all():
        cached = {
            "awarded": allocation.awarded,
            "reserved": allocation.reserved,
            "used": allocation.used,
            "held": allocation.held,
        }
        assert quota.ledger_balances(allocation) == cached, f"allocation {allocation.pk} is off its ledger"


@pytest.fixture(autouse=True)
def _launch_only_where_the_test_says(settings):
    """A job the sweep returns to admitted is launched by the test, not by a message to the shared
    live worker (which launches what admission hands it, as in production)."""
    settings.CG_LAUNCH_ON_ADMISSION = False


@pytest.fixture
def program(tmp_path) -> Path:
    folder = tmp_path / "program"
    folder.mkdir()
    (folder / "train.py").write_text(TRAIN)
    return folder


def admitted_job(program: Path, starts: Path, *, workers=2, sleep=1.5, runtime=600, stubborn=False, capacity=4):
    pool = PoolFactory(kind="cpu", capacity=capacity)
    allocation = make_allocation(pool=pool, hours=10)
    args = [str(starts), str(sleep), *(["stubborn"] if stubborn else [])]
    request = job_request(workers=workers, runtime=runtime, source_path=str(program), args=args)
    job = quota.submit_job(allocation, request)
    TrainingJob.objects.filter(pk=job.pk).update(state=S.ADMITTED, admitted_at=timezone.now())
    job.refresh_from_db()
    return job


def started_processes(starts: Path, settle: float = 1.0) -> list[tuple[int, int]]:
    time.sleep(settle)  # a worker notes its start a moment after it is spawned
    if not starts.exists():
        return []
    return [(int(pid), int(index)) for pid, index in (line.split() for line in starts.read_text().splitlines())]


def run_to_the_end(job: TrainingJob, timeout: float = 60) -> TrainingJob:
    """Sync the job as the sweep would until it ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runner.sync_job(job.pk)
        job.refresh_from_db()
        if job.is_terminal:
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job.pk} still {job.state} after {timeout} s")


def launcher(job_id: int, mode: str, at: float, tmp_path: Path) -> subprocess.Popen[str]:
    script = tmp_path / "launcher.py"
    script.write_text(LAUNCHER.format(root=str(ROOT)))
    env = worker_env(DATABASE_URL=_test_database_url(), CG_ARTIFACTS_ROOT=str(settings.CG_ARTIFACTS_ROOT))
    return subprocess.Popen(
        [sys.executable, str(script), str(job_id), mode, str(at)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def charges(job: TrainingJob) -> list[int]:
    return list(job.ledger.filter(kind=LedgerEntry.Kind.CHARGE).values_list("seconds", flat=True))


@pytest.mark.django_db(transaction=True)
def test_eight_launches_of_one_job_at_once_in_threads_start_one_run_charged_once(program, tmp_path):
    starts = tmp_path / "starts"
    job = admitted_job(program, starts)
    barrier = threading.Barrier(8)
    results: list[str] = []

    def launch() -> None:
        try:
            barrier.wait()
            results.append(runner.launch_job(job.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=launch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["launched"] + ["nothing to do"] * 7
    assert sorted(index for _, index in started_processes(starts)) == [0, 1]
    job = run_to_the_end(job)
    assert job.state == S.SUCCEEDED and job.launch_attempts == 1
    assert len(charges(job)) == 1 and 2 * 1 <= job.charged_seconds < 2 * 30
    assert len(started_processes(starts, settle=0)) == 2


@pytest.mark.django_db(transaction=True)
def test_two_processes_launching_one_job_at_the_same_instant_start_one_run(program, tmp_path):
    starts = tmp_path / "starts"
    job = admitted_job(program, starts)
    at = time.time() + 6  # both have imported Django by then and wait for the same instant
    launchers = [launcher(job.pk, "launch", at, tmp_path) for _ in range(2)]
    outputs = [process.communicate(timeout=60) for process in launchers]
    assert sorted(out.strip() for out, _ in outputs) == ["launched", "nothing to do"], outputs
    assert sorted(index for _, index in started_processes(starts)) == [0, 1]
    job = run_to_the_end(job)
    assert job.state == S.SUCCEEDED and len(charges(job)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_launcher_killed_between_claiming_and_the_first_process_is_launched_again_within_the_bound(program, tmp_path):
    starts = tmp_path / "starts"
    job = admitted_job(program, starts)
    process = launcher(job.pk, "die-after-claim", time.time(), tmp_path)
    assert process.wait(timeout=60) == -signal.SIGKILL
    job.refresh_from_db()
    assert job.state == S.LAUNCHING and not job.backend_handle and not started_processes(starts)
    assert runner.reconcile_stale_launches(BOUND) == {}  # within the bound its launcher may be at work
    time.sleep(BOUND.total_seconds())
    assert runner.reconcile_stale_launches(BOUND) == {job.pk: "returned to admitted"}
    job.refresh_from_db()
    assert job.state == S.ADMITTED and job.reserved_seconds == job.worst_case_seconds
    assert runner.launch_job(job.pk) == "launched"
    job = run_to_the_end(job)
    assert job.state == S.SUCCEEDED and job.launch_attempts == 2 and len(charges(job)) == 1
    assert sorted(index for _, index in started_processes(starts, settle=0)) == [0, 1]
    timeline = list(job.events.values_list("to_state", flat=True))
    assert timeline == ["queued", "launching", "admitted", "launching", "running", "succeeded"]


@pytest.mark.django_db(transaction=True)
def test_a_launcher_killed_between_the_first_process_and_the_handle_is_adopted_not_run_twice(program, tmp_path):
    starts = tmp_path / "starts"
    job = admitted_job(program, starts, sleep=4)
    process = launcher(job.pk, "die-after-start", time.time(), tmp_path)
    assert process.wait(timeout=60) == -signal.SIGKILL
    job.refresh_from_db()
    assert job.state == S.LAUNCHING and not job.backend_handle
    assert len(started_processes(starts)) == 2  # the run goes on without its launcher
    assert runner.launch_job(job.pk) == "nothing to do"  # a redelivered launch message
    time.sleep(BOUND.total_seconds())
    assert runner.reconcile_stale_launches(BOUND) == {job.pk: "adopted"}
    job = run_to_the_end(job)
    assert job.state == S.SUCCEEDED and len(charges(job)) == 1 and job.charged_seconds >= 2 * 4
    assert len(started_processes(starts, settle=0)) == 2


@pytest.mark.django_db(transaction=True)
def test_a_cancel_while_launching_starts_nothing_afterwards_and_charges_nothing(program, tmp_path):
    starts = tmp_path / "starts"
    job = admitted_job(program, starts)
    claim = launches.claim_launch(job.pk)
    assert claim is not None and launches.claim_launch(job.pk) is None
    quota.cancel_job(job)
    assert runner.start_claimed(claim) == "cancelled"
    job.refresh_from_db()
    assert job.state == S.CANCELLED and job.charged_seconds == 0 and job.reserved_seconds == 0
    assert "nothing ran" in job.failure_reason
    assert runner.launch_job(job.pk) == "nothing to do"  # the launch message coming back later
    assert not started_processes(starts) and not Path(settings.CG_ARTIFACTS_ROOT, "jobs", str(job.pk)).exists()


@pytest.mark.django_db(transaction=True)
def test_a_cancel_of_a_launch_whose_launcher_died_is_finished_by_the_sweep_charging_nothing(program, tmp_path):
    starts = tmp_path / "starts"
    job = admitted_job(program, starts)
    assert launcher(job.pk, "die-after-claim", time.time(), tmp_path).wait(timeout=60) == -signal.SIGKILL
    quota.cancel_job(job)
    job.refresh_from_db()
    assert job.state == S.LAUNCHING and job.cancel_requested
    time.sleep(BOUND.total_seconds())
    assert runner.reconcile_stale_launches(BOUND) == {job.pk: "cancelled"}
    job.refresh_from_db()
    assert job.state == S.CANCELLED and job.charged_seconds == 0
    assert runner.launch_job(job.pk) == "nothing to do" and not started_processes(starts)
    allocation = Allocation.objects.get(pk=job.allocation_id)
    assert (allocation.reserved, allocation.used) == (0, 0)


@pytest.mark.django_db(transaction=True)
def test_a_launch_whose_launcher_keeps_dying_fails_after_the_attempts_saying_why(program, tmp_path, settings):
    settings.CG_LAUNCH_ATTEMPTS = 2
    job = admitted_job(program, tmp_path / "starts")
    for attempt in (1, 2):
        assert launcher(job.pk, "die-after-claim", time.time(), tmp_path).wait(timeout=60) == -signal.SIGKILL
        time.sleep(BOUND.total_seconds())
        outcome = runner.reconcile_stale_launches(BOUND)[job.pk]
        assert outcome == ("returned to admitted" if attempt == 1 else "failed")
    job.refresh_from_db()
    assert job.state == S.FAILED and "2 times" in job.failure_reason and job.charged_seconds == 0


@pytest.mark.django_db(transaction=True)
def test_with_no_worker_alive_the_supervisor_stops_a_run_at_its_deadline_even_if_sigterm_is_ignored(program, tmp_path):
    starts = tmp_path / "starts"
    job = admitted_job(program, starts, sleep=120, runtime=3, stubborn=True)
    assert runner.launch_job(job.pk) == "launched"
    pids = [pid for pid, _ in started_processes(starts)]
    assert len(pids) == 2
    # Nobody syncs: no Celery worker, no sweep. Deadline 3 s + grace 5 s.
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in pids)
    job = run_to_the_end(job)
    assert job.state == S.FAILED and "Deadline exceeded" in job.failure_reason
    assert 2 * 3 <= job.charged_seconds <= 2 * (3 + 5 + 3)


@pytest.mark.django_db(transaction=True)
def test_with_no_worker_alive_a_cancel_reaches_the_supervisor_and_stops_the_run(program, tmp_path):
    starts = tmp_path / "starts"
    job = admitted_job(program, starts, sleep=120)
    assert runner.launch_job(job.pk) == "launched"
    pids = [pid for pid, _ in started_processes(starts)]
    quota.cancel_job(job)  # on commit: the stop marker for the supervisor (and a sync nobody takes)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in pids)
    job = run_to_the_end(job)
    assert job.state == S.CANCELLED and 0 < job.charged_seconds < 2 * 15


@pytest.mark.django_db(transaction=True)
def test_the_timeline_is_in_the_order_the_portal_learnt_things_not_the_backends_clock(program, tmp_path):
    job = admitted_job(program, tmp_path / "starts")
    claim = launches.claim_launch(job.pk)
    assert claim is not None
    started = timezone.now() - timedelta(seconds=5)
    # A short run learnt only once it ended: its start is recorded now, its end at the backend's time.
    quota.mark_started(job, at=started)
    quota.finish_job(job, S.SUCCEEDED, worker_seconds=[2.0, 2.0], ended_at=started + timedelta(seconds=2))
    events = list(job.events.all())
    assert [e.to_state for e in events] == ["queued", "launching", "running", "succeeded"]
    assert events[-1].at < events[-2].at  # by the backend's clock it ended before we learnt it started


@pytest.mark.django_db(transaction=True)
def test_without_beat_a_submitted_job_is_admitted_within_seconds_and_the_next_when_it_ends(
    celery_worker, program, tmp_path, settings
):
    from config.celery import app
    from tests.support.celery_worker import settle

    settle(app)
    settings.CG_ADMIT_ON_SUBMIT = True
    pool = PoolFactory(kind="cpu", capacity=2)
    allocation = make_allocation(pool=pool, hours=10)
    first_starts, second_starts = tmp_path / "first", tmp_path / "second"

    def submit(starts: Path, sleep: float) -> TrainingJob:
        request = job_request(workers=2, runtime=300, source_path=str(program), args=[str(starts), str(sleep)])
        return quota.submit_job(allocation, request)

    first = submit(first_starts, 3)
    second = submit(second_starts, 1)  # waits for the first's accelerators
    submitted = time.monotonic()
    while TrainingJob.objects.get(pk=first.pk).state in (S.QUEUED, S.ADMITTED) and time.monotonic() < submitted + 15:
        time.sleep(0.1)
    admitted_after = time.monotonic() - submitted
    assert TrainingJob.objects.get(pk=first.pk).state in (S.LAUNCHING, S.RUNNING, S.SUCCEEDED), celery_worker.log_tail()
    assert admitted_after < 10  # beat is not running: the submission's own admission cycle did it
    deadline = time.monotonic() + 90
    while not TrainingJob.objects.get(pk=second.pk).is_terminal and time.monotonic() < deadline:
        time.sleep(0.3)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == (S.SUCCEEDED, S.SUCCEEDED), celery_worker.log_tail()
    assert second.admitted_at >= first.finished_at - timedelta(seconds=1)  # admitted when the first ended
    print(f"\nadmitted {admitted_after:.2f} s after submission, with no beat")


@pytest.mark.django_db(transaction=True)
def test_six_launch_messages_for_one_job_on_a_real_worker_start_one_run(celery_worker, program, tmp_path):
    from config.celery import app
    from tests.support.celery_worker import settle

    settle(app)
    starts = tmp_path / "starts"
    job = admitted_job(program, starts)
    results = [app.send_task("scheduler.runner_tasks.launch_job", kwargs={"job_id": job.pk}) for _ in range(6)]
    assert sorted(r.get(timeout=60) for r in results) == ["launched"] + ["nothing to do"] * 5
    deadline = time.monotonic() + 60
    while not TrainingJob.objects.get(pk=job.pk).is_terminal and time.monotonic() < deadline:
        time.sleep(0.3)
    job.refresh_from_db()
    assert job.state == S.SUCCEEDED and len(charges(job)) == 1
    assert sorted(index for _, index in started_processes(starts, settle=0)) == [0, 1]
