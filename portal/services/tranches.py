"""Tranches: releasing the part of an award held back at the decision (portal.services.decisions.award).

Held hours already count against the call's budget, so a release moves nothing there: it makes
them reservable (a ledger `unhold` entry, scheduler.quota.release_held), audited and mailed.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from portal.errors import WorkflowError
from portal.models import Application
from portal.services import audit, notifications
from scheduler import quota
from scheduler.models import Allocation

NO_REASON = "Say why the tranche is released (e.g. the progress report it follows); the project reads it."


@transaction.atomic
def release(allocation: Allocation, seconds: int, *, actor: Any, reason: str) -> Allocation:
    """Release `seconds` of the allocation's held hours for its runs, or refuse saying why."""
    if not reason.strip():
        raise WorkflowError(NO_REASON, field="reason")
    try:
        released = quota.release_held(
            allocation, seconds, actor=actor, memo=f"tranche released: {reason.strip()}"[:500]
        )
    except quota.QuotaError as error:
        raise WorkflowError(str(error)) from error
    application = Application.objects.filter(allocation=released).first()
    audit.record(actor, "allocation.tranche_released", application or released, message=reason.strip(), seconds=seconds)
    notifications.notify(
        "tranche_released",
        notifications.project_people(released.project),
        allocation=released,
        released_hours=seconds / 3600,
        held_hours=released.held / 3600,
        reason=reason.strip(),
    )
    return released
