"""Email notifications at each step of the workflow that concerns someone.

Each kind of message is a template `portal/email/<kind>.txt` whose first line is the subject.
Mail leaves from a worker after the transaction commits, so a rolled-back step sends nothing
and a slow mail server never slows a page.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string

from portal.access import roles
from portal.models import User

KINDS = (
    "application_submitted",
    "application_received",
    "review_assigned",
    "review_submitted",
    "application_decided",
    "application_withdrawn",
    "repository_change_requested",
    "repository_change_decided",
    "project_invitation",
    "allocation_expiring",
    "allocation_ended",
    "tranche_released",
    "report_due",
    "report_submitted",
    "report_decided",
    "award_request_submitted",
    "award_request_decided",
    "allocation_idle",
    "hours_reclaimed",
    "allocation_revoked",
)


def render(kind: str, context: dict[str, Any]) -> tuple[str, str]:
    """The subject and body of one message."""
    if kind not in KINDS:
        raise ValueError(f"Unknown notification {kind!r}.")
    text = render_to_string(f"portal/email/{kind}.txt", {"site_url": settings.CG_SITE_URL, **context})
    subject, _, body = text.strip().partition("\n")
    return subject.strip(), body.strip() + "\n"


def notify(kind: str, recipients: Iterable[Any], **context: Any) -> None:
    """Send `kind` to each recipient with an email address, once the transaction commits."""
    from portal.tasks import send_email

    addresses = sorted({user.email for user in recipients if getattr(user, "email", "")})
    if not addresses:
        return
    subject, body = render(kind, context)
    for address in addresses:
        transaction.on_commit(partial(send_email.delay, address, subject, body))


def maintainers() -> list[User]:
    return list(User.objects.filter(groups__name=roles.MAINTAINER, is_active=True))


def project_people(project: Any) -> list[User]:
    return [project.owner, *project.members.all()]
