"""The runner: turns admitted jobs into runs on their pool's backend and brings the results back.

Every function re-reads the job and does nothing when its work is done, so Celery may deliver its
tasks twice. Launches are claimed through scheduler.launches (one run per job); quota moves only through
scheduler.quota (mark_started / finish_job).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.utils import timezone

from scheduler import environments, launches, quota, sources
from scheduler.backends import RunStatus, get_backend, kubernetes_environments
from scheduler.contract import job_artifact_paths
from scheduler.models import TrainingJob

S = TrainingJob.State
log = logging.getLogger(__name__)
OUTCOMES = {"succeeded": S.SUCCEEDED, "failed": S.FAILED, "cancelled": S.CANCELLED, "lost": S.LOST}


def launch_job(job_id: int) -> str:
    """Start an admitted job. Of any number of launches of one job, one claims it and starts it;
    the others (and retried or late messages) do nothing."""
    claim = launches.claim_launch(job_id)
    if claim is None:
        return "nothing to do"
    return start_claimed(claim)


def start_claimed(claim: launches.Claim) -> str:
    """Start the run of a claimed launch and record its handle, unless a cancel came first."""
    job = claim.job
    if launches.cancel_requested(job.pk):  # asked between admission and the claim
        launches.end_unstarted(job.pk, claim.token, S.CANCELLED, launches.CANCELLED_BEFORE_START)
        return "cancelled"
    try:
        backend = get_backend(job.pool.backend)
        spec = sources.prepare(job, launches.spec_for(job))  # the recorded commit's files, copied for this run
        spec = environments.for_run(spec)  # its declared dependencies, installed or found cached
        if job.pool.backend == "kubernetes":  # installed in the cluster, by the job's preparation pod
            spec = kubernetes_environments.with_environment(spec)
        if launches.cancel_requested(job.pk):  # the last moment before anything starts
            launches.end_unstarted(job.pk, claim.token, S.CANCELLED, launches.CANCELLED_BEFORE_START)
            sources.discard(job)
            return "cancelled"
        handle = backend.submit(spec)
    except (LookupError, ValueError, OSError) as error:
        if launches.end_unstarted(job.pk, claim.token, S.FAILED, f"The run could not be started: {error}"):
            sources.discard(job)
        return "failed to start"
    except RuntimeError as error:
        # A run of another token holds the job's objects, or the cluster did not answer (whether a
        # create took effect is unknown): start nothing more; the sweep reconciles the claim.
        log.warning("Launch of job %s started nothing: %s", job.pk, error)
        return "not started"
    if not launches.record_handle(job.pk, claim.token, handle, str(spec.artifacts.root)):
        backend.cancel(handle)  # the sweep gave this claim up meanwhile: what it started is no one's
        return "superseded"
    return "launched"


def relay_cancel(job_id: int) -> None:
    """Pass a cancel to a local run's supervisor at once (a file; no Celery worker needed)."""
    job = TrainingJob.objects.select_related("pool").filter(pk=job_id).first()
    if job is None or not job.cancel_requested or not job.backend_handle or job.pool.backend != "local":
        return
    from scheduler.backends.local import LocalBackend

    try:
        LocalBackend().request_cancel(job.backend_handle)
    except OSError:  # its folder is gone: the sync finds out and ends the job
        log.warning("Could not pass the cancel of job %s to its supervisor", job_id, exc_info=True)


def reconcile_stale_launches(older_than: timedelta | None = None) -> dict[int, str]:
    """The sweep's part for launches whose launcher died: adopt, return, cancel or fail each."""
    stale = launches.stale_launch_ids(older_than)
    return {job_id: launches.reconcile_launch(job_id, older_than=older_than) for job_id in stale}


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
    release = getattr(backend, "release", None)
    if release is not None:  # the ended run's Service, NetworkPolicy, preparation (Kubernetes); a failure retries
        release(job.backend_handle)
    sources.collect_event_files(job)  # summaries written in the work folder, not AIP_TENSORBOARD_LOG_DIR
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
