"""Requests during an award: a no-cost extension (a new end date), a supplement (more hours) or a renewal
(a new application to a later call, prefilled from the award's)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class AwardRequest(models.Model):
    """A project's request on its allocation, reviewed by a maintainer. Its state changes only through
    portal.services.award_requests."""

    class Kind(models.TextChoices):
        EXTENSION = "extension", "no-cost extension"
        SUPPLEMENT = "supplement"
        RENEWAL = "renewal"

    class State(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        DECLINED = "declined"

    allocation = models.ForeignKey("scheduler.Allocation", on_delete=models.CASCADE, related_name="award_requests")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    new_expires_at = models.DateTimeField(null=True, blank=True, help_text="Extension: the new end.")
    seconds = models.BigIntegerField(null=True, blank=True, help_text="Supplement: accelerator-seconds asked for.")
    # Renewal: the new application it drafted; it is decided with that application (portal.services.renewals).
    renewal = models.OneToOneField(
        "portal.Application", null=True, blank=True, on_delete=models.PROTECT, related_name="renewal_request"
    )
    reason = models.TextField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_message = models.TextField(blank=True)
    # A supplement above half the award needs the maintainer's reason for going beyond it.
    override_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="extension", new_expires_at__isnull=False)
                | Q(kind="supplement", seconds__gt=0)
                | Q(kind="renewal", renewal__isnull=False),
                name="award_request_says_what",
            ),
            models.UniqueConstraint(
                fields=["allocation", "kind"], condition=Q(state="pending"), name="one_pending_request_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display().capitalize()} for {self.allocation}"
