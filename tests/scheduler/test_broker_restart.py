"""The broker restarted while jobs are queued and running (issue 18): a private redis-server, a real
Celery worker and beat on it, real training processes; redis is SIGKILLed mid-work and started
again. No job is lost or run twice, the beat's sweep catches up on what the lost messages would
have done, and each allocation's balances equal the sums of its ledger."""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from scheduler import quota
from scheduler.models import Allocation, JobEvent, LedgerEntry, TrainingJob
from tests.conftest import _test_database_url
from tests.scheduler.factories import PoolFactory, job_request, make_allocation
from tests.support.celery_worker import client_app, start_beat, start_worker, wait_for_pong, worker_env
from tests.support.redis_server import RedisServer

S = TrainingJob.State
JOBS, CAPACITY, SLEEP = 6, 2, 4.0
# Notes each start (pid, worker index) in the file its first argument names, then sleeps.
TRAIN = """\
import os, sys, time
with open(sys.argv[1], "a") as starts:
    starts.write(f"{os.getpid()} {os.environ['CG_WORKER_INDEX']}\\n")
time.sleep(float(sys.argv[2]))
"""


def wait_until(condition, timeout: float, what: str, *logs) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        exited = [process for process in logs if process.process.poll() is not None]
        if exited:
            raise AssertionError(f"waiting for {what}, a process exited:\n{exited[0].log_tail(120)}")
        time.sleep(0.3)
    states = list(TrainingJob.objects.order_by("pk").values_list("pk", "state", "failure_reason"))
    raise AssertionError(f"{what} not within {timeout} s: {states}\n" + "\n---\n".join(log.log_tail() for log in logs))


def states() -> list[str]:
    return list(TrainingJob.objects.order_by("pk").values_list("state", flat=True))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("persistent", [False, True], ids=["every-message-lost", "append-only-file-kept"])
def test_a_broker_killed_and_restarted_mid_work_loses_no_job_runs_none_twice_and_keeps_the_ledger(tmp_path, persistent):
    program = tmp_path / "program"
    program.mkdir()
    (program / "train.py").write_text(TRAIN)
    pool = PoolFactory(kind="cpu", capacity=CAPACITY)
    allocation = make_allocation(pool=pool, hours=10)
    starts = [tmp_path / f"starts-{n}" for n in range(JOBS)]
    jobs = [
        quota.submit_job(
            allocation, job_request(workers=1, runtime=300, source_path=str(program), args=[str(path), str(SLEEP)])
        )
        for path in starts
    ]
    broker = RedisServer(tmp_path, persistent=persistent)
    broker.start()
    # Worker, beat and this test's client all on the private broker: the environment the worker
    # and beat read their settings from names it, and the client is built from the same URL.
    env = worker_env(
        CELERY_BROKER_URL=broker.url,
        CELERY_RESULT_BACKEND=broker.url,
        DATABASE_URL=_test_database_url(),
        CG_ARTIFACTS_ROOT=str(settings.CG_ARTIFACTS_ROOT),
        CG_LAUNCH_ON_ADMISSION="true",
        CG_LAUNCH_RECONCILE_SECONDS="10",
    )
    worker = start_worker(env, tmp_path / "worker.log", concurrency=4)
    beat = start_beat(env, tmp_path)
    probe = client_app(broker.url, broker.url, {"visibility_timeout": 65 * 60})
    try:
        wait_for_pong(probe, worker)
        # Beat admits (every 10 s) and the worker launches; kill the broker with jobs both running and queued.
        wait_until(
            lambda: S.RUNNING in states() and S.QUEUED in states(), 60, "a job running beside queued ones", worker, beat
        )
        at_kill = states()
        broker.kill()
        time.sleep(SLEEP + 2)  # the running jobs end with no broker: nobody hears of it yet
        broker.start()
        restarted_at = len(worker.log_path.read_bytes())
        wait_until(
            lambda: all(state in TrainingJob.TERMINAL_STATES for state in states()),
            240,
            "every job ended",
            worker,
            beat,
        )
        assert worker.process.poll() is None and beat.process.poll() is None  # both rode out the restart
        after_restart = worker.log_path.read_bytes()[restarted_at:].decode(errors="replace")
        wait_for_pong(probe, worker)  # the worker is back on the restarted broker
    finally:
        probe.close()
        beat.stop()
        worker.stop()
        broker.kill()

    assert at_kill.count(S.RUNNING) >= 1 and at_kill.count(S.QUEUED) >= 1, at_kill
    # The beat's sweep caught up: it synced and launched after the restart.
    assert "scheduler.runner_tasks.sync_running_jobs" in after_restart, after_restart[-3000:]
    for job, path in zip(jobs, starts, strict=True):
        job.refresh_from_db()
        assert job.state == S.SUCCEEDED, (job.pk, job.state, job.failure_reason)
        assert len(path.read_text().splitlines()) == 1, f"job {job.pk} started {path.read_text()!r}"
        assert list(JobEvent.objects.filter(job=job, to_state=S.ADMITTED).values_list("to_state", flat=True)) == [
            S.ADMITTED
        ]
        charges = list(job.ledger.filter(kind=LedgerEntry.Kind.CHARGE).values_list("seconds", flat=True))
        assert len(charges) == 1 and charges[0] > 0, charges
    allocation = Allocation.objects.get(pk=allocation.pk)
    balances = quota.ledger_balances(allocation)
    assert balances == {key: getattr(allocation, key) for key in balances}
    assert allocation.reserved == 0 and allocation.used == sum(job.charged_seconds for job in jobs) > 0
