"""A private redis-server for tests that kill and restart their broker (never the shared 6379)."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RedisServer:
    """redis-server on 127.0.0.1:`port`, its files in `folder`; `persistent` keeps an append-only
    file (fsync on every write) so what was queued survives a restart, as a production broker's would."""

    folder: Path
    persistent: bool = False
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20) -> None:
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *persistence]
        command += ["--dir", str(self.folder), "--protected-mode", "yes"]
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 - closed by the child's exit
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_timeout=1).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.1)
        raise TimeoutError(f"redis-server on port {self.port} did not answer: {self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL, as a crashed or evicted broker: no shutdown save, connections cut mid-command."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 20) -> str:
        path = self.folder / "redis.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
