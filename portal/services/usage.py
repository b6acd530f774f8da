"""Usage monitoring of an allocation: burn rate, a forecast, idle days; low-usage notices and the
maintainer's reclaim of idle hours back to the call (through both ledgers, audited, mailed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone

from portal.errors import WorkflowError
from portal.models import AllocationNotice, Application, BudgetEntry
from portal.services import audit, call_budget, notifications
from scheduler import quota
from scheduler.models import Allocation, LedgerEntry

BURN_WINDOW = timedelta(days=30)
NEEDS_REASON = "Say why the hours are reclaimed; the project reads it."
NOT_IDLE = "Idle hours are reclaimed after the project's low-usage notice; this allocation has had none."


@dataclass(frozen=True)
class Usage:
    """Where an allocation's hours are going, in accelerator-seconds and days."""

    burn_per_day: float  # charged per day over the last 30 days (or since the start, if sooner)
    days_since_last_run: int | None  # None: never ran
    runs_out_at: datetime | None  # at this pace, before the end
    unused_at_end: int  # at this pace, left when the allocation ends
    idle_noticed: bool


def usage_of(allocation: Allocation, now: datetime | None = None) -> Usage:
    """The allocation's burn rate and what it forecasts (two queries)."""
    now = now or timezone.now()
    since = max(allocation.starts_at, now - BURN_WINDOW)
    charged = allocation.ledger.filter(kind=LedgerEntry.Kind.CHARGE, created__gte=since).aggregate(s=Sum("seconds"))
    days = max((now - since) / timedelta(days=1), 1.0)
    burn = (charged["s"] or 0) / days
    last = allocation.jobs.aggregate(at=Max("submitted_at"))["at"]
    left = allocation.awarded - allocation.used
    days_to_end = max((allocation.expires_at - now) / timedelta(days=1), 0.0)
    runs_out_at = now + timedelta(days=left / burn) if burn and left / burn < days_to_end else None
    unused = 0 if runs_out_at else max(round(left - burn * days_to_end), 0)
    return Usage(
        burn_per_day=burn,
        days_since_last_run=(now - last).days if last else None,
        runs_out_at=runs_out_at,
        unused_at_end=unused,
        idle_noticed=allocation.notices.filter(kind=AllocationNotice.Kind.IDLE).exists(),
    )


def idle_allocations(now: datetime) -> list[Allocation]:
    """Awarded, running allocations with no run submitted for their call's idle period, not yet noticed."""
    candidates = (
        Allocation.objects.filter(state=Allocation.State.ACTIVE, application__isnull=False)
        .exclude(notices__kind=AllocationNotice.Kind.IDLE)
        .annotate(last_run=Max("jobs__submitted_at"))
        .select_related("application__call", "project", "pool")
    )
    idle: list[Allocation] = []
    for allocation in candidates:
        period = timedelta(days=allocation.application.call.idle_notice_days)
        quiet_since = allocation.last_run or allocation.starts_at
        if now - quiet_since >= period and allocation.remaining > 0:
            idle.append(allocation)
    return idle


def send_idle_notices(now: datetime | None = None) -> list[int]:
    """Tell each idle allocation's project, once; maintainers may reclaim from then on."""
    now = now or timezone.now()
    sent = []
    for allocation in idle_allocations(now):
        with transaction.atomic():
            _, created = AllocationNotice.objects.get_or_create(allocation=allocation, kind=AllocationNotice.Kind.IDLE)
            if created:
                notifications.notify(
                    "allocation_idle",
                    notifications.project_people(allocation.project),
                    allocation=allocation,
                    idle_days=allocation.application.call.idle_notice_days,
                    remaining_hours=allocation.remaining / 3600,
                )
                audit.record(None, "allocation.idle_notice", allocation.application, message="low usage")
                sent.append(allocation.pk)
    return sent


@transaction.atomic
def reclaim(allocation: Allocation, seconds: int, *, actor: Any, reason: str) -> int:
    """Take up to `seconds` of an idle allocation's unreserved hours back to its call's budget."""
    if not reason.strip():
        raise WorkflowError(NEEDS_REASON, field="reason")
    if seconds <= 0:
        raise WorkflowError("Reclaim a positive number of accelerator-hours.", field="hours")
    application = Application.objects.select_related("call", "project").filter(allocation=allocation).first()
    if application is None:
        raise WorkflowError("Only an allocation awarded through a call gives hours back to one.")
    budget = call_budget.locked(application.call_id, application.pool_id)  # the budget first, as awards
    locked = Allocation.objects.select_for_update().get(pk=allocation.pk)
    if not locked.notices.filter(kind=AllocationNotice.Kind.IDLE).exists():
        raise WorkflowError(NOT_IDLE)
    if locked.state != Allocation.State.ACTIVE:
        raise WorkflowError(f"This allocation is {locked.state}; its hours return to the call at its end.")
    if seconds > locked.remaining:
        raise WorkflowError(
            f"Only unreserved, released hours are reclaimed: {quota.hours(locked.remaining)} h, "
            f"not {quota.hours(seconds)} h."
        )
    memo = f"idle hours reclaimed: {reason.strip()}"[:500]
    taken = quota.return_unused(locked, actor=actor, memo=memo, limit=seconds)
    call_budget.give_back(budget, taken, BudgetEntry.Kind.RECLAIM, allocation=locked, actor=actor, memo=memo)
    audit.record(actor, "allocation.hours_reclaimed", application, message=reason.strip(), seconds=taken)
    notifications.notify(
        "hours_reclaimed",
        notifications.project_people(application.project),
        allocation=locked,
        reclaimed_hours=taken / 3600,
        reason=reason.strip(),
    )
    return taken
