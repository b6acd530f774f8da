"""Quota services: award, reserve, charge and release accelerator-seconds through the ledger.

Each public function is one transaction. Allocation rows are locked (SELECT ... FOR UPDATE on
PostgreSQL) before their balances change, always before the job row, so concurrent submissions
and finishing workers serialise per allocation and never deadlock. Every operation on a job is
idempotent: finishing a finished job changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from reproducibility.models import Snapshot
from scheduler import entrypoints, jobs, tpu_slices, triggers
from scheduler.models import AcceleratorPool, Allocation, LedgerEntry, SourceBasis, TrainingJob

FAIR_SHARE_HALF_LIFE = timedelta(days=7)
S = TrainingJob.State


class QuotaError(Exception):
    """A request the quota cannot honour; the message says why and what is missing."""


class EntrypointError(QuotaError):
    """The run's script is not in what the run would execute (pages show it next to the field)."""


def hours(seconds: float) -> str:
    """Accelerator-seconds as the accelerator-hours people read, e.g. '1.5'."""
    value = seconds / 3600
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"


@dataclass(frozen=True)
class JobRequest:
    """What an applicant asks to run."""

    entrypoint: str
    workers: int = 1
    accelerators_per_worker: int = 1
    max_runtime_seconds: int = 3600
    args: list[str] = field(default_factory=list)
    image: str = ""
    priority: int = 0
    seed: int = 42
    name: str = ""
    source_path: str = ""
    repository_url: str = ""
    commit: str = ""


def _entry(allocation: Allocation, kind: str, seconds: int, *, job=None, actor=None, memo: str = "") -> None:
    LedgerEntry.objects.create(allocation=allocation, kind=kind, seconds=seconds, job=job, actor=actor, memo=memo)


def _locked(allocation_id: int) -> Allocation:
    return Allocation.objects.select_for_update().select_related("pool").get(pk=allocation_id)


# --- awards -------------------------------------------------------------------------------


@transaction.atomic
def award(
    project: Any,
    pool: AcceleratorPool,
    seconds: int,
    *,
    expires_at: datetime,
    starts_at: datetime | None = None,
    actor: Any = None,
    memo: str = "",
    snapshot: Any = None,
    held: int = 0,
) -> Allocation:
    """Create an active allocation of `seconds` accelerator-seconds on `pool` for `project`.

    `snapshot` is what the reviewers scored: the allocation's runs execute it and nothing else.
    `held` of the seconds are later tranches: in the award, not reservable until `release_held`.
    """
    if seconds <= 0:
        raise QuotaError("An award must be a positive number of accelerator-hours.")
    if not 0 <= held < seconds:
        raise QuotaError("The hours held for later tranches must leave some of the award released now.")
    starts_at = starts_at or timezone.now()
    if expires_at <= starts_at:
        raise QuotaError("An allocation must expire after it starts.")
    allocation = Allocation.objects.create(
        project=project,
        pool=pool,
        awarded=seconds,
        starts_at=starts_at,
        expires_at=expires_at,
        snapshot=snapshot,
        source_basis=SourceBasis.REVIEWED if snapshot is not None else SourceBasis.UNREVIEWED,
    )
    _entry(allocation, LedgerEntry.Kind.AWARD, seconds, actor=actor, memo=memo or "award")
    if held:
        allocation.held = held
        allocation.save(update_fields=["held"])
        _entry(allocation, LedgerEntry.Kind.HOLD, held, actor=actor, memo="held for later tranches")
    return allocation


@transaction.atomic
def release_held(allocation: Allocation, seconds: int, *, actor: Any = None, memo: str = "") -> Allocation:
    """Release `seconds` of the held tranches: from now on runs may reserve them."""
    locked = _locked(allocation.pk)
    if not 0 < seconds <= locked.held:
        raise QuotaError(
            f"Between 0 and {hours(locked.held)} held accelerator-hours can be released; {hours(seconds)} asked."
        )
    if locked.state in (Allocation.State.EXPIRED, Allocation.State.REVOKED):
        raise QuotaError(f"This allocation is {locked.state}; its held hours cannot be released.")
    locked.held -= seconds
    locked.save(update_fields=["held"])
    _entry(locked, LedgerEntry.Kind.UNHOLD, -seconds, actor=actor, memo=memo or "tranche released")
    return locked


@transaction.atomic
def return_unused(allocation: Allocation, *, actor: Any = None, memo: str = "", limit: int | None = None) -> int:
    """Hand back what an allocation neither used nor holds for a run, held tranches included (at most
    `limit`), taking it off the award. Returns the seconds given back; the caller credits the call's
    budget in the same transaction."""
    locked = _locked(allocation.pk)
    free = locked.awarded - locked.used - locked.reserved  # held tranches go back too
    amount = free if limit is None else min(free, max(limit, 0))
    if amount <= 0:
        return 0
    from_held = min(locked.held, max(amount - locked.remaining, 0))  # the released part goes first
    if from_held:
        locked.held -= from_held
        _entry(locked, LedgerEntry.Kind.UNHOLD, -from_held, actor=actor, memo="held hours returned")
    locked.awarded -= amount
    locked.save(update_fields=["awarded", "held"])
    _entry(locked, LedgerEntry.Kind.RETURN, -amount, actor=actor, memo=memo or "returned to the call")
    return amount


@transaction.atomic
def top_up(allocation: Allocation, seconds: int, *, actor: Any = None, memo: str = "") -> Allocation:
    if seconds <= 0:
        raise QuotaError("A top-up must be a positive number of accelerator-hours.")
    locked = _locked(allocation.pk)
    if locked.state in (Allocation.State.EXPIRED, Allocation.State.REVOKED):
        raise QuotaError(f"This allocation is {locked.state}; award a new one instead.")
    locked.awarded += seconds
    locked.save(update_fields=["awarded"])
    _entry(locked, LedgerEntry.Kind.TOP_UP, seconds, actor=actor, memo=memo or "top-up")
    return locked


@transaction.atomic
def extend(allocation: Allocation, expires_at: datetime) -> Allocation:
    """Move a running allocation's end later (a no-cost extension): no hours move, so no ledger entry."""
    locked = _locked(allocation.pk)
    if locked.state not in (Allocation.State.ACTIVE, Allocation.State.SUSPENDED):
        raise QuotaError(f"This allocation is {locked.state}; only a running allocation can be extended.")
    if expires_at <= locked.expires_at:
        raise QuotaError(f"An extension moves the end later than {locked.expires_at:%Y-%m-%d %H:%M} UTC.")
    locked.expires_at = expires_at
    locked.save(update_fields=["expires_at"])
    return locked


@transaction.atomic
def adjust(allocation: Allocation, seconds: int, *, actor: Any, memo: str) -> Allocation:
    """Correct the award by a signed amount (with a reason), never below what is spent or held."""
    if not memo.strip():
        raise QuotaError("An adjustment needs a memo saying why.")
    locked = _locked(allocation.pk)
    if locked.awarded + seconds < locked.used + locked.reserved + locked.held:
        raise QuotaError(
            f"Cannot lower the award below what is used and reserved, held tranches included "
            f"({hours(locked.used + locked.reserved + locked.held)} accelerator-hours)."
        )
    locked.awarded += seconds
    locked.save(update_fields=["awarded"])
    _entry(locked, LedgerEntry.Kind.ADJUST, seconds, actor=actor, memo=memo)
    return locked


@transaction.atomic
def suspend(allocation: Allocation, *, actor: Any = None, memo: str = "") -> Allocation:
    """Stop admitting and accepting jobs; queued jobs wait, running ones go on."""
    locked = _locked(allocation.pk)
    if locked.state == Allocation.State.ACTIVE:
        locked.state = Allocation.State.SUSPENDED
        locked.save(update_fields=["state"])
    return locked


@transaction.atomic
def resume(allocation: Allocation, *, actor: Any = None) -> Allocation:
    locked = _locked(allocation.pk)
    if locked.state == Allocation.State.SUSPENDED:
        locked.state = Allocation.State.ACTIVE
        locked.save(update_fields=["state"])
    return locked


def _close(locked: Allocation, state: str, *, actor: Any, memo: str, now: datetime) -> None:
    """Cancel what is queued, ask running jobs to stop, and end the allocation."""
    for job in locked.jobs.select_for_update().filter(state__in=[S.QUEUED, S.ADMITTED]):
        _release_and_end(locked, job, S.CANCELLED, charge=0, at=now, actor=actor, reason=memo)
    locked.jobs.filter(state__in=[S.LAUNCHING, S.RUNNING]).update(cancel_requested=True)
    locked.state = state
    locked.save(update_fields=["state", "reserved"])


@transaction.atomic
def revoke(allocation: Allocation, *, actor: Any = None, memo: str = "revoked") -> Allocation:
    """End the allocation now and give back what was neither used nor held by a running job."""
    locked = _locked(allocation.pk)
    if locked.state in (Allocation.State.REVOKED, Allocation.State.EXPIRED):
        return locked
    _close(locked, Allocation.State.REVOKED, actor=actor, memo=memo, now=timezone.now())
    if locked.held:  # later tranches end with the allocation
        _entry(locked, LedgerEntry.Kind.UNHOLD, -locked.held, actor=actor, memo=memo)
        locked.held = 0
        locked.save(update_fields=["held"])
    if locked.remaining:
        give_back = locked.remaining
        locked.awarded -= give_back
        locked.save(update_fields=["awarded"])
        _entry(locked, LedgerEntry.Kind.REVOKE, -give_back, actor=actor, memo=memo)
    return locked


def expire_allocations(now: datetime | None = None) -> list[int]:
    """Expire every allocation past its end: release reservations, cancel queued jobs."""
    now = now or timezone.now()
    due = list(
        Allocation.objects.filter(
            state__in=[Allocation.State.ACTIVE, Allocation.State.SUSPENDED], expires_at__lte=now
        ).values_list("pk", flat=True)
    )
    expired = []
    for pk in due:
        with transaction.atomic():
            locked = _locked(pk)
            if locked.state in (Allocation.State.ACTIVE, Allocation.State.SUSPENDED) and locked.expires_at <= now:
                _close(locked, Allocation.State.EXPIRED, actor=None, memo="allocation expired", now=now)
                expired.append(pk)
    return expired


# --- jobs ---------------------------------------------------------------------------------


# Refusals other apps add to run submission (the portal: an overdue progress report), so the
# scheduler never imports the portal. Each raises QuotaError saying why and how to lift it.
SubmissionCheck = Callable[[Allocation, datetime], None]
SUBMISSION_CHECKS: list[SubmissionCheck] = []


def register_submission_check(check: SubmissionCheck) -> None:
    if check not in SUBMISSION_CHECKS:
        SUBMISSION_CHECKS.append(check)


def validate_request(allocation: Allocation, request: JobRequest, now: datetime) -> None:
    pool = allocation.pool
    if not request.entrypoint.strip():
        raise QuotaError("A job needs an entrypoint, e.g. train.py.")
    if request.workers < 1 or request.accelerators_per_worker < 1:
        raise QuotaError("A job needs at least one worker with at least one accelerator.")
    if request.workers * request.accelerators_per_worker > pool.capacity:
        raise QuotaError(
            f"This job asks for {request.workers * request.accelerators_per_worker} accelerators at once; "
            f"the {pool.name} pool has {pool.capacity}."
        )
    if pool.kind == AcceleratorPool.Kind.TPU and pool.backend == AcceleratorPool.Backend.KUBERNETES:
        try:  # GKE places a TPU job only as one pod per host of one slice, each with all its chips
            tpu_slices.check_job_on_slice(
                pool.node_selectors, pool.capacity, request.workers, request.accelerators_per_worker
            )
        except tpu_slices.SliceError as error:
            raise QuotaError(str(error)) from error
    if not 0 < request.max_runtime_seconds <= pool.max_runtime_seconds:
        raise QuotaError(
            f"Maximum runtime must be between 1 second and {hours(pool.max_runtime_seconds)} hours on {pool.name}."
        )
    if allocation.state != Allocation.State.ACTIVE:
        raise QuotaError(f"This allocation is {allocation.state}: no new jobs can be submitted.")
    if now < allocation.starts_at:
        raise QuotaError(f"This allocation starts on {allocation.starts_at:%Y-%m-%d %H:%M} UTC.")
    if now >= allocation.expires_at:
        raise QuotaError("This allocation has expired.")
    for check in SUBMISSION_CHECKS:
        check(allocation, now)


def run_source(allocation: Allocation, request: JobRequest) -> dict[str, Any]:
    """The job's source fields: the allocation's snapshot (reviewed, or approved by a maintainer) at
    its commit, never the project's repository as it is now. Without a snapshot (an allocation made
    without a review) the request's own source, recorded as not reviewed."""
    snapshot = allocation.snapshot
    if snapshot is None:
        if request.source_path and Path(request.source_path).is_dir():
            _check_entrypoint(Path(request.source_path), request, "the run's source folder")
        return {
            "source_path": request.source_path,
            "repository_url": request.repository_url,
            "commit": request.commit,
            "snapshot": None,
            "source_basis": SourceBasis.UNREVIEWED,
        }
    basis = allocation.get_source_basis_display()
    if request.source_path or request.commit or request.repository_url not in ("", snapshot.source):
        raise QuotaError(
            f"This allocation runs {basis} ({snapshot.source} at {snapshot.commit[:12] or '?'}); "
            "another source needs a repository change approved by a maintainer."
        )
    if snapshot.status != Snapshot.Status.DONE or not snapshot.commit:
        why = f": {snapshot.error}" if snapshot.error else ""
        raise QuotaError(
            f"This allocation runs {basis}, whose snapshot is {snapshot.status}{why}. "
            "Runs start once it is scored; if it failed, file a repository change for a maintainer to approve."
        )
    if snapshot.path and Path(snapshot.path).is_dir():  # a tree kept since scoring: what the run will copy
        _check_entrypoint(Path(snapshot.path), request, f"the repository at {snapshot.commit[:12]} ({basis})")
    return {
        "source_path": snapshot.path,
        "repository_url": snapshot.source,
        "commit": snapshot.commit,
        "snapshot": snapshot,
        "source_basis": allocation.source_basis,
    }


def _check_entrypoint(tree: Path, request: JobRequest, what: str) -> None:
    try:
        entrypoints.check_script_in(tree, request.entrypoint, what=what)
    except entrypoints.EntrypointError as error:
        raise EntrypointError(str(error)) from error


@transaction.atomic
def submit_job(allocation: Allocation, request: JobRequest, *, actor: Any = None) -> TrainingJob:
    """Queue a job, reserving its worst case (workers x accelerators x max runtime), or refuse.

    The job records what it will run (`run_source`): the repository, the commit and whether that is
    the reviewed (or an approved) one."""
    now = timezone.now()
    locked = _locked(allocation.pk)
    validate_request(locked, request, now)
    source = run_source(locked, request)
    worst = request.workers * request.accelerators_per_worker * request.max_runtime_seconds
    if worst > locked.remaining:
        raise QuotaError(
            f"Not enough quota: this job may use up to {hours(worst)} accelerator-hours "
            f"({request.workers} worker(s) x {request.accelerators_per_worker} accelerator(s) x "
            f"{hours(request.max_runtime_seconds)} h) but the allocation has {hours(locked.remaining)} left; "
            f"{hours(worst - locked.remaining)} accelerator-hours are missing."
        )
    job = TrainingJob.objects.create(
        allocation=locked,
        pool=locked.pool,
        submitted_by=actor,
        name=request.name,
        entrypoint=request.entrypoint,
        args=list(request.args),
        image=request.image or locked.pool.default_image,
        workers=request.workers,
        accelerators_per_worker=request.accelerators_per_worker,
        max_runtime_seconds=request.max_runtime_seconds,
        priority=request.priority,
        seed=request.seed,
        **source,
        reserved_seconds=worst,
    )
    locked.reserved += worst
    locked.save(update_fields=["reserved"])
    _entry(locked, LedgerEntry.Kind.RESERVE, worst, job=job, actor=actor, memo="worst case of the job")
    job.events.create(from_state="", to_state=S.QUEUED, at=now, actor=actor, message="submitted")
    triggers.admission_after_commit(locked.pool_id)  # admitted within seconds, not at beat's next tick
    return job


def decay(value: float, since: datetime | None, now: datetime) -> float:
    if since is None or value == 0:
        return value
    elapsed = max((now - since).total_seconds(), 0.0)
    return value * math.pow(0.5, elapsed / FAIR_SHARE_HALF_LIFE.total_seconds())


def decayed_usage(allocation: Allocation, now: datetime) -> float:
    """Usage with a half-life: what fair share compares, relative to the award."""
    return decay(allocation.decayed_usage, allocation.decayed_usage_at, now)


def _release_and_end(
    locked: Allocation,
    job: TrainingJob,
    outcome: str,
    *,
    charge: int,
    at: datetime,
    actor: Any = None,
    reason: str = "",
    exit_code: int | None = None,
) -> None:
    """Charge `charge` seconds, release the rest of the job's reservation, end the job."""
    charge = min(max(charge, 0), job.reserved_seconds)
    release = job.reserved_seconds - charge
    if charge:
        _entry(locked, LedgerEntry.Kind.CHARGE, charge, job=job, actor=actor, memo=f"{outcome} run")
        locked.used += charge
        locked.decayed_usage = decayed_usage(locked, at) + charge
        locked.decayed_usage_at = at
    if release:
        _entry(locked, LedgerEntry.Kind.RELEASE, -release, job=job, actor=actor, memo="unused reservation")
    locked.reserved -= job.reserved_seconds
    locked.save(update_fields=["used", "reserved", "decayed_usage", "decayed_usage_at"])
    event = jobs.transition(job, outcome, at=at, actor=actor, message=reason)
    job.charged_seconds += charge
    job.reserved_seconds = 0
    if reason and outcome != S.SUCCEEDED:
        job.failure_reason = reason
    if exit_code is not None:
        job.exit_code = exit_code
    job.save()
    event.save()


def _lock_job(job_id: int) -> tuple[Allocation, TrainingJob]:
    allocation_id = TrainingJob.objects.values_list("allocation_id", flat=True).get(pk=job_id)
    locked = _locked(allocation_id)
    return locked, TrainingJob.objects.select_for_update().get(pk=job_id)


def actual_seconds(job: TrainingJob, worker_seconds: list[float] | None, ended_at: datetime) -> int:
    """Accelerator-seconds a run used: each worker's running time x its accelerators.

    Without per-worker times (a job seen only by its start and end), every worker is counted from
    the job's start to its end.
    """
    if worker_seconds is None:
        if job.started_at is None:
            return 0
        span = max((ended_at - job.started_at).total_seconds(), 0.0)
        worker_seconds = [span] * job.workers
    return math.ceil(sum(max(s, 0.0) for s in worker_seconds) * job.accelerators_per_worker)


@transaction.atomic
def finish_job(
    job: TrainingJob | int,
    outcome: str,
    *,
    worker_seconds: list[float] | None = None,
    ended_at: datetime | None = None,
    reason: str = "",
    exit_code: int | None = None,
    actor: Any = None,
) -> TrainingJob:
    """End a run: charge what its workers used, release the rest. Finishing twice charges once."""
    if outcome not in (S.SUCCEEDED, S.FAILED, S.CANCELLED, S.PREEMPTED, S.LOST):
        raise ValueError(f"{outcome!r} is not an outcome of a run.")
    job_id = job if isinstance(job, int) else job.pk
    locked, locked_job = _lock_job(job_id)
    if locked_job.is_terminal:
        return locked_job
    ended_at = ended_at or timezone.now()
    charge = actual_seconds(locked_job, worker_seconds, ended_at)
    _release_and_end(
        locked,
        locked_job,
        outcome,
        charge=charge,
        at=ended_at,
        actor=actor,
        reason=reason,
        exit_code=exit_code,
    )
    triggers.admission_after_commit(locked.pool_id)  # its accelerators are free for the queue
    return locked_job


@transaction.atomic
def mark_started(job: TrainingJob | int, *, at: datetime | None = None, handle: dict | None = None) -> TrainingJob:
    """All workers are up: the run's clock starts. Idempotent."""
    job_id = job if isinstance(job, int) else job.pk
    locked = TrainingJob.objects.select_for_update().get(pk=job_id)
    if locked.state in (S.ADMITTED, S.LAUNCHING):
        # The event is when we learnt it; started_at is when the backend says the workers started.
        event = jobs.transition(locked, S.RUNNING)
        if at is not None:
            locked.started_at = at
        if handle:
            locked.backend_handle = handle
        locked.save()
        event.save()
    return locked


@transaction.atomic
def cancel_job(job: TrainingJob | int, *, actor: Any = None, reason: str = "cancelled") -> TrainingJob:
    """Queued or admitted: cancelled now, everything released. Running: the runner is asked to stop
    it through its backend and then charges it as finished."""
    job_id = job if isinstance(job, int) else job.pk
    locked, locked_job = _lock_job(job_id)
    if locked_job.state in (S.QUEUED, S.ADMITTED):
        _release_and_end(locked, locked_job, S.CANCELLED, charge=0, at=timezone.now(), actor=actor, reason=reason)
    elif locked_job.state in (S.LAUNCHING, S.RUNNING) and not locked_job.cancel_requested:
        locked_job.cancel_requested = True
        locked_job.save(update_fields=["cancel_requested"])
        locked_job.events.create(
            from_state=locked_job.state,
            to_state=locked_job.state,
            at=timezone.now(),
            actor=actor,
            message="cancellation requested",
        )
        triggers.cancel_after_commit(job_id)
    return locked_job


def preempt_job(
    job: TrainingJob | int, *, worker_seconds: list[float] | None = None, reason: str = "preempted"
) -> TrainingJob:
    return finish_job(job, S.PREEMPTED, worker_seconds=worker_seconds, reason=reason)


def mark_lost(job: TrainingJob | int, *, last_seen: datetime | None = None, reason: str = "") -> TrainingJob:
    """The job's processes or pods vanished: charged up to when it was last seen alive."""
    return finish_job(job, S.LOST, ended_at=last_seen, reason=reason or "The job's workers vanished (host restarted?).")


# --- reading ------------------------------------------------------------------------------


def ledger_balances(allocation: Allocation) -> dict[str, int]:
    """Balances recomputed from the ledger alone (the cached ones must always equal these)."""
    totals = {"awarded": 0, "reserved": 0, "used": 0, "held": 0}
    for kind, seconds in allocation.ledger.values_list("kind", "seconds"):
        if kind in ("award", "top_up", "revoke", "adjust", "return"):
            totals["awarded"] += seconds
        elif kind in ("reserve", "release"):
            totals["reserved"] += seconds
        elif kind in ("hold", "unhold"):
            totals["held"] += seconds
        elif kind == "charge":  # a charge turns held seconds into spent ones
            totals["used"] += seconds
            totals["reserved"] -= seconds
    return totals
