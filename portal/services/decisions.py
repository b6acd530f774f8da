"""Decisions: ranking a call's applications and awarding, declining or waitlisting them.

An award creates the allocation through the scheduler's quota service and counts against the
call's budget on that pool. The budget row is locked for the decision, and a CHECK constraint
(awarded <= budget) stands behind the lock, so two maintainers deciding at once cannot overspend.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, FloatField, IntegerField, Max, Min, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from portal.errors import WorkflowError
from portal.models import Application, BudgetEntry, Call
from portal.models.applications import REVIEW_RANK
from portal.services import call_budget, lifecycle, notifications, progress_reports, reviews
from reproducibility.models import Report
from scheduler import quota
from scheduler.quota import hours

S = Application.State
DECIDABLE_STATES = (S.UNDER_REVIEW, S.WAITLISTED)


def in_ranking(call: Call) -> QuerySet[Application]:
    """The call's applications that maintainers rank: neither drafts nor withdrawn."""
    return call.applications.exclude(state__in=[S.DRAFT, S.WITHDRAWN])


def ranked_applications(call: Call) -> QuerySet[Application]:
    """The call's submitted applications, best first: review score (the mean kept on the application by
    portal.services.reviews), then reproducibility, then smaller asks."""
    return (
        in_ranking(call)
        .select_related("project", "pool", "snapshot", "allocation")
        .annotate(
            review_count=Coalesce(reviews.submitted_reviews(Count("pk"), IntegerField()), 0),
            review_spread=reviews.submitted_reviews(Max("weighted_score") - Min("weighted_score"), FloatField()),
            reproducibility_score=Report.latest_of("snapshot", "score"),
        )
        .order_by(
            REVIEW_RANK.desc(),
            Coalesce("reproducibility_score", -1.0).desc(),
            "requested_seconds",
            "pk",
        )
    )


def _lock_for_decision(application: Application) -> Application:
    # The application's row only: with its call and pool locked too, a supplement (portal.services.award_requests)
    # holding the pool and auditing on the call deadlocked with an award of the same call.
    locked = (
        Application.objects.select_for_update(of=("self",))
        .select_related("call", "project", "pool")
        .get(pk=application.pk)
    )
    if locked.state not in DECIDABLE_STATES:
        raise WorkflowError(f"The application is {locked.get_state_display().lower()}; it cannot be decided.")
    return locked


def _announce(application: Application, **context: Any) -> None:
    notifications.notify(
        "application_decided", notifications.project_people(application.project), application=application, **context
    )


@transaction.atomic
def award(
    application: Application, seconds: int, *, actor: Any, message: str = "", held_seconds: int = 0
) -> Application:
    """Award `seconds` accelerator-seconds: an allocation on the application's pool, within the call's budget.

    `held_seconds` of them are a later tranche: counted against the budget now, runnable once released
    (portal.services.tranches)."""
    application = _lock_for_decision(application)
    if seconds <= 0:
        raise WorkflowError("An award must be a positive number of accelerator-hours.", field="hours")
    if not 0 <= held_seconds < seconds:
        raise WorkflowError("Release part of the award now: hold back less than the award.", field="held_hours")
    budget = call_budget.locked(application.call_id, application.pool_id)
    if seconds > budget.remaining_seconds:
        raise WorkflowError(
            f"Awarding {hours(seconds)} h would exceed the call's budget on {application.pool}: "
            f"{hours(budget.remaining_seconds)} h of {hours(budget.budget_seconds)} h remain.",
            field="hours",
        )
    now = timezone.now()
    allocation = quota.award(
        application.project,
        application.pool,
        seconds,
        starts_at=now,
        expires_at=now + timedelta(days=application.call.award_validity_days),
        actor=actor,
        memo=f"award: {application.call}",
        snapshot=application.snapshot,  # the award is for what the reviewers scored
        held=held_seconds,
    )
    call_budget.take(
        budget,
        seconds,
        BudgetEntry.Kind.AWARD,
        allocation=allocation,
        actor=actor,
        memo=f"award to {application.project}",
    )
    application.allocation = allocation
    application.save(update_fields=["allocation", "updated"])
    progress_reports.schedule(allocation, application.call, now)
    lifecycle.transition(application, S.AWARDED, actor=actor, message=message)
    _announce(application, awarded_hours=seconds / 3600, held_hours=held_seconds / 3600)
    return application


def decline(application: Application, *, actor: Any, message: str) -> Application:
    """Decline, with a message to the applicant saying why."""
    return _decide_with_message(application, S.DECLINED, actor, message, "why the application is declined")


def waitlist(application: Application, *, actor: Any, message: str) -> Application:
    """Keep the application for an award if budget frees up."""
    return _decide_with_message(application, S.WAITLISTED, actor, message, "what the waitlist means for them")


@transaction.atomic
def _decide_with_message(application: Application, state: str, actor: Any, message: str, owed: str) -> Application:
    """A decision that owes the applicant an explanation: refused without one."""
    if not message.strip():
        raise WorkflowError(f"Tell the applicant {owed}.", field="message")
    application = _lock_for_decision(application)
    lifecycle.transition(application, state, actor=actor, message=message.strip())
    _announce(application)
    return application
