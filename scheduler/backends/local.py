"""The local backend: one process per worker on loopback, for a single trusted operator.

It runs the repository's code with the portal's rights (the README says so). Per job: free
loopback ports in TF_CONFIG, the snapshot as working directory, a log file per worker, accelerator
slots as CUDA_VISIBLE_DEVICES, and a state file so any Celery worker process can answer for the
job. The state file is created exclusively and carries the launch token: a second submit of the
same token returns the same handle, and no two launches of one job ever both start processes. A
per-job supervisor (local_supervisor.py, its own process group) starts the workers, records how
each ended, and stops them all when one fails, at the deadline, or when a stop is requested, even
if no Celery worker is alive.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scheduler.backends import RunStatus
from scheduler.backends.local_supervisor import (
    KILL_GRACE_SECONDS,
    STOP_FILE,
    SUPERVISOR_FILE,
    read_json,
    request_stop,
    write_once,
)
from scheduler.contract import JobSpec, worker_environment
from scheduler.tensorflow_noise import QUIET_TENSORFLOW, without_start_up_noise

STATE_FILE = "local-backend.json"
# Only these of the portal's variables reach the training code.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
SUPERVISOR = Path(__file__).with_name("local_supervisor.py")
# How long submit waits for the supervisor to record its workers, and how long a state file with no
# supervisor record may be "pending" before the run counts as never started.
SUPERVISOR_START_SECONDS = 20


def free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def reap_when_done(process: subprocess.Popen[bytes]) -> None:
    """Collect the supervisor's exit status as soon as it ends, in a thread of the process that started it.

    Nothing else waits for it: a dropped Popen is only reaped when that process next starts one, so a
    finished run's supervisor stayed a defunct process under the Celery worker until the next launch.
    If this process ends first, the supervisor passes to init, which reaps it.
    """
    threading.Thread(target=process.wait, name=f"reap-supervisor-{process.pid}", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by the process that started it) is not alive.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _when(timestamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp else None


class LocalBackend:
    name = "local"

    def _state_path(self, spec_or_handle: JobSpec | dict[str, Any]) -> Path:
        if isinstance(spec_or_handle, JobSpec):
            return spec_or_handle.artifacts.root / STATE_FILE
        return Path(spec_or_handle["state_file"])

    def _handle(self, state_path: Path) -> dict[str, Any]:
        return {"backend": self.name, "state_file": str(state_path)}

    def _load(self, handle: dict[str, Any]) -> dict[str, Any]:
        """The job's state with what its supervisor recorded (pgid, worker pids) merged in."""
        path = self._state_path(handle)
        state = json.loads(path.read_text())
        supervisor = read_json(path.parent / SUPERVISOR_FILE)
        state["supervisor"] = supervisor["supervisor"] if supervisor else None
        state["pgid"] = supervisor["pgid"] if supervisor else None
        state["pids"] = supervisor["pids"] if supervisor else []
        state["stop"] = read_json(path.parent / STOP_FILE)
        return state

    def find(self, spec: JobSpec) -> dict[str, Any] | None:
        """The handle of the run this launch token started, if its supervisor ever ran; else None."""
        path = self._state_path(spec)
        state = read_json(path)
        if state is None or state.get("token") != spec.token or not (path.parent / SUPERVISOR_FILE).exists():
            return None
        return self._handle(path)

    def submit(self, spec: JobSpec) -> dict[str, Any]:
        state_path = self._state_path(spec)
        existing = read_json(state_path)
        if existing is not None:
            if existing.get("token") == spec.token:
                return self._await_supervisor(state_path)  # a retried launch of the same claim
            self._set_aside(spec, state_path)
        source = Path(spec.source_path)
        if not spec.source_path or not source.is_dir():
            raise ValueError(f"The job's source folder {spec.source_path or '(none)'} does not exist.")
        entrypoint = (source / spec.entrypoint).resolve()
        if source.resolve() not in entrypoint.parents or not entrypoint.is_file():
            raise ValueError(f"The entrypoint {spec.entrypoint} is not a file inside the repository.")
        for folder in (
            spec.artifacts.model.parent,
            spec.artifacts.logs,
            spec.artifacts.checkpoints,
            spec.artifacts.workers,
        ):
            folder.mkdir(parents=True, exist_ok=True)
        state = self._plan(spec, source, entrypoint)
        # The exclusive create is the local claim: of two submits racing with different tokens, one
        # starts processes; the other sees the winner's token and starts nothing.
        if not write_once(state_path, state):
            winner = read_json(state_path) or {}
            if winner.get("token") == spec.token:
                return self._await_supervisor(state_path)
            raise RuntimeError(f"Another launch of job {spec.job_id} started it first; this one starts nothing.")
        with open(spec.artifacts.workers / "supervisor.log", "ab") as log:
            supervisor = subprocess.Popen(
                [sys.executable, str(SUPERVISOR), str(state_path)],
                cwd=source,
                env={key: os.environ[key] for key in INHERITED if key in os.environ},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the job's, outliving this Celery worker
            )
        reap_when_done(supervisor)
        return self._await_supervisor(state_path)

    def _plan(self, spec: JobSpec, source: Path, entrypoint: Path) -> dict[str, Any]:
        """The state file: each worker's command and environment, the deadline and the token."""
        addresses = [f"127.0.0.1:{port}" for port in free_ports(spec.workers)]
        base_env = {key: os.environ[key] for key in INHERITED if key in os.environ}
        base_env.update({"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(source)})
        base_env.update(QUIET_TENSORFLOW)
        commands = []
        for index in range(spec.workers):
            env = {**base_env, **worker_environment(spec, index, addresses)}
            if spec.pool.kind == "gpu" and os.environ.get("CG_LOCAL_GPUS"):
                # Accelerator slots: worker i gets its own devices out of the host's.
                devices = os.environ["CG_LOCAL_GPUS"].split(",")
                start = index * spec.accelerators_per_worker
                env["CUDA_VISIBLE_DEVICES"] = ",".join(devices[start : start + spec.accelerators_per_worker])
            else:
                env["CUDA_VISIBLE_DEVICES"] = ""
            commands.append(
                {
                    "command": [spec.python or sys.executable, str(entrypoint), *spec.args],
                    "env": env,
                    "log": str(spec.artifacts.workers / f"worker-{index}.log"),
                }
            )
        now = time.time()
        return {
            "job_id": spec.job_id,
            "token": spec.token,
            "workers": spec.workers,
            "addresses": addresses,
            "cwd": str(source),
            "worker_commands": commands,
            "started": now,
            "deadline": now + spec.max_runtime_seconds,
            "workers_dir": str(spec.artifacts.workers),
        }

    def _await_supervisor(self, state_path: Path) -> dict[str, Any]:
        """The handle, once the supervisor has recorded its process group and every worker."""
        deadline = time.monotonic() + SUPERVISOR_START_SECONDS
        while time.monotonic() < deadline:
            record = read_json(state_path.parent / SUPERVISOR_FILE)
            if record and (
                len(record["pids"]) >= json.loads(state_path.read_text())["workers"]
                or (state_path.parent / STOP_FILE).exists()
            ):
                break
            time.sleep(0.02)
        return self._handle(state_path)

    def _set_aside(self, spec: JobSpec, state_path: Path) -> None:
        """A run of another launch token (an earlier claim the sweep gave up on, or a reset database):
        stop whatever it still runs, then keep its folder aside and start afresh."""
        handle = self._handle(state_path)
        if (state_path.parent / SUPERVISOR_FILE).exists():
            with contextlib.suppress(OSError, ValueError, KeyError):
                self._stop(handle, "Superseded by a later launch of the same job.")
        spec.artifacts.root.rename(spec.artifacts.root.with_name(f"{spec.job_id}.stale-{time.time():.0f}"))

    def _exits(self, state: dict[str, Any]) -> list[dict[str, Any] | None]:
        return [read_json(Path(state["workers_dir"]) / f"worker-{index}.exit") for index in range(state["workers"])]

    def _workers_alive(self, state: dict[str, Any]) -> bool:
        exits = self._exits(state)
        return any(exits[i] is None and _alive(pid) for i, pid in enumerate(state["pids"]))

    def _stop(
        self, handle: dict[str, Any], reason: str, *, cancelled: bool = False, culprit: int | None = None
    ) -> None:
        """Record why the run stops and see every worker gone: by its supervisor if it is alive
        (it signals, waits the grace, then kills), else by signalling the job's process group."""
        root = self._state_path(handle).parent
        request_stop(root, reason, cancelled=cancelled, culprit=culprit)
        state = self._load(handle)
        if state["supervisor"] and _alive(state["supervisor"]):
            deadline = time.monotonic() + KILL_GRACE_SECONDS + 3
            while time.monotonic() < deadline and _alive(state["supervisor"]):
                time.sleep(0.1)
            if not _alive(state["supervisor"]):
                return
        if state["pgid"] is None:
            return
        try:
            os.killpg(state["pgid"], signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + KILL_GRACE_SECONDS
        while time.monotonic() < deadline and self._workers_alive(state):
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(state["pgid"], signal.SIGKILL)

    def request_cancel(self, handle: dict[str, Any]) -> None:
        """Ask the supervisor to stop the run, without waiting (the web process may call this)."""
        request_stop(self._state_path(handle).parent, "Cancelled at the owner's request.", cancelled=True)

    def status(self, handle: dict[str, Any]) -> RunStatus:
        state = self._load(handle)
        now = time.time()
        started = _when(state["started"])
        if state["supervisor"] is None:
            if now - state["started"] < SUPERVISOR_START_SECONDS:
                return RunStatus("pending")
            return RunStatus(
                "lost", started, _when(now), [], reason="The run's supervisor never started: no worker ran."
            )
        exits = self._exits(state)
        supervised = _alive(state["supervisor"])
        launched = range(len(state["pids"]))  # workers that were ever started
        running = [i for i in launched if exits[i] is None and (supervised or _alive(state["pids"][i]))]
        vanished = [i for i in launched if exits[i] is None and i not in running]
        codes = {i: e["exit_code"] for i, e in enumerate(exits) if e is not None}
        failed = [i for i, code in codes.items() if code != 0]
        stop = state["stop"]
        if running and not stop:
            # The supervisor enforces these itself; this is the fallback if it is gone or stuck.
            if now > state["deadline"] + KILL_GRACE_SECONDS + 10:
                self._stop(
                    handle,
                    f"Deadline exceeded: the run passed its maximum runtime of "
                    f"{int(state['deadline'] - state['started'])} s and was stopped.",
                )
                return self.status(handle)
            if not supervised:
                self._stop(handle, "The job's supervisor died (killed?); its workers were stopped.")
                return self.status(handle)
        if supervised and len(state["pids"]) < state["workers"] and not stop:
            return RunStatus("pending")  # the supervisor is still starting its workers
        if running:
            return RunStatus("running", started_at=started)
        starts = [e["started"] if e else state["started"] for e in exits]
        ends = [e["ended"] if e else now for e in exits]
        seconds = [max(ends[i] - starts[i], 0.0) if i in launched else 0.0 for i in range(state["workers"])]
        ended = _when(max(ends))
        if vanished and not stop:
            if all(exit is None for exit in exits):  # nothing recorded an end: the host went away
                return RunStatus(
                    "lost",
                    started,
                    ended,
                    seconds,
                    reason="The job's workers vanished without an exit status (was the host restarted?).",
                )
            return RunStatus(
                "failed", started, ended, seconds, reason=f"Worker {vanished[0]} died without an exit status (killed?)."
            )
        if stop and stop["cancelled"]:
            return RunStatus("cancelled", started, ended, seconds, reason=stop["reason"])
        if stop:
            culprit = stop.get("culprit")
            code = exits[culprit]["exit_code"] if culprit is not None and exits[culprit] else None
            reason = stop["reason"]
            if culprit is not None:
                reason += "\n" + self.log_tails(handle, 10).get(culprit, "")
            return RunStatus("failed", started, ended, seconds, exit_code=code, reason=reason.strip())
        if failed:
            first = failed[0]
            tail = self.log_tails(handle, 10).get(first, "")
            return RunStatus(
                "failed",
                started,
                ended,
                seconds,
                exit_code=codes[first],
                reason=f"Worker {first} exited with code {codes[first]}.\n{tail}".strip(),
            )
        return RunStatus("succeeded", started, ended, seconds, exit_code=0)

    def cancel(self, handle: dict[str, Any]) -> None:
        self._stop(handle, "Cancelled at the owner's request.", cancelled=True)

    def log_tails(self, handle: dict[str, Any], lines: int = 20) -> dict[int, str]:
        state = self._load(handle)
        tails = {}
        for index in range(state["workers"]):
            path = Path(state["workers_dir"]) / f"worker-{index}.log"
            if path.exists():
                with path.open("rb") as log:
                    log.seek(max(path.stat().st_size - 64 * 1024, 0))
                    text = log.read().decode("utf-8", errors="replace")
                shown = without_start_up_noise(text, gpu=self._had_gpu(state, index))
                tails[index] = "\n".join(shown.splitlines()[-lines:])
        return tails

    @staticmethod
    def _had_gpu(state: dict[str, Any], index: int) -> bool:
        """Whether worker `index` was given GPUs (CUDA_VISIBLE_DEVICES empty: it was not)."""
        commands = state.get("worker_commands") or []
        env = commands[index].get("env", {}) if index < len(commands) else {}
        return bool(env.get("CUDA_VISIBLE_DEVICES"))
