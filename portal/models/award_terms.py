"""After the award: the call's budget ledger and the notices sent about an allocation's terms."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q


class BudgetEntry(models.Model):
    """One movement of a call's budget on a pool. Never updated or deleted.

    `seconds` is what the entry moves into `CallPool.awarded_seconds`: awards and supplements take
    from the budget (+), unused hours returned at expiry or at a revocation and reclaimed idle hours
    come back (-).
    The cached `awarded_seconds` always equals the sum of its entries.
    """

    class Kind(models.TextChoices):
        OPENING = "opening", "awarded before the ledger"
        AWARD = "award"
        SUPPLEMENT = "supplement"
        RETURN = "return", "returned at expiry"
        RECLAIM = "reclaim", "idle hours reclaimed"
        REVOKE = "revoke", "returned at revocation"

    call_pool = models.ForeignKey("portal.CallPool", on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    seconds = models.BigIntegerField(help_text="Signed accelerator-seconds taken from the budget.")
    allocation = models.ForeignKey(
        "scheduler.Allocation", null=True, blank=True, on_delete=models.PROTECT, related_name="budget_entries"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    memo = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created", "id"]
        verbose_name_plural = "budget entries"
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind__in=["opening", "award", "supplement"], seconds__gte=0)
                    | Q(kind__in=["return", "reclaim", "revoke"], seconds__lte=0)
                ),
                name="budget_entry_sign_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.seconds:+d}s on {self.call_pool_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("Budget entries are append-only: add another entry instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("Budget entries are append-only and cannot be deleted.")


class AllocationNotice(models.Model):
    """A notice about an allocation's terms, recorded once: the beat task sends each kind once."""

    class Kind(models.TextChoices):
        EXPIRY_30 = "expiry_30", "30 days before the end"
        EXPIRY_7 = "expiry_7", "7 days before the end"
        EXPIRY_1 = "expiry_1", "1 day before the end"
        ENDED = "ended", "ended, unused hours returned"
        IDLE = "idle", "low usage"

    allocation = models.ForeignKey("scheduler.Allocation", on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Whether a mail went out: when several thresholds pass at once, only the nearest is mailed.
    mailed = models.BooleanField(default=True)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sent_at", "id"]
        constraints = [models.UniqueConstraint(fields=["allocation", "kind"], name="allocation_notice_once")]

    def __str__(self) -> str:
        return f"{self.kind} for allocation {self.allocation_id}"
