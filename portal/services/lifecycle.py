"""The life of an application: one transition table and one function that applies it."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from portal.errors import WorkflowError
from portal.models import Application
from portal.services import audit

S = Application.State

TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.WITHDRAWN}),
    S.SUBMITTED: frozenset({S.UNDER_REVIEW, S.WITHDRAWN}),
    S.UNDER_REVIEW: frozenset({S.AWARDED, S.DECLINED, S.WAITLISTED, S.WITHDRAWN}),
    S.WAITLISTED: frozenset({S.AWARDED, S.DECLINED, S.WITHDRAWN}),
    S.AWARDED: frozenset(),
    S.DECLINED: frozenset(),
    S.WITHDRAWN: frozenset(),
}
DECIDED_STATES = frozenset({S.AWARDED, S.DECLINED})
CLOSED_STATES = frozenset({S.AWARDED, S.DECLINED, S.WITHDRAWN})
# States in which an application still asks for something and may be withdrawn or decided.
OPEN_STATES = frozenset(state for state, targets in TRANSITIONS.items() if S.WITHDRAWN in targets)


class InvalidTransition(WorkflowError):
    """The application cannot go from its state to the one asked for."""


def can_transition(application: Application, to_state: str) -> bool:
    return to_state in TRANSITIONS[application.state]


def transition(application: Application, to_state: str, *, actor: Any = None, message: str = "") -> Application:
    """Move the application to `to_state`, stamp it, save it and audit it. Callers hold its row lock."""
    if not can_transition(application, to_state):
        now_label, to_label = application.get_state_display().lower(), S(to_state).label.lower()
        raise InvalidTransition(f"The application is {now_label}; it cannot become {to_label}.")
    from_state = application.state
    application.state = to_state
    now = timezone.now()
    fields = ["state", "updated"]
    if to_state == S.SUBMITTED:
        application.submitted_at = now
        fields.append("submitted_at")
    if to_state in DECIDED_STATES or to_state in (S.WAITLISTED, S.WITHDRAWN):
        application.decided_at = now
        application.decision_message = message
        fields += ["decided_at", "decision_message"]
    application.save(update_fields=fields)
    audit.record(
        actor, f"application.{to_state}", application, from_state=from_state, to_state=to_state, message=message
    )
    if to_state in CLOSED_STATES:  # a renewal request is decided with its application
        from portal.services import renewals

        renewals.application_closed(application, actor=actor, message=message)
    return application
