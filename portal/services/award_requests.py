"""Requests during an award, each a small reviewed workflow: the project asks, a maintainer decides.

- A no-cost extension moves the allocation's end (scheduler.quota.extend); the end-of-term notices
  are sent again for the new end and an open final report moves with it.
- A supplement adds hours (scheduler.quota.top_up), taken from the call's budget under its lock
  (portal.services.call_budget, as awards are): at most half the award unless the maintainer says why more.
- A renewal is a new application to a later call (portal.services.renewals), decided with it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from portal.errors import WorkflowError
from portal.models import AllocationNotice, Application, AwardRequest, BudgetEntry, ProgressReport
from portal.services import audit, call_budget, notifications, renewals
from scheduler import quota
from scheduler.models import Allocation, LedgerEntry

K, S = AwardRequest.Kind, AwardRequest.State
MAX_EXTENSION = timedelta(days=366)
NEEDS_REASON = "Say why the project needs it; the maintainers decide on it."
NEEDS_MESSAGE = "Tell the project why the request is declined."
RUNNING = (Allocation.State.ACTIVE, Allocation.State.SUSPENDED)


def _application(allocation: Allocation) -> Application:
    application = Application.objects.select_related("call").filter(allocation=allocation).first()
    if application is None:
        raise WorkflowError("Only an allocation awarded through a call takes requests.")
    return application


def _ask(allocation: Allocation, kind: str, *, actor: Any, reason: str, **what: Any) -> AwardRequest:
    if not reason.strip():
        raise WorkflowError(NEEDS_REASON, field="reason")
    if allocation.state not in RUNNING:
        raise WorkflowError(f"This allocation is {allocation.state}; it takes no more requests.")
    application = _application(allocation)
    if AwardRequest.objects.filter(allocation=allocation, kind=kind, state=S.PENDING).exists():
        raise WorkflowError(f"A {K(kind).label} request is already waiting for a decision.")
    request = AwardRequest.objects.create(
        allocation=allocation, kind=kind, reason=reason.strip(), requested_by=actor, **what
    )
    audit.record(actor, f"award_request.{kind}", application, message=reason.strip(), request=request.pk)
    notifications.notify(
        "award_request_submitted", notifications.maintainers(), request=request, hours=(request.seconds or 0) / 3600
    )
    return request


@transaction.atomic
def request_extension(allocation: Allocation, *, actor: Any, new_end: datetime, reason: str) -> AwardRequest:
    """Ask for a later end date, at most a year beyond the current one."""
    if new_end <= allocation.expires_at:
        raise WorkflowError(
            f"Ask for an end after the current one ({allocation.expires_at:%Y-%m-%d}).", field="new_end"
        )
    if new_end > allocation.expires_at + MAX_EXTENSION:
        raise WorkflowError(
            "An extension moves the end by at most a year; ask for a renewal beyond that.", field="new_end"
        )
    return _ask(allocation, K.EXTENSION, actor=actor, reason=reason, new_expires_at=new_end)


@transaction.atomic
def request_supplement(allocation: Allocation, *, actor: Any, seconds: int, reason: str) -> AwardRequest:
    """Ask for more hours on the same allocation."""
    if seconds <= 0:
        raise WorkflowError("A supplement is a positive number of accelerator-hours.", field="hours")
    return _ask(allocation, K.SUPPLEMENT, actor=actor, reason=reason, seconds=seconds)


def supplement_cap(allocation: Allocation) -> int:
    """Half of what was awarded at the decision: the most a supplement gives without an override."""
    awarded = sum(allocation.ledger.filter(kind=LedgerEntry.Kind.AWARD).values_list("seconds", flat=True))
    return awarded // 2


@transaction.atomic
def approve(request: AwardRequest, *, actor: Any, message: str = "", override_reason: str = "") -> AwardRequest:
    if request.kind == K.RENEWAL:
        raise WorkflowError(renewals.DECIDED_WITH_APPLICATION.format(pk=request.renewal_id))
    request = _locked_pending(request)
    application = _application(request.allocation)
    if request.kind == K.EXTENSION:
        assert request.new_expires_at is not None  # the model's CHECK
        _extend(request, request.new_expires_at)
    else:
        assert request.seconds is not None
        _supplement(request, application, request.seconds, actor=actor, override_reason=override_reason)
    return _decided(request, application, S.APPROVED, actor=actor, message=message)


@transaction.atomic
def decline(request: AwardRequest, *, actor: Any, message: str) -> AwardRequest:
    if request.kind == K.RENEWAL:  # declined with its application
        return renewals.decline(request, actor=actor, message=message)
    if not message.strip():
        raise WorkflowError(NEEDS_MESSAGE, field="message")
    request = _locked_pending(request)
    return _decided(request, _application(request.allocation), S.DECLINED, actor=actor, message=message)


def _locked_pending(request: AwardRequest) -> AwardRequest:
    locked = AwardRequest.objects.select_for_update(of=("self",)).select_related(
        "allocation__project", "allocation__pool"
    )
    request = locked.get(pk=request.pk)
    if request.state != S.PENDING:
        raise WorkflowError(f"This request is {request.get_state_display().lower()}; it cannot be decided again.")
    return request


def _extend(request: AwardRequest, new_end: datetime) -> None:
    try:
        allocation = quota.extend(request.allocation, new_end)
    except quota.QuotaError as error:
        raise WorkflowError(str(error)) from error
    # The end moved: its notices are owed again, and an open final report is due at the new end.
    AllocationNotice.objects.filter(
        allocation=allocation,
        kind__in=[AllocationNotice.Kind.EXPIRY_30, AllocationNotice.Kind.EXPIRY_7, AllocationNotice.Kind.EXPIRY_1],
    ).delete()
    ProgressReport.objects.filter(
        allocation=allocation,
        kind=ProgressReport.Kind.FINAL,
        state__in=[ProgressReport.State.DUE, ProgressReport.State.RETURNED],
    ).update(due_at=new_end, due_notice_sent_at=None)
    request.allocation = allocation


def _supplement(
    request: AwardRequest, application: Application, seconds: int, *, actor: Any, override_reason: str
) -> None:
    cap = supplement_cap(request.allocation)
    if seconds > cap and not override_reason.strip():
        raise WorkflowError(
            f"A supplement is at most half the award ({cap / 3600:g} h); "
            f"say why this one gives {seconds / 3600:g} h to go beyond it.",
            field="override_reason",
        )
    budget = call_budget.locked(application.call_id, application.pool_id)  # the budget first, as awards
    call_budget.take(
        budget,
        seconds,
        BudgetEntry.Kind.SUPPLEMENT,
        allocation=request.allocation,
        actor=actor,
        memo=f"supplement to {application.project}",
    )
    try:
        request.allocation = quota.top_up(request.allocation, seconds, actor=actor, memo="supplement")
    except quota.QuotaError as error:
        raise WorkflowError(str(error)) from error
    request.override_reason = override_reason.strip() if seconds > cap else ""


def _decided(request: AwardRequest, application: Application, state: str, *, actor: Any, message: str) -> AwardRequest:
    request.state, request.decided_by, request.decided_at = state, actor, timezone.now()
    request.decision_message = message.strip()
    request.save()
    audit.record(
        actor,
        f"award_request.{state}",
        application,
        message=message.strip(),
        to_state=state,
        request=request.pk,
        kind=request.kind,
        override=request.override_reason,
    )
    notifications.notify(
        "award_request_decided",
        notifications.project_people(request.allocation.project),
        request=request,
        awarded_hours=request.allocation.awarded / 3600,
    )
    return request
