"""The runner: turns admitted jobs into runs on their pool's backend and brings the results back.

Every function re-reads the job and does nothing when its work is done, so Celery may deliver its
tasks twice. Quota moves only through scheduler.quota (mark_launching / mark_started / finish_job).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.utils import timezone

from scheduler import quota, sources
from scheduler.backends import RunStatus, get_backend
from scheduler.contract import JobSpec, job_artifact_paths
from scheduler.models import TrainingJob

S = TrainingJob.State
log = logging.getLogger(__name__)
OUTCOMES = {"succeeded": S.SUCCEEDED, "failed": S.FAILED, "cancelled": S.CANCELLED, "lost": S.LOST}


def launch_job(job_id: int) -> str:
    """Start an admitted job. A retried launch finds the run it started instead of starting another."""
    job = TrainingJob.objects.select_related("pool", "snapshot").filter(pk=job_id).first()
    if job is None or job.state not in (S.ADMITTED, S.LAUNCHING):
        return "nothing to do"
    spec = JobSpec.from_job(job)
    try:
        backend = get_backend(job.pool.backend)
        job = quota.mark_launching(job)
        spec = sources.prepare(job, spec)  # the recorded commit's files, copied for this run
        handle = backend.submit(spec)
    except (LookupError, ValueError, OSError) as error:
        sources.discard(job)
        quota.finish_job(job, S.FAILED, worker_seconds=[], reason=f"The run could not be started: {error}")
        return "failed to start"
    TrainingJob.objects.filter(pk=job.pk).update(backend_handle=handle, artifacts_dir=str(spec.artifacts.root))
    return "launched"


def collected_artifacts(job_id: int) -> dict[str, Any]:
    """Where the run's event files and SavedModel are, for the job page and run_example."""
    paths = job_artifact_paths(job_id)
    return {
        "event_files": sorted(str(p) for p in paths.logs.rglob("events.out.tfevents.*")) if paths.logs.exists() else [],
        "saved_model": str(paths.model) if (paths.model / "saved_model.pb").exists() else "",
        "worker_logs": sorted(str(p) for p in paths.workers.glob("worker-*.log")) if paths.workers.exists() else [],
    }


def sync_job(job_id: int) -> str:
    """Bring a launching or running job's state up to date with its backend."""
    job = TrainingJob.objects.select_related("pool").filter(pk=job_id).first()
    if job is None or job.state not in (S.LAUNCHING, S.RUNNING) or not job.backend_handle:
        return "nothing to do"
    backend = get_backend(job.pool.backend)
    if job.cancel_requested:
        backend.cancel(job.backend_handle)
    status: RunStatus = backend.status(job.backend_handle)
    if job.cancel_requested and status.phase == "lost":
        # Backends that cancel by deleting the run (Kubernetes) no longer find it: that is the cancel.
        status = RunStatus(
            "cancelled",
            status.started_at,
            status.ended_at,
            status.worker_seconds,
            reason="Cancelled at the owner's request.",
        )
    if status.phase == "running" and job.state == S.LAUNCHING:
        quota.mark_started(job, at=status.started_at)
    if not status.ended:
        return status.phase
    if job.state == S.LAUNCHING and status.started_at:
        quota.mark_started(job, at=status.started_at)  # it ran, however briefly: charge its time
    _refresh_run_cache(job.pk)  # before the run is seen as ended, so its page has its curves
    quota.finish_job(
        job,
        OUTCOMES[status.phase],
        worker_seconds=status.worker_seconds,
        ended_at=status.ended_at,
        reason=status.reason,
        exit_code=status.exit_code,
    )
    sources.discard(job)
    return status.phase


def _refresh_run_cache(job_id: int) -> None:
    """Cache the run's curves, model summary and progress for the run page, now that it ended."""
    from scheduler.artifacts import cache

    try:
        cache.refresh_run_artifacts(TrainingJob.objects.get(pk=job_id))
    except Exception:  # the run is charged either way; the run page says what could not be read
        log.exception("Could not cache the artifacts of job %s", job_id)


def live_job_ids() -> list[int]:
    return list(TrainingJob.objects.filter(state__in=[S.LAUNCHING, S.RUNNING]).values_list("pk", flat=True))


def unlaunched_job_ids(older_than: timedelta = timedelta(seconds=30)) -> list[int]:
    """Admitted jobs no launch has picked up (a lost message, or launching on admission is off)."""
    return list(
        TrainingJob.objects.filter(state=S.ADMITTED, admitted_at__lte=timezone.now() - older_than).values_list(
            "pk", flat=True
        )
    )


def worker_log_tails(job: TrainingJob, lines: int = 20) -> dict[int, str]:
    if not job.backend_handle:
        return {}
    try:
        return get_backend(job.pool.backend).log_tails(job.backend_handle, lines)
    except (LookupError, OSError, ValueError):
        return {}
