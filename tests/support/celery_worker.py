"""Start a real Celery worker process for tests, and a client app that talks to its broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from celery import Celery
from kombu import Exchange, Queue

ROOT = Path(__file__).resolve().parents[2]
QUEUES = "celery,scoring,launching,syncing"


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def client_app(broker_url: str, result_backend: str, transport_options: dict | None = None) -> Celery:
    """A bare Celery app that sends to the worker's broker (no Django settings needed)."""
    # Not Celery's current app: tasks and results later in the session must keep the project's app
    # (a probe of a broker a test has since stopped left later tests waiting on a dead result store).
    app = Celery(f"probe-{uuid.uuid4().hex[:6]}", broker=broker_url, backend=result_backend, set_as_current=False)
    # Celery prefers the CELERY_BROKER_URL and CELERY_RESULT_BACKEND environment variables to the
    # URLs given here: a client for a test's private broker sent its ping to the shared one. The read
    # and write URLs and the backend class are taken as given.
    app.conf.broker_read_url = app.conf.broker_write_url = broker_url
    app.backend_cls = result_backend
    app.conf.broker_transport_options = transport_options or {}
    app.conf.task_serializer = "json"
    app.conf.accept_content = ["json"]
    return app


def start_worker(env: dict[str, str], log_path: Path, *, concurrency: int = 4) -> WorkerProcess:
    """Start `celery -A config worker` with the given environment; wait until it answers a ping."""
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--pool=threads",
        f"--concurrency={concurrency}",
        "-Q",
        QUEUES,
        "--without-gossip",
        "--without-mingle",
        "--loglevel=INFO",
        "-n",
        f"test-{uuid.uuid4().hex[:8]}@%h",
    ]
    log = open(log_path, "wb")  # noqa: SIM115 - closed by the child's exit
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return WorkerProcess(process=process, log_path=log_path)


def declare_worker_queues(app: Celery) -> None:
    """Bind the worker's queues on the broker now. kombu's Redis transport drops a message sent to
    an exchange with no queue bound yet: on a fresh or restarted Redis, a ping sent before the worker
    declared its queues never arrived, and the worker seemed never to answer."""
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for name in QUEUES.split(","):
            Queue(name, Exchange(name, type="direct"), routing_key=name).bind(channel).declare()


def wait_for_pong(app: Celery, worker: WorkerProcess, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    declare_worker_queues(app)
    result = app.send_task("portal.tasks.ping")
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            raise RuntimeError(f"Celery worker exited with {worker.process.returncode}:\n{worker.log_tail()}")
        if result.ready():
            assert result.get(timeout=1) == "pong"
            return
        time.sleep(0.2)
    raise TimeoutError(f"Celery worker did not answer within {timeout} s:\n{worker.log_tail()}")


def settle(app: Celery, timeout: float = 60) -> None:
    """Drop the messages earlier tests left waiting and let the worker finish what it holds, so that
    what a test sees the worker do next is its own doing (a late mail from an earlier test's
    submission once arrived inside the next test's window)."""
    app.control.purge()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        inspect = app.control.inspect(timeout=2)
        busy = [tasks for replies in (inspect.active(), inspect.reserved()) for tasks in (replies or {}).values()]
        if not any(busy):
            return
        time.sleep(0.2)
    raise TimeoutError(f"the worker was still busy after {timeout} s")


def worker_env(**overrides: str) -> dict[str, str]:
    env = os.environ.copy()
    env.update(overrides)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    return env


def start_beat(env: dict[str, str], folder: Path) -> WorkerProcess:
    """Start `celery -A config beat` (its schedule file and log in `folder`) with the given environment."""
    command = [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO"]
    command += ["-s", str(folder / "beat-schedule"), "--pidfile", str(folder / "beat.pid")]
    log_path = folder / "beat.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed by the child's exit
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return WorkerProcess(process=process, log_path=log_path)
