"""Invitations to a project: membership is offered, and only the invitee's acceptance makes it.

A project's `members` are its accepted memberships; conflicts of interest are read from them, so a
name typed into an invitation changes nothing about who may review until that person accepts.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

# How long an invitation waits for an answer.
INVITATION_LIFETIME = timedelta(days=30)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def default_expiry() -> object:
    return timezone.now() + INVITATION_LIFETIME


class ProjectInvitation(models.Model):
    """One offer of membership: to a username or an email address, as the inviter typed it."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"

    project = models.ForeignKey("portal.Project", on_delete=models.CASCADE, related_name="invitations")
    # What the inviter typed (an email address casefolded); shown to the project's people instead of
    # the account it names, so the list of invitations tells nobody whether an account exists.
    invitee_name = models.CharField(max_length=254)
    # The account the invitation is for: found when it was sent, or bound when someone signs up with
    # the invited address; empty while nobody answers to the name.
    invitee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="project_invitations",
    )
    inviter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    created = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=default_expiry)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-pk"]
        constraints = [
            # Inviting the same name twice while the first waits gives the same invitation back.
            models.UniqueConstraint(
                fields=["project", "invitee_name"],
                condition=Q(state="pending"),
                name="invitation_one_pending_per_name",
            ),
            models.CheckConstraint(
                condition=Q(state="pending") | Q(answered_at__isnull=False),
                name="invitation_answered_has_time",
            ),
        ]
        indexes = [models.Index(fields=["invitee", "state"], name="invitation_invitee_state")]

    def __str__(self) -> str:
        return f"{self.invitee_name} to {self.project_id} ({self.state})"

    @property
    def is_open(self) -> bool:
        """Pending and not past its expiry."""
        return self.state == self.State.PENDING and self.expires_at > timezone.now()
