"""End to end on a real Celery worker: submit, admit, launch, a 2-worker run, charged, collected."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from config.celery import app
from scheduler import quota, runner
from scheduler.backends.local import LocalBackend
from scheduler.models import TrainingJob
from tests.scheduler.factories import HOUR, PoolFactory, job_request, make_allocation

S = TrainingJob.State
DIGITS = Path(__file__).resolve().parents[3] / "examples" / "digits"


def wait_for(job: TrainingJob, states: set[str], timeout: float = 240) -> TrainingJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.state in states:
            return job
        time.sleep(0.5)
    raise AssertionError(
        f"job {job.pk} is {job.state} after {timeout} s; events: {list(job.events.values_list('to_state', 'message'))}"
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_submit_admit_launch_train_charge_and_collect_through_a_real_worker(celery_worker):
    pool = PoolFactory(name="cpu-local", kind="cpu", capacity=4)
    allocation = make_allocation(pool=pool, hours=10)
    job = quota.submit_job(
        allocation,
        job_request(workers=2, runtime=600, source_path=str(DIGITS), args=["--epochs", "3", "--steps-per-epoch", "10"]),
    )
    assert app.send_task("scheduler.tasks.run_admission_cycle", kwargs={"pool_id": pool.pk}).get(timeout=60) == [job.pk]
    job = wait_for(job, {S.SUCCEEDED, S.FAILED, S.LOST}, timeout=240)
    assert job.state == S.SUCCEEDED, (job.failure_reason, celery_worker.log_tail())
    states = list(job.events.values_list("to_state", flat=True))
    assert states == ["queued", "admitted", "launching", "running", "succeeded"]
    allocation.refresh_from_db()
    assert 0 < job.charged_seconds <= 2 * 600 and job.reserved_seconds == 0
    assert (allocation.used, allocation.reserved) == (job.charged_seconds, 0)
    assert quota.ledger_balances(allocation) == {
        "awarded": 10 * HOUR,
        "reserved": 0,
        "used": job.charged_seconds,
        "held": 0,
    }
    root = Path(job.artifacts_dir)
    assert list((root / "logs").rglob("events.out.tfevents.*")) and (root / "model" / "saved_model.pb").exists()
    losses = [
        json.loads(line)["loss"]
        for line in (root / "workers" / "worker-0.log").read_text().splitlines()
        if line.startswith("{") and '"epoch"' in line
    ]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert job.scalar_cache  # the run page's curves were cached when the run ended


@pytest.fixture
def sleeper(tmp_path) -> Path:
    folder = tmp_path / "sleeper"
    folder.mkdir()
    (folder / "train.py").write_text("import time\nprint('up', flush=True)\ntime.sleep(120)\n")
    return folder


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_running_job_stops_it_and_charges_the_time_used(celery_worker, sleeper):
    pool = PoolFactory(kind="cpu", capacity=4)
    allocation = make_allocation(pool=pool, hours=10)
    job = quota.submit_job(allocation, job_request(workers=2, runtime=600, source_path=str(sleeper)))
    app.send_task("scheduler.tasks.run_admission_cycle", kwargs={"pool_id": pool.pk}).get(timeout=60)
    job = wait_for(job, {S.RUNNING}, timeout=60)
    time.sleep(2)
    quota.cancel_job(job)
    job = wait_for(job, {S.CANCELLED, S.FAILED}, timeout=60)
    assert job.state == S.CANCELLED and "Cancelled" in job.failure_reason
    assert 2 * 2 <= job.charged_seconds < 2 * 60
    allocation.refresh_from_db()
    assert allocation.reserved == 0 and allocation.used == job.charged_seconds


@pytest.mark.django_db(transaction=True)
def test_a_launch_delivered_twice_starts_one_run(sleeper):
    pool = PoolFactory(kind="cpu", capacity=4)
    job = quota.submit_job(make_allocation(pool=pool), job_request(workers=2, runtime=60, source_path=str(sleeper)))
    TrainingJob.objects.filter(pk=job.pk).update(state=S.ADMITTED)
    assert runner.launch_job(job.pk) == "launched"
    job.refresh_from_db()
    first = job.backend_handle
    pids = LocalBackend()._load(first)["pids"]
    assert runner.launch_job(job.pk) == "nothing to do"
    job.refresh_from_db()
    assert job.backend_handle == first
    assert LocalBackend()._load(first)["pids"] == pids
    quota.cancel_job(job)
    deadline = time.monotonic() + 30
    while runner.sync_job(job.pk) not in ("cancelled", "nothing to do") and time.monotonic() < deadline:
        time.sleep(0.5)  # as the periodic sync would, until the workers are gone
    job.refresh_from_db()
    assert job.state == S.CANCELLED


@pytest.mark.django_db(transaction=True)
def test_a_job_that_cannot_start_fails_with_the_reason_and_is_charged_nothing(tmp_path):
    pool = PoolFactory(kind="cpu", capacity=4)
    allocation = make_allocation(pool=pool)
    job = quota.submit_job(allocation, job_request(source_path=str(tmp_path / "missing")))
    TrainingJob.objects.filter(pk=job.pk).update(state=S.ADMITTED)
    assert runner.launch_job(job.pk) == "failed to start"
    job.refresh_from_db()
    allocation.refresh_from_db()
    assert job.state == S.FAILED and "does not exist" in job.failure_reason
    assert job.charged_seconds == 0 and allocation.reserved == 0


@pytest.mark.django_db(transaction=True)
def test_the_job_page_shows_each_workers_log_tail_and_the_failure(client, make_user, tmp_path):
    folder = tmp_path / "crash"
    folder.mkdir()
    (folder / "train.py").write_text("import sys\nprint('loading data', flush=True)\nsys.exit(4)\n")
    owner = make_user("owner")
    pool = PoolFactory(kind="cpu", capacity=4)
    from tests.scheduler.factories import ProjectFactory

    allocation = make_allocation(pool=pool, project=ProjectFactory(owner=owner))
    job = quota.submit_job(allocation, job_request(workers=2, runtime=60, source_path=str(folder)))
    TrainingJob.objects.filter(pk=job.pk).update(state=S.ADMITTED)
    runner.launch_job(job.pk)
    deadline = time.monotonic() + 30
    while runner.sync_job(job.pk) not in ("failed", "nothing to do") and time.monotonic() < deadline:
        time.sleep(0.3)
    client.force_login(owner)
    page = client.get(f"/quota/jobs/{job.pk}/").content.decode()
    assert 'data-testid="job-state">failed' in page
    assert "exited with code 4" in page and 'data-testid="worker-log-1"' in page and "loading data" in page


@pytest.mark.django_db(transaction=True)
def test_the_sweep_launches_admitted_jobs_nobody_launched(sleeper):
    from datetime import timedelta

    from django.utils import timezone

    from scheduler.runner_tasks import sync_running_jobs

    pool = PoolFactory(kind="cpu", capacity=4)
    job = quota.submit_job(make_allocation(pool=pool), job_request(workers=1, runtime=60, source_path=str(sleeper)))
    TrainingJob.objects.filter(pk=job.pk).update(state=S.ADMITTED, admitted_at=timezone.now() - timedelta(minutes=5))
    sync_running_jobs()
    job.refresh_from_db()
    assert job.state in (S.LAUNCHING, S.RUNNING) and job.backend_handle
    quota.cancel_job(job)
    deadline = time.monotonic() + 30
    while runner.sync_job(job.pk) not in ("cancelled", "nothing to do") and time.monotonic() < deadline:
        time.sleep(0.3)
