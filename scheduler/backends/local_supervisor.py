"""Supervisor of one local job: starts its workers, records how each ended, enforces its deadline
and its stop marker, so a run ends on time even when no Celery worker is left to watch it.

`python scheduler/backends/local_supervisor.py STATE_FILE`. The state file (written by
`LocalBackend.submit` before this starts) holds each worker's command and environment. The
supervisor leads its own session, so its process group is the job's; it records that group in
`supervisor.json` before the first worker starts, so whoever finds the job later can stop
everything it started. Kept free of Django and TensorFlow so it starts in milliseconds.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SUPERVISOR_FILE = "supervisor.json"
STOP_FILE = "stop.json"
KILL_GRACE_SECONDS = 5
POLL_SECONDS = 0.2


def write_atomically(path: Path, data: dict[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data))
    os.replace(temporary, path)


def write_once(path: Path, data: dict[str, Any]) -> bool:
    """Create `path` with `data` unless it exists: complete when it appears, and the first writer wins."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    temporary.write_text(json.dumps(data))
    try:
        os.link(temporary, path)
        return True
    except FileExistsError:
        return False
    finally:
        temporary.unlink()


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


def request_stop(root: Path, reason: str, *, cancelled: bool = False, culprit: int | None = None) -> bool:
    """Ask the job's supervisor to stop every worker; the first reason given is the one kept."""
    return write_once(root / STOP_FILE, {"reason": reason, "cancelled": cancelled, "culprit": culprit})


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: local_supervisor STATE_FILE", file=sys.stderr)
        return 2
    state_path = Path(argv[0])
    state = json.loads(state_path.read_text())
    root = state_path.parent
    # The backend's fallback stop signals the whole group; the supervisor outlives its workers so it
    # can write down how each ended.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Processes a worker leaves behind (forked into the background, even in a new session) become the
    # supervisor's children instead of init's, so it can stop them all when the run ends.
    become_subreaper()
    record: dict[str, Any] = {"supervisor": os.getpid(), "pgid": os.getpgid(0), "pids": [], "started": []}
    write_atomically(root / SUPERVISOR_FILE, record)  # before any worker: nothing can start unrecorded
    if (root / STOP_FILE).exists():
        return 0  # cancelled before anything started
    children: list[subprocess.Popen[bytes]] = []
    for index, worker in enumerate(state["worker_commands"]):
        with open(worker["log"], "ab") as log:
            try:
                child = subprocess.Popen(
                    worker["command"],
                    cwd=state["cwd"],
                    env=worker["env"],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            except OSError as error:
                record_exit(root, state, index, 127, time.time(), f"could not start: {error}")
                request_stop(root, f"Worker {index} could not start: {error}", culprit=index)
                break
        children.append(child)
        record["pids"].append(child.pid)
        record["started"].append(time.time())
        write_atomically(root / SUPERVISOR_FILE, record)
    supervise(root, state, children, record["started"])
    left = stop_leftovers()
    if left:
        write_atomically(root / "leftovers.json", {"stopped": left})
    return 0


PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux: only the workers themselves are stopped
        return False


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def stop_leftovers(rounds: int = 100) -> list[int]:
    """Kill every process still descending from the supervisor once its workers ended: nothing the
    run started outlives it. A killed parent's children come to the supervisor next, hence rounds."""
    stopped: list[int] = []
    for _ in range(rounds):
        left = children_of(os.getpid())
        if not left:
            break
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            if pid not in stopped:
                stopped.append(pid)
        time.sleep(0.05)
        for pid in left:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
    return stopped


def supervise(root: Path, state: dict[str, Any], children: list[subprocess.Popen[bytes]], started: list[float]) -> None:
    """Wait for every worker; stop them all when one fails, at the deadline, or when asked to."""
    ended: dict[int, int] = {}
    terminating_since: float | None = None
    while len(ended) < len(children):
        for index, child in enumerate(children):
            if index not in ended and (code := child.poll()) is not None:
                ended[index] = code
                record_exit(root, state, index, code, started[index], "")
        if len(ended) == len(children):
            break
        if not (root / STOP_FILE).exists():
            failed = sorted(i for i, code in ended.items() if code != 0)
            if failed:
                request_stop(
                    root,
                    f"Worker {failed[0]} exited with code {ended[failed[0]]}; the other workers were stopped.",
                    culprit=failed[0],
                )
            elif time.time() > state["deadline"]:
                request_stop(
                    root,
                    f"Deadline exceeded: the run passed its maximum runtime of "
                    f"{int(state['deadline'] - state['started'])} s and was stopped.",
                )
        if (root / STOP_FILE).exists():
            now = time.monotonic()
            if terminating_since is None:
                terminating_since = now
                signal_workers(children, ended, signal.SIGTERM)
            elif now - terminating_since > KILL_GRACE_SECONDS:
                # TensorFlow may ignore SIGTERM: the grace is over.
                signal_workers(children, ended, signal.SIGKILL)
        time.sleep(POLL_SECONDS)


def signal_workers(children: list[subprocess.Popen[bytes]], ended: dict[int, int], signum: int) -> None:
    for index, child in enumerate(children):
        if index not in ended:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signum)


def record_exit(root: Path, state: dict[str, Any], index: int, code: int, started: float, error: str) -> None:
    path = Path(state["workers_dir"]) / f"worker-{index}.exit"
    write_atomically(path, {"exit_code": code, "started": started, "ended": time.time(), "error": error})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
