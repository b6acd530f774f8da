"""A call's budget on a pool, moved only through its ledger (portal.models.BudgetEntry).

Lock order: the budget row, then the allocation (inside scheduler.quota), as the award does, so
awards, returns and supplements racing for the same budget serialise and never deadlock.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F

from portal.errors import WorkflowError
from portal.models import BudgetEntry, CallPool
from scheduler.models import Allocation


def locked(call_id: int, pool_id: int) -> CallPool:
    """The call's budget row on the pool, locked for this transaction, and only it: locking the joined
    call and pool rows too made a supplement and an award racing for a budget deadlock (the award held
    the call, the supplement the pool; tests/portal/test_award_requests.py)."""
    return (
        CallPool.objects.select_for_update(of=("self",))
        .select_related("call", "pool")
        .get(call_id=call_id, pool_id=pool_id)
    )


def take(
    budget: CallPool, seconds: int, kind: str, *, allocation: Allocation | None, actor: Any, memo: str = ""
) -> None:
    """Take `seconds` from a locked budget for an allocation, or refuse saying what remains."""
    if seconds > budget.remaining_seconds:
        raise WorkflowError(
            f"{seconds / 3600:g} h would exceed the call's budget on {budget.pool}: "
            f"{budget.remaining_seconds / 3600:g} h of {budget.budget_seconds / 3600:g} h remain."
        )
    _move(budget, seconds, kind, allocation=allocation, actor=actor, memo=memo)


def give_back(
    budget: CallPool, seconds: int, kind: str, *, allocation: Allocation | None, actor: Any, memo: str = ""
) -> None:
    """Credit `seconds` an allocation handed back (scheduler.quota.return_unused) to a locked budget."""
    if seconds > 0:
        _move(budget, -seconds, kind, allocation=allocation, actor=actor, memo=memo)


def _move(budget: CallPool, seconds: int, kind: str, *, allocation: Allocation | None, actor: Any, memo: str) -> None:
    CallPool.objects.filter(pk=budget.pk).update(awarded_seconds=F("awarded_seconds") + seconds)
    budget.awarded_seconds += seconds
    BudgetEntry.objects.create(
        call_pool=budget,
        kind=kind,
        seconds=seconds,
        allocation=allocation,
        actor=actor if getattr(actor, "pk", None) else None,
        memo=memo[:500],
    )


def ledger_sum(budget: CallPool) -> int:
    """The budget's awarded seconds replayed from its ledger (the cached value must equal it)."""
    return sum(budget.ledger.values_list("seconds", flat=True))
