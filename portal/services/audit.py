"""Recording the audit log: every transition and decision, with who and when."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from portal.models import Application, AuditEntry, Call


def record(
    actor: Any,
    verb: str,
    target: models.Model,
    *,
    from_state: str = "",
    to_state: str = "",
    message: str = "",
    **details: Any,
) -> AuditEntry:
    """Append one entry to the audit log (inside the caller's transaction)."""
    return AuditEntry.objects.create(
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        verb=verb,
        target_type=ContentType.objects.get_for_model(target),
        target_id=target.pk,
        target_repr=str(target)[:300],
        from_state=from_state,
        to_state=to_state,
        message=message,
        details=details,
        call_id=call_of(target),
    )


def call_of(target: models.Model) -> int | None:
    """The call an audited object belongs to: a call itself, or the call of an application."""
    if isinstance(target, Call):
        return target.pk
    if isinstance(target, Application):
        return target.call_id
    return None


def history(target: models.Model) -> models.QuerySet[AuditEntry]:
    """The audit entries of one object, newest first."""
    return AuditEntry.objects.filter(
        target_type=ContentType.objects.get_for_model(target), target_id=target.pk
    ).select_related("actor")
