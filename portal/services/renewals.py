"""Renewals: a project asks to continue an award in a later call's round.

The request drafts a new application to that call, prefilled from the award's own (the project, the
pool, the hours asked, the justification and the training plan), and links it to the old allocation
through an AwardRequest of kind `renewal`. The project edits and submits the draft like any other;
its reviewers see the old award's usage, reports and released models (portal.selectors.renewals).
The request is decided with its application: awarded approves it, declined or withdrawn declines it
(`application_closed`, called by portal.services.lifecycle). A maintainer may decline it earlier,
which withdraws a draft or declines the application under review, with the same message.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from portal.errors import WorkflowError
from portal.models import Application, AwardRequest, Call
from portal.services import applications, audit, notifications
from scheduler.models import Allocation

S, A = AwardRequest.State, Application.State
RENEWABLE = (Allocation.State.ACTIVE, Allocation.State.SUSPENDED, Allocation.State.EXPIRED)
NEEDS_REASON = "Say why the project should go on; the maintainers and reviewers read it."
NEEDS_MESSAGE = "Tell the project why the renewal is declined."
DECIDED_WITH_APPLICATION = (
    "A renewal is approved by awarding its application, after its reviews: decide application {pk} on its call's page."
)
# What the renewal request becomes when its application closes.
CLOSED_BY: dict[str, str] = {A.AWARDED: S.APPROVED, A.DECLINED: S.DECLINED, A.WITHDRAWN: S.DECLINED}


def plan_from(application: Application) -> applications.Plan:
    """The old application's plan: what the renewal asks for unless the project changes it."""
    return applications.Plan(
        pool=application.pool,
        requested_seconds=application.requested_seconds,
        justification=application.justification,
        entrypoint=application.entrypoint,
        workers=application.workers,
        accelerators_per_worker=application.accelerators_per_worker,
        expected_runs=application.expected_runs,
    )


def renewal_calls(allocation: Allocation) -> Any:
    """Open calls a renewal of the allocation may go to: any but the one that made the award."""
    from portal.services import calls

    old = Application.objects.filter(allocation=allocation).values_list("call_id", flat=True).first()
    return calls.open_calls().exclude(pk=old or 0)


@transaction.atomic
def request_renewal(allocation: Allocation, *, actor: Any, call: Call, reason: str) -> AwardRequest:
    """Draft the project's application to `call` from the award's, linked to it; maintainers are told."""
    if not reason.strip():
        raise WorkflowError(NEEDS_REASON, field="reason")
    locked = Allocation.objects.select_for_update(of=("self",)).select_related("project").get(pk=allocation.pk)
    if locked.state not in RENEWABLE:
        raise WorkflowError(f"This allocation was {locked.state}; apply to a call afresh instead of renewing it.")
    old = Application.objects.select_related("call", "pool").filter(allocation=locked).first()
    if old is None:
        raise WorkflowError("Only an allocation awarded through a call is renewed; apply to a call instead.")
    if call.pk == old.call_id:
        raise WorkflowError(f"The award came from {call}; renew it in a later call.", field="call")
    if AwardRequest.objects.filter(allocation=locked, kind=AwardRequest.Kind.RENEWAL, state=S.PENDING).exists():
        raise WorkflowError("A renewal request is already waiting for a decision.")
    existing = Application.objects.filter(call=call, project=locked.project).first()
    if existing is not None:
        raise WorkflowError(
            f"{locked.project} already has an application to {call} (id {existing.pk}); change that one instead.",
            field="call",
        )
    try:
        draft = applications.save_draft(locked.project, call, plan_from(old), actor=actor)
    except WorkflowError as error:  # the old plan does not fit the new call (its pools, its budget, its dates)
        raise WorkflowError(
            f"The renewal starts from the award's application, which {call} cannot take: {error} "
            "Apply to that call with a new application instead.",
            field="call",
        ) from error
    request = AwardRequest.objects.create(
        allocation=locked,
        kind=AwardRequest.Kind.RENEWAL,
        reason=reason.strip(),
        requested_by=actor,
        renewal=draft,
    )
    audit.record(actor, "award_request.renewal", old, message=reason.strip(), request=request.pk, renewal=draft.pk)
    notifications.notify("award_request_submitted", notifications.maintainers(), request=request, hours=0)
    return request


@transaction.atomic
def decline(request: AwardRequest, *, actor: Any, message: str) -> AwardRequest:
    """A maintainer declines the renewal before its application is decided: the draft is withdrawn, or the
    application under review declined, with the message; the request closes with it."""
    from portal.services import decisions

    if not message.strip():
        raise WorkflowError(NEEDS_MESSAGE, field="message")
    renewal_id = AwardRequest.objects.values_list("renewal_id", flat=True).get(pk=request.pk)
    if renewal_id is not None:  # the application's row first, as decisions lock it before closing the request
        Application.objects.select_for_update(of=("self",)).filter(pk=renewal_id).first()
    request = _locked_pending(request)
    application = request.renewal
    assert application is not None  # the model's CHECK
    if application.state in decisions.DECIDABLE_STATES:
        decisions.decline(application, actor=actor, message=message)
    else:
        applications.withdraw(application, actor=actor, reason=f"renewal declined: {message.strip()}")
    request.refresh_from_db()
    return request


def application_closed(application: Application, *, actor: Any, message: str) -> None:
    """Close the renewal request of an application that was just awarded, declined or withdrawn (under the
    application's lock, in its transaction)."""
    to_state = CLOSED_BY.get(application.state)
    if to_state is None:
        return
    request = (
        AwardRequest.objects.select_for_update(of=("self",))
        .select_related("allocation__project", "allocation__pool")
        .filter(renewal=application, state=S.PENDING)
        .first()
    )
    if request is None:
        return
    request.state, request.decided_by, request.decided_at = to_state, actor, timezone.now()
    request.decision_message = message.strip() or f"The application was {application.get_state_display().lower()}."
    request.save()
    old = Application.objects.filter(allocation_id=request.allocation_id).first()
    audit.record(
        actor,
        f"award_request.{to_state}",
        old or request.allocation,
        message=request.decision_message,
        to_state=to_state,
        request=request.pk,
        kind=request.kind,
        renewal=application.pk,
    )
    notifications.notify(
        "award_request_decided",
        notifications.project_people(request.allocation.project),
        request=request,
        awarded_hours=0,
    )


def _locked_pending(request: AwardRequest) -> AwardRequest:
    locked = AwardRequest.objects.select_for_update(of=("self",)).select_related("renewal").get(pk=request.pk)
    if locked.kind != AwardRequest.Kind.RENEWAL:
        raise WorkflowError("This request is not a renewal.")
    if locked.state != S.PENDING:
        raise WorkflowError(f"This request is {locked.get_state_display().lower()}; it cannot be decided again.")
    return locked
