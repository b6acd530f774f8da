"""Calls: opening a funding round with its pools, budgets and rubric, editing and closing it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import slugify

from portal.errors import Problem, WorkflowError, refuse_if_any
from portal.models import Call, CallPool, RubricCriterion
from portal.services import audit
from scheduler.models import AcceleratorPool
from scheduler.quota import hours


@dataclass(frozen=True)
class Criterion:
    name: str
    description: str = ""
    weight: float = 1.0


# The golden path's rubric; a maintainer edits it per call.
DEFAULT_RUBRIC = (
    Criterion("Impact", "How much the open-source AI community gains from this work.", 0.3),
    Criterion("Technical merit", "Soundness of the approach and of the training plan.", 0.3),
    Criterion("Feasibility", "Can the team do it with the hours asked for, in the time given?", 0.2),
    Criterion("Reproducibility", "Can others rerun it and get the same results? See the report.", 0.2),
)


def unique_slug(model: Any, text: str) -> str:
    base = slugify(text)[:180] or "item"
    slug, n = base, 2
    while model.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def budget_field(pool_id: int) -> str:
    """The name under which forms (and refusals) carry a pool's budget."""
    return f"budget_{pool_id}"


def check_call(
    *,
    opens_at: datetime,
    closes_at: datetime,
    budgets: Sequence[tuple[AcceleratorPool, int]],
    criteria: Sequence[Criterion] | None = None,
) -> None:
    """Refuse a window, budgets or rubric a call cannot have, every reason at once (fields: closes_at,
    budgets, criteria). `criteria` None: the rubric is not being changed."""
    problems: list[Problem] = []
    if closes_at <= opens_at:
        problems.append(("closes_at", "A call must close after it opens."))
    if not budgets:
        problems.append(("budgets", "A call offers at least one pool."))
    elif len({pool.pk for pool, _ in budgets}) != len(budgets):
        problems.append(("budgets", "Each pool is offered once per call."))
    problems += [
        (budget_field(pool.pk), "Give a positive number of accelerator-hours, or leave it empty.")
        for pool, seconds in budgets
        if seconds <= 0
    ]
    if criteria is not None:
        if not criteria:
            problems.append(("criteria", "A call needs a rubric of at least one criterion."))
        if len({c.name.casefold() for c in criteria}) != len(criteria):
            problems.append(("criteria", "Rubric criteria need distinct names."))
        if any(c.weight <= 0 for c in criteria):
            problems.append(("criteria", "Rubric weights must be positive."))
    refuse_if_any(problems)


@transaction.atomic
def open_call(
    *,
    title: str,
    opens_at: datetime,
    closes_at: datetime,
    budgets: Sequence[tuple[AcceleratorPool, int]],
    criteria: Sequence[Criterion] = DEFAULT_RUBRIC,
    description: str = "",
    reviews_per_application: int = 2,
    actor: Any = None,
    **options: Any,
) -> Call:
    """Create a call offering each pool with its budget (accelerator-seconds), and its rubric."""
    check_call(opens_at=opens_at, closes_at=closes_at, budgets=budgets, criteria=criteria)
    if reviews_per_application < 1:
        raise WorkflowError("Each application needs at least one review.", field="reviews_per_application")
    call = Call.objects.create(
        title=title,
        slug=unique_slug(Call, title),
        description=description,
        opens_at=opens_at,
        closes_at=closes_at,
        reviews_per_application=reviews_per_application,
        created_by=actor if getattr(actor, "pk", None) else None,
        **options,
    )
    CallPool.objects.bulk_create(CallPool(call=call, pool=pool, budget_seconds=seconds) for pool, seconds in budgets)
    RubricCriterion.objects.bulk_create(
        RubricCriterion(call=call, name=c.name, description=c.description, weight=c.weight, position=i)
        for i, c in enumerate(criteria)
    )
    audit.record(actor, "call.opened", call, message=f"{len(budgets)} pools, {len(criteria)} criteria")
    return call


def open_calls(at: datetime | None = None) -> QuerySet[Call]:
    at = at or timezone.now()
    return Call.objects.filter(opens_at__lte=at, closes_at__gt=at).order_by("closes_at")


@dataclass(frozen=True)
class CapacityShortfall:
    """A pool's budget larger than the pool can run while the call's awards last."""

    pool: AcceleratorPool
    budget_seconds: int
    runnable_seconds: int

    def __str__(self) -> str:
        return (
            f"{self.pool} can run at most {hours(self.runnable_seconds)} accelerator-hours from the call's opening "
            f"to the end of its last possible award ({self.pool.capacity} accelerators x "
            f"{hours(self.runnable_seconds // max(self.pool.capacity, 1))} h); this budget is "
            f"{hours(self.budget_seconds)} h, so part of it could never be used."
        )


def capacity_shortfalls(
    *, opens_at: datetime, closes_at: datetime, award_validity_days: int, budgets: Sequence[tuple[AcceleratorPool, int]]
) -> list[CapacityShortfall]:
    """The budgets no pool could run in the call's period: from its opening to the end of an award made at its
    close (pool capacity x hours in that period), ignoring what other calls take from the same pool."""
    period = max((closes_at - opens_at + timedelta(days=award_validity_days)).total_seconds(), 0)
    return [
        CapacityShortfall(pool, seconds, int(pool.capacity * period))
        for pool, seconds in budgets
        if seconds > pool.capacity * period
    ]


# What a maintainer may change on a call once it exists; the rubric stays (reviews were scored against it).
EDITABLE = (
    "title",
    "description",
    "opens_at",
    "closes_at",
    "reviews_per_application",
    "conflict_same_affiliation",
    "disagreement_threshold",
    "award_validity_days",
    "report_months",
    "overdue_reports_block_runs",
    "idle_notice_days",
)


@transaction.atomic
def edit_call(call: Call, *, budgets: Sequence[tuple[AcceleratorPool, int]], actor: Any, **changes: Any) -> Call:
    """Change a call's window, settings and budgets, audited with what changed. A budget never drops below what
    the call already awarded on its pool, and a pool with applications or awards stays offered."""
    call = Call.objects.select_for_update(of=("self",)).get(pk=call.pk)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise WorkflowError(f"These cannot be edited on a call: {', '.join(sorted(unknown))}.")
    check_call(
        opens_at=changes.get("opens_at", call.opens_at),
        closes_at=changes.get("closes_at", call.closes_at),
        budgets=budgets,
    )
    problems: list[Problem] = []
    opens_at = changes.get("opens_at", call.opens_at)
    if opens_at != call.opens_at and opens_at > timezone.now() and call.applications.exists():
        # Announced and applied to: hiding it again would hide the applications' call from their projects.
        problems.append(("opens_at", "Projects have applied to this call: it cannot open again later."))
    if changes.get("reviews_per_application", call.reviews_per_application) < 1:
        problems.append(("reviews_per_application", "Each application needs at least one review."))
    offered = {offer.pool_id: offer for offer in CallPool.objects.select_for_update().filter(call=call)}
    wanted = {pool.pk: seconds for pool, seconds in budgets}
    for pool_id, offer in offered.items():
        if pool_id in wanted:
            if wanted[pool_id] < offer.awarded_seconds:
                problems.append(
                    (
                        budget_field(pool_id),
                        f"The call already awarded {hours(offer.awarded_seconds)} h on {offer.pool}; "
                        "its budget cannot be less.",
                    )
                )
        elif offer.awarded_seconds or call.applications.filter(pool_id=pool_id).exists():
            problems.append((budget_field(pool_id), f"Applications ask for {offer.pool}: the call keeps offering it."))
    refuse_if_any(problems)
    changed = [name for name, value in changes.items() if getattr(call, name) != value]
    for name in changed:
        setattr(call, name, changes[name])
    call.save()
    budget_changes = []
    for pool, seconds in budgets:
        current = offered.get(pool.pk)
        if current is None:
            CallPool.objects.create(call=call, pool=pool, budget_seconds=seconds)
        elif current.budget_seconds != seconds:
            current.budget_seconds = seconds
            current.save(update_fields=["budget_seconds"])
        else:
            continue
        budget_changes.append(f"{pool} {hours(seconds)} h")
    dropped = [offer for pool_id, offer in offered.items() if pool_id not in wanted]
    CallPool.objects.filter(pk__in=[offer.pk for offer in dropped]).delete()
    budget_changes += [f"{offer.pool} no longer offered" for offer in dropped]
    if changed or budget_changes:
        audit.record(actor, "call.edited", call, message="; ".join([*changed, *budget_changes]))
    return call


@transaction.atomic
def close_call(call: Call, *, actor: Any, reason: str = "") -> Call:
    """Stop taking applications now (those submitted go on to review and decision); audited."""
    call = Call.objects.select_for_update(of=("self",)).get(pk=call.pk)
    now = timezone.now()
    if call.closes_at <= now:
        raise WorkflowError(f"{call} closed on {call.closes_at:%Y-%m-%d %H:%M} UTC already.")
    if call.opens_at >= now:  # never opened: its window becomes an empty moment in the past
        call.opens_at = now - timedelta(seconds=1)
    call.closes_at = now
    call.save(update_fields=["opens_at", "closes_at"])
    audit.record(actor, "call.closed", call, message=reason.strip())
    return call
