"""Award terms after the award: notices before the end, and the end itself.

Notices go out 30, 7 and 1 days before an allocation ends, each once (a row per notice, unique,
written under the allocation's lock). At the end the scheduler expires the allocation (queued runs
cancelled, their reservations released) and here its unused hours, held tranches included, go back
to the call's budget: a `return` entry in the allocation's ledger and one in the call's. Hours a
running run still holds at the end come back when it finishes, at the next sweep.

A maintainer may also end an award early (`revoke`): the same return, as a `revoke` entry on both
sides, and the same later return of what running runs still held.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from portal.errors import WorkflowError
from portal.models import AllocationNotice, Application, BudgetEntry
from portal.services import audit, call_budget, notifications, progress_reports, usage
from scheduler import quota
from scheduler.models import Allocation

N = AllocationNotice.Kind
# Nearest last: when several thresholds pass together (a short award) only the nearest is mailed.
EXPIRY_NOTICES = ((30, N.EXPIRY_30), (7, N.EXPIRY_7), (1, N.EXPIRY_1))
RUNNING_STATES = (Allocation.State.ACTIVE, Allocation.State.SUSPENDED)
ENDED_STATES = (Allocation.State.EXPIRED, Allocation.State.REVOKED)
NEEDS_REVOKE_REASON = "Say why the allocation is revoked; the project reads it."


def sweep(now: datetime | None = None) -> dict[str, list[int]]:
    """The beat's pass: expire what ended, return unused hours to the calls, send due notices."""
    now = now or timezone.now()
    return {
        "expired": quota.expire_allocations(now),
        "returned": return_unused_hours(),
        "notified": send_expiry_notices(now),
        "reports_due": progress_reports.send_due_notices(now),
        "idle": usage.send_idle_notices(now),
    }


def send_expiry_notices(now: datetime | None = None) -> list[int]:
    """Mail each running allocation's due end-of-term notice, once; the ids of those mailed."""
    now = now or timezone.now()
    due = (
        Allocation.objects.filter(
            state__in=RUNNING_STATES, expires_at__gt=now, expires_at__lte=now + timedelta(days=30)
        )
        .exclude(notices__kind=N.EXPIRY_1)
        .values_list("pk", flat=True)
    )
    return [pk for pk in list(due) if _send_expiry_notice(pk, now)]


@transaction.atomic
def _send_expiry_notice(allocation_id: int, now: datetime) -> bool:
    allocation = (
        Allocation.objects.select_for_update(of=("self",)).select_related("project", "pool").get(pk=allocation_id)
    )
    if allocation.state not in RUNNING_STATES or allocation.expires_at <= now:
        return False
    left = allocation.expires_at - now
    sent = set(allocation.notices.values_list("kind", flat=True))
    missing = [kind for days, kind in EXPIRY_NOTICES if left <= timedelta(days=days) and kind not in sent]
    if not missing:
        return False
    nearest = missing[-1]
    AllocationNotice.objects.bulk_create(
        AllocationNotice(allocation=allocation, kind=kind, mailed=kind == nearest) for kind in missing
    )
    notifications.notify(
        "allocation_expiring",
        notifications.project_people(allocation.project),
        allocation=allocation,
        days_left=math.ceil(left / timedelta(days=1)),  # 19 days and 23 hours read as 20
        remaining_hours=allocation.remaining / 3600,
        held_hours=allocation.held / 3600,
    )
    audit.record(None, "allocation.expiry_notice", _audit_target(allocation), message=N(nearest).label)
    return True


def return_unused_hours() -> list[int]:
    """Give every ended (expired or revoked) award's unused hours back to its call; the ids of
    allocations that gave some."""
    ended = (
        Allocation.objects.filter(state__in=ENDED_STATES, application__isnull=False)
        .filter(awarded__gt=F("used") + F("reserved"))
        .values_list("pk", flat=True)
    )
    return [pk for pk in list(ended) if return_unused(pk)]


@transaction.atomic
def return_unused(allocation_id: int) -> int:
    """One ended allocation's unused hours back to its call's budget (both ledgers), once."""
    application = Application.objects.select_related("call", "project").get(allocation_id=allocation_id)
    budget = call_budget.locked(application.call_id, application.pool_id)  # the budget first, as awards do
    allocation = (
        Allocation.objects.select_for_update(of=("self",)).select_related("project", "pool").get(pk=allocation_id)
    )
    if allocation.state not in ENDED_STATES:
        return 0
    revoked = allocation.state == Allocation.State.REVOKED
    memo = f"unused at the {'revocation' if revoked else 'end'}, returned to {application.call}"
    seconds = quota.return_unused(allocation, memo=memo)
    if not seconds:
        return 0
    kind = BudgetEntry.Kind.REVOKE if revoked else BudgetEntry.Kind.RETURN
    call_budget.give_back(budget, seconds, kind, allocation=allocation, actor=None, memo=memo)
    audit.record(None, "allocation.hours_returned", application, message=memo, seconds=seconds)
    _, first_time = AllocationNotice.objects.get_or_create(allocation=allocation, kind=N.ENDED)
    if first_time:  # a run that was still going returns its leftovers later, without a second mail
        allocation.refresh_from_db()
        notifications.notify(
            "allocation_ended",
            notifications.project_people(allocation.project),
            allocation=allocation,
            call=application.call,
            returned_hours=seconds / 3600,
            used_hours=allocation.used / 3600,
        )
    return seconds


@transaction.atomic
def revoke(allocation: Allocation, *, actor: Any, reason: str) -> int:
    """End an awarded allocation now and credit its unused hours, held tranches included, to the call's
    budget (a `revoke` entry in both ledgers); the seconds credited. Queued runs are cancelled and running
    ones asked to stop; what they still hold comes back when they finish, at the next sweep."""
    if not reason.strip():
        raise WorkflowError(NEEDS_REVOKE_REASON, field="reason")
    application = Application.objects.select_related("call", "project").filter(allocation=allocation).first()
    if application is None:
        raise WorkflowError(
            "Only an allocation awarded through a call is revoked here; its hours go back to that call."
        )
    budget = call_budget.locked(application.call_id, application.pool_id)  # the budget first, as awards do
    before = Allocation.objects.select_for_update(of=("self",)).select_related("project", "pool").get(pk=allocation.pk)
    if before.state not in RUNNING_STATES:
        raise WorkflowError(f"This allocation is {before.state}; only a running allocation is revoked.")
    memo = f"revoked: {reason.strip()}"[:500]
    revoked = quota.revoke(before, actor=actor, memo=memo)
    returned = before.awarded - revoked.awarded
    call_budget.give_back(budget, returned, BudgetEntry.Kind.REVOKE, allocation=revoked, actor=actor, memo=memo)
    # The end is told now: hours a running run hands back later return without a second mail.
    AllocationNotice.objects.get_or_create(allocation=revoked, kind=N.ENDED)
    audit.record(actor, "allocation.revoked", application, message=reason.strip(), seconds=returned)
    notifications.notify(
        "allocation_revoked",
        notifications.project_people(revoked.project),
        allocation=revoked,
        call=application.call,
        returned_hours=returned / 3600,
        used_hours=revoked.used / 3600,
        reason=reason.strip(),
    )
    return returned


def _audit_target(allocation: Allocation) -> Allocation | Application:
    """An award's entries go on its application, so that they show in the call's log."""
    return Application.objects.filter(allocation=allocation).first() or allocation
