"""The local backend: one process per worker on loopback, for a single trusted operator.

It runs the repository's code with the portal's rights (the README says so). Per job: free
loopback ports in TF_CONFIG, the snapshot as working directory, one process group, a log file per
worker, accelerator slots as CUDA_VISIBLE_DEVICES, and a state file so any Celery worker process
can answer for the job. When one worker fails the others are stopped; past the deadline all are.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scheduler.backends import RunStatus
from scheduler.contract import JobSpec, worker_environment

STATE_FILE = "local-backend.json"
# Only these of the portal's variables reach the training code.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
KILL_GRACE_SECONDS = 5
SUPERVISOR = Path(__file__).with_name("local_worker.py")


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

    def _load(self, handle: dict[str, Any]) -> dict[str, Any]:
        return json.loads(self._state_path(handle).read_text())

    def _save(self, path: Path, state: dict[str, Any]) -> None:
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state))
        temporary.replace(path)

    def submit(self, spec: JobSpec) -> dict[str, Any]:
        state_path = self._state_path(spec)
        if state_path.exists():
            if json.loads(state_path.read_text()).get("token") == spec.token:
                return {"backend": self.name, "state_file": str(state_path)}  # a retried launch
            # Left by another run with the same id (a reset database): keep it aside, start afresh.
            spec.artifacts.root.rename(spec.artifacts.root.with_name(f"{spec.job_id}.stale-{time.time():.0f}"))
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
        addresses = [f"127.0.0.1:{port}" for port in free_ports(spec.workers)]
        base_env = {key: os.environ[key] for key in INHERITED if key in os.environ}
        base_env.update({"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(source)})
        pids: list[int] = []
        group = 0
        for index in range(spec.workers):
            env = {**base_env, **worker_environment(spec, index, addresses)}
            if spec.pool.kind == "gpu" and os.environ.get("CG_LOCAL_GPUS"):
                # Accelerator slots: worker i gets its own devices out of the host's.
                devices = os.environ["CG_LOCAL_GPUS"].split(",")
                start = index * spec.accelerators_per_worker
                env["CUDA_VISIBLE_DEVICES"] = ",".join(devices[start : start + spec.accelerators_per_worker])
            else:
                env["CUDA_VISIBLE_DEVICES"] = ""
            log = open(spec.artifacts.workers / f"worker-{index}.log", "ab")  # noqa: SIM115 - owned by the child
            command = [
                sys.executable,
                str(SUPERVISOR),
                str(spec.artifacts.workers / f"worker-{index}.exit"),
                "--",
                sys.executable,
                str(entrypoint),
                *spec.args,
            ]
            process = subprocess.Popen(
                command,
                cwd=source,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                process_group=0 if index == 0 else group,
            )
            log.close()
            if index == 0:
                group = process.pid
            pids.append(process.pid)
        state = {
            "job_id": spec.job_id,
            "token": spec.token,
            "pgid": group,
            "pids": pids,
            "addresses": addresses,
            "started": time.time(),
            "deadline": time.time() + spec.max_runtime_seconds,
            "workers_dir": str(spec.artifacts.workers),
            "cancelled": False,
            "stopped_reason": "",
        }
        self._save(state_path, state)
        return {"backend": self.name, "state_file": str(state_path)}

    def _exits(self, state: dict[str, Any]) -> list[dict[str, Any] | None]:
        exits = []
        for index in range(len(state["pids"])):
            path = Path(state["workers_dir"]) / f"worker-{index}.exit"
            exits.append(json.loads(path.read_text()) if path.exists() else None)
        return exits

    def _stop(
        self, handle: dict[str, Any], reason: str, *, cancelled: bool = False, culprit: int | None = None
    ) -> None:
        state = self._load(handle)
        if not state["stopped_reason"]:
            state["stopped_reason"] = reason
            state["cancelled"] = cancelled
            state["culprit"] = culprit
            self._save(self._state_path(handle), state)
        try:
            os.killpg(state["pgid"], signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + KILL_GRACE_SECONDS
        while time.monotonic() < deadline and any(_alive(pid) for pid in state["pids"]):
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(state["pgid"], signal.SIGKILL)

    def status(self, handle: dict[str, Any]) -> RunStatus:
        state = self._load(handle)
        exits = self._exits(state)
        now = time.time()
        running = [i for i, pid in enumerate(state["pids"]) if exits[i] is None and _alive(pid)]
        vanished = [i for i, pid in enumerate(state["pids"]) if exits[i] is None and not _alive(pid)]
        codes = {i: e["exit_code"] for i, e in enumerate(exits) if e is not None}
        failed = [i for i, code in codes.items() if code != 0]
        if running and now > state["deadline"] and not state["stopped_reason"]:
            self._stop(
                handle,
                f"Deadline exceeded: the run passed its maximum runtime of "
                f"{int(state['deadline'] - state['started'])} s and was stopped.",
            )
            return self.status(handle)
        if running and failed and not state["stopped_reason"]:
            first = failed[0]
            self._stop(
                handle,
                f"Worker {first} exited with code {codes[first]}; the other workers were stopped.",
                culprit=first,
            )
            return self.status(handle)
        if running and vanished and not state["stopped_reason"]:
            self._stop(
                handle,
                f"Worker {vanished[0]} died without an exit status (killed?); the other workers were stopped.",
                culprit=vanished[0],
            )
            return self.status(handle)
        started = _when(state["started"])
        if running:
            return RunStatus("running", started_at=started)
        ends = [e["ended"] if e else now for e in exits]
        seconds = [max(end - state["started"], 0.0) for end in ends]
        ended = _when(max(ends))
        if vanished and not state["stopped_reason"]:
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
        if state["cancelled"]:
            return RunStatus("cancelled", started, ended, seconds, reason=state["stopped_reason"])
        if state["stopped_reason"]:
            culprit = state.get("culprit")
            code = exits[culprit]["exit_code"] if culprit is not None and exits[culprit] else None
            reason = state["stopped_reason"]
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
        for index in range(len(state["pids"])):
            path = Path(state["workers_dir"]) / f"worker-{index}.log"
            if path.exists():
                with path.open("rb") as log:
                    log.seek(max(path.stat().st_size - 64 * 1024, 0))
                    text = log.read().decode("utf-8", errors="replace")
                tails[index] = "\n".join(text.splitlines()[-lines:])
        return tails
