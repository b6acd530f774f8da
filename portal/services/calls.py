"""Calls: opening a funding round with its pools, budgets and rubric."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import slugify

from portal.errors import WorkflowError
from portal.models import Call, CallPool, RubricCriterion
from portal.services import audit
from scheduler.models import AcceleratorPool


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
    if closes_at <= opens_at:
        raise WorkflowError("A call must close after it opens.")
    if not budgets:
        raise WorkflowError("A call offers at least one pool.")
    if len({pool.pk for pool, _ in budgets}) != len(budgets):
        raise WorkflowError("Each pool is offered once per call.")
    if any(seconds <= 0 for _, seconds in budgets):
        raise WorkflowError("Each pool's budget must be a positive number of accelerator-hours.")
    if not criteria:
        raise WorkflowError("A call needs a rubric of at least one criterion.")
    if len({c.name.casefold() for c in criteria}) != len(criteria):
        raise WorkflowError("Rubric criteria need distinct names.")
    if any(c.weight <= 0 for c in criteria):
        raise WorkflowError("Rubric weights must be positive.")
    if reviews_per_application < 1:
        raise WorkflowError("Each application needs at least one review.")
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
