"""Training backends: one small interface, chosen per pool (`AcceleratorPool.backend`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from scheduler.contract import JobSpec


@dataclass
class RunStatus:
    """What a backend knows about a run: its phase, per-worker times and why it ended."""

    phase: str  # pending, running, succeeded, failed, cancelled, lost
    started_at: datetime | None = None
    ended_at: datetime | None = None
    worker_seconds: list[float] = field(default_factory=list)
    exit_code: int | None = None
    reason: str = ""

    @property
    def ended(self) -> bool:
        return self.phase in ("succeeded", "failed", "cancelled", "lost")


class Backend(Protocol):
    name: str

    def submit(self, spec: JobSpec) -> dict[str, Any]:
        """Start the run; submitting the same job again returns the same handle, starting nothing."""

    def find(self, spec: JobSpec) -> dict[str, Any] | None:
        """The handle of what a submit of this spec (its launch token) started, or None if nothing."""

    def status(self, handle: dict[str, Any]) -> RunStatus: ...

    def cancel(self, handle: dict[str, Any]) -> None: ...

    def log_tails(self, handle: dict[str, Any], lines: int = 20) -> dict[int, str]: ...


def get_backend(name: str) -> Backend:
    if name == "local":
        from scheduler.backends.local import LocalBackend

        return LocalBackend()
    if name == "kubernetes":
        from django.conf import settings

        from scheduler.backends.kubernetes import KubernetesBackend

        # gs:// or s3:// for artifacts; empty: the shared "computegrant-artifacts" volume.
        return KubernetesBackend(artifact_uri=getattr(settings, "CG_KUBERNETES_ARTIFACT_URI", ""))
    raise LookupError(f"No training backend named {name!r} is available on this installation.")
