"""The life of a training job: one transition table and one function that applies it."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from scheduler.models import JobEvent, TrainingJob

S = TrainingJob.State

TRANSITIONS: dict[str, frozenset[str]] = {
    S.QUEUED: frozenset({S.ADMITTED, S.CANCELLED}),
    S.ADMITTED: frozenset({S.LAUNCHING, S.RUNNING, S.FAILED, S.CANCELLED, S.LOST}),
    # A short job can end before a sync ever sees it running; a launch whose launcher died before
    # anything started goes back to admitted (scheduler.launches.reconcile_launch).
    S.LAUNCHING: frozenset({S.ADMITTED, S.RUNNING, S.SUCCEEDED, S.FAILED, S.CANCELLED, S.PREEMPTED, S.LOST}),
    S.RUNNING: frozenset({S.SUCCEEDED, S.FAILED, S.CANCELLED, S.PREEMPTED, S.LOST}),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
    S.PREEMPTED: frozenset(),
    S.LOST: frozenset(),
}

# The timestamp each state stamps on the job when entered.
STAMPS: dict[str, str] = {S.ADMITTED: "admitted_at", S.RUNNING: "started_at"}


class InvalidTransition(Exception):
    """The job cannot go from its state to the one asked for."""


def can_transition(job: TrainingJob, to_state: str) -> bool:
    return to_state in TRANSITIONS[job.state]


def event(job_id: int, from_state: str, to_state: str, *, at: datetime, actor=None, message: str = "") -> JobEvent:
    """The event of a transition applied in bulk (by an UPDATE guarded on `from_state`)."""
    if to_state not in TRANSITIONS[from_state]:
        raise InvalidTransition(f"A {from_state} job cannot become {to_state}.")
    return JobEvent(job_id=job_id, from_state=from_state, to_state=to_state, at=at, actor=actor, message=message)


def transition(
    job: TrainingJob, to_state: str, *, at: datetime | None = None, actor=None, message: str = ""
) -> JobEvent:
    """Move the job to `to_state`, stamp its time and record the event. The caller saves the job."""
    if not can_transition(job, to_state):
        raise InvalidTransition(f"A {job.state} job cannot become {to_state}.")
    at = at or timezone.now()
    from_state = job.state
    job.state = to_state
    stamp = STAMPS.get(to_state)
    if stamp and getattr(job, stamp) is None:
        setattr(job, stamp, at)
    if to_state in TrainingJob.TERMINAL_STATES:
        job.finished_at = at
    return JobEvent(job=job, from_state=from_state, to_state=to_state, at=at, actor=actor, message=message)
