"""Applications: drafts, submission (which snapshots and scores the repository) and withdrawal."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.db import transaction

from portal.errors import Problem, WorkflowError, refuse_if_any
from portal.models import Application, Call, Project, ReviewAssignment
from portal.services import assignment, audit, lifecycle, notifications, verification
from reproducibility.services import enqueue_scoring, request_snapshot
from reproducibility.snapshots import SnapshotError
from scheduler.models import AcceleratorPool
from scheduler.quota import hours

S = Application.State


@dataclass(frozen=True)
class Plan:
    """What an application asks for and how it will use it."""

    pool: AcceleratorPool
    requested_seconds: int
    justification: str = ""
    entrypoint: str = ""
    workers: int = 1
    accelerators_per_worker: int = 1
    expected_runs: int = 1


def check_plan(call: Call, plan: Plan) -> None:
    """Refuse a plan the call cannot serve, saying every reason at once, each with its form field."""
    problems: list[Problem] = []
    offered = call.call_pools.filter(pool=plan.pool).first()
    if offered is None:
        names = ", ".join(call.call_pools.values_list("pool__name", flat=True))
        problems.append(("pool", f"{call} does not offer {plan.pool}; it offers {names}."))
    if plan.requested_seconds <= 0:
        problems.append(("requested_hours", "Ask for a positive number of accelerator-hours."))
    elif offered is not None and plan.requested_seconds > offered.budget_seconds:
        problems.append(
            (
                "requested_hours",
                f"{hours(plan.requested_seconds)} accelerator-hours is more than the call's whole budget "
                f"on {plan.pool} ({hours(offered.budget_seconds)} h).",
            )
        )
    for field in ("workers", "accelerators_per_worker", "expected_runs"):
        if getattr(plan, field) < 1:
            problems.append((field, "Give at least 1."))
    accelerators = plan.workers * plan.accelerators_per_worker
    if plan.workers >= 1 and plan.accelerators_per_worker >= 1 and accelerators > plan.pool.capacity:
        problems.append(
            (
                "workers",
                f"{plan.workers} workers x {plan.accelerators_per_worker} accelerators do not fit in "
                f"{plan.pool}, which has {plan.pool.capacity} accelerators.",
            )
        )
    refuse_if_any(problems)


def _check_open(call: Call) -> None:
    if not call.is_open():
        raise WorkflowError(
            f"{call} takes applications from {call.opens_at:%Y-%m-%d %H:%M} to {call.closes_at:%Y-%m-%d %H:%M} UTC; "
            "it is not open now.",
            field="call",  # the API's create names the call; the page's form has no such field
        )


@transaction.atomic
def save_draft(project: Project, call: Call, plan: Plan, *, actor: Any) -> Application:
    """Create or update the project's draft application to `call`."""
    _check_open(call)
    check_plan(call, plan)
    fields = asdict(plan)
    fields["pool"] = plan.pool
    existing = Application.objects.select_for_update().filter(call=call, project=project).first()
    if existing is None:
        application = Application.objects.create(call=call, project=project, **fields)
        audit.record(actor, "application.drafted", application, to_state=S.DRAFT)
        return application
    if not existing.is_editable:
        raise WorkflowError(f"The application is {existing.get_state_display().lower()}; only drafts can be edited.")
    for name, value in fields.items():
        setattr(existing, name, value)
    existing.save()
    audit.record(actor, "application.edited", existing)
    return existing


@transaction.atomic
def submit(application: Application, *, actor: Any) -> Application:
    """Submit a draft: snapshot and score the repository, assign reviewers, tell everyone concerned."""
    application = (
        Application.objects.select_for_update().select_related("call", "project", "pool").get(pk=application.pk)
    )
    _check_open(application.call)
    check_plan(application.call, _plan_of(application))
    try:
        snapshot = request_snapshot(application.project.repository_url, requested_by=actor)
    except SnapshotError as error:
        raise WorkflowError(str(error)) from error
    lifecycle.transition(application, S.SUBMITTED, actor=actor)
    application.snapshot = snapshot
    application.save(update_fields=["snapshot", "updated"])
    enqueue_scoring(snapshot)
    if verification.wants_verification(application):  # the call runs the training once it is scored
        transaction.on_commit(lambda: _verify_when_scored(application.pk))
    assigned = assignment.assign_reviewers(application)
    application.refresh_from_db()  # assignment may have moved it on to under review
    notifications.notify(
        "application_submitted", notifications.project_people(application.project), application=application
    )
    notifications.notify(
        "application_received",
        notifications.maintainers(),
        application=application,
        reviewers=", ".join(str(a.reviewer) for a in assigned),
    )
    return application


@transaction.atomic
def withdraw(application: Application, *, actor: Any, reason: str = "") -> Application:
    """The applicant takes the application back; open review assignments end with it."""
    application = Application.objects.select_for_update().get(pk=application.pk)
    lifecycle.transition(application, S.WITHDRAWN, actor=actor, message=reason)
    open_reviews = application.assignments.filter(state=ReviewAssignment.State.ASSIGNED)
    pending = list(open_reviews.select_related("reviewer"))
    open_reviews.update(state=ReviewAssignment.State.DECLINED, reason="application withdrawn")
    notifications.notify("application_withdrawn", [a.reviewer for a in pending], application=application)
    return application


def _plan_of(application: Application) -> Plan:
    return Plan(
        pool=application.pool,
        requested_seconds=application.requested_seconds,
        justification=application.justification,
        entrypoint=application.entrypoint,
        workers=application.workers,
        accelerators_per_worker=application.accelerators_per_worker,
        expected_runs=application.expected_runs,
    )


def _verify_when_scored(application_id: int) -> None:
    from portal.tasks import verify_when_scored

    verify_when_scored.delay(application_id)
