"""Launch claims: exactly one launch per job, and no job left in `launching` by a launcher that died.

A launcher first claims the job in the database (admitted -> launching under the job's row lock,
with a fresh launch token), so of any number of concurrent launches one wins and the rest do
nothing. The backend's objects carry the token (local: the exclusively created state file;
Kubernetes: names from the job id), so a claim that produced no handle can be reconciled: the
sweep asks the backend what exists for the token and adopts it, or returns the job to admitted
(failing it after a few attempts), or ends it as cancelled if a cancel was asked for meanwhile.
Locks follow quota's order: the allocation's row, then the job's.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from scheduler import jobs, quota
from scheduler.backends import get_backend
from scheduler.contract import JobSpec
from scheduler.models import Allocation, TrainingJob

S = TrainingJob.State
log = logging.getLogger(__name__)
CANCELLED_BEFORE_START = "Cancelled at the owner's request before the run started; nothing ran."


@dataclass(frozen=True)
class Claim:
    job: TrainingJob
    token: str


def reconcile_bound() -> timedelta:
    """How long a claim may go without a backend handle before the sweep reconciles it."""
    return timedelta(seconds=settings.CG_LAUNCH_RECONCILE_SECONDS)


def spec_for(job: TrainingJob) -> JobSpec:
    """The job's spec, carrying its current launch token."""
    return dataclasses.replace(JobSpec.from_job(job), token=job.launch_token)


def claim_launch(job_id: int) -> Claim | None:
    """Win the job's launch: only an admitted job can be claimed, and only once."""
    with transaction.atomic():
        job = (
            TrainingJob.objects.select_for_update(of=("self",))
            .select_related("pool", "snapshot")
            .filter(pk=job_id)
            .first()
        )
        if job is None or job.state != S.ADMITTED:
            return None
        job.launch_attempts += 1
        event = jobs.transition(job, S.LAUNCHING, message=f"launch claimed (attempt {job.launch_attempts})")
        job.launch_token = uuid.uuid4().hex
        job.launch_claimed_at = timezone.now()
        job.save()
        event.save()
    return Claim(job, job.launch_token)


def cancel_requested(job_id: int) -> bool:
    return TrainingJob.objects.filter(pk=job_id, cancel_requested=True).exists()


def end_unstarted(job_id: int, token: str, outcome: str, reason: str) -> bool:
    """End a claimed launch that started nothing, charging nothing; False if the claim is no longer
    this token's (the sweep took it over meanwhile)."""
    with transaction.atomic():
        job = _lock(job_id)
        if job.state != S.LAUNCHING or job.launch_token != token or job.backend_handle:
            return False
        quota.finish_job(job.pk, outcome, worker_seconds=[], reason=reason)
    return True


def record_handle(job_id: int, token: str, handle: dict[str, Any], artifacts_dir: str) -> bool:
    """Store the backend's handle if the claim is still this token's; False means the run just
    started belongs to no one (the caller stops it)."""
    updated = TrainingJob.objects.filter(pk=job_id, launch_token=token, state__in=[S.LAUNCHING, S.RUNNING]).update(
        backend_handle=handle, artifacts_dir=artifacts_dir
    )
    return updated == 1


def stale_launch_ids(older_than: timedelta | None = None) -> list[int]:
    """Claimed launches with no handle for longer than the bound (their launcher likely died)."""
    cutoff = timezone.now() - (older_than if older_than is not None else reconcile_bound())
    return list(
        TrainingJob.objects.filter(state=S.LAUNCHING, backend_handle={}, launch_claimed_at__lte=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def reconcile_launch(job_id: int, *, older_than: timedelta | None = None) -> str:
    """Adopt what a stale claim started, or end or return the job; each outcome exactly once."""
    bound = older_than if older_than is not None else reconcile_bound()
    with transaction.atomic():
        job = _lock(job_id)
        claimed_at = job.launch_claimed_at
        if job.state != S.LAUNCHING or job.backend_handle or claimed_at is None:
            return "nothing to do"
        if claimed_at > timezone.now() - bound:
            return "nothing to do"  # its launcher may still be at work
        spec = spec_for(job)
        try:
            handle = get_backend(job.pool.backend).find(spec)
        except (LookupError, OSError, ValueError) as error:
            log.warning("Cannot reconcile the launch of job %s yet: %s", job_id, error)
            return "backend unavailable"
        if handle:
            job.backend_handle = handle
            job.artifacts_dir = str(spec.artifacts.root)
            job.save(update_fields=["backend_handle", "artifacts_dir"])
            _note(job, "adopted the run its launcher started before it stopped")
            return "adopted"  # the sync takes it from here, cancelling it if that was asked
        if job.cancel_requested:
            quota.finish_job(job.pk, S.CANCELLED, worker_seconds=[], reason=CANCELLED_BEFORE_START)
            return "cancelled"
        if job.launch_attempts >= settings.CG_LAUNCH_ATTEMPTS:
            reason = (
                f"The run could not be started: its launcher stopped before starting it "
                f"{job.launch_attempts} times (were the workers restarted or killed?)."
            )
            quota.finish_job(job.pk, S.FAILED, worker_seconds=[], reason=reason)
            return "failed"
        event = jobs.transition(
            job, S.ADMITTED, message="the launch never started a run (its launcher stopped); launching again"
        )
        job.launch_token = ""
        job.launch_claimed_at = None
        job.save()
        event.save()
        if settings.CG_LAUNCH_ON_ADMISSION:
            from scheduler.admission import hand_to_launchers

            transaction.on_commit(lambda: hand_to_launchers([job_id]))
        return "returned to admitted"


def _lock(job_id: int) -> TrainingJob:
    allocation_id = TrainingJob.objects.values_list("allocation_id", flat=True).get(pk=job_id)
    Allocation.objects.select_for_update().get(pk=allocation_id)
    return TrainingJob.objects.select_for_update().select_related("pool").get(pk=job_id)


def _note(job: TrainingJob, message: str) -> None:
    job.events.create(from_state=job.state, to_state=job.state, at=timezone.now(), message=message)
