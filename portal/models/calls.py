"""Calls: funding rounds with their pools, budgets, rubric and conflict rules."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Call(models.Model):
    """A funding round: applications are taken between `opens_at` and `closes_at`."""

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    reviews_per_application = models.PositiveSmallIntegerField(default=2)
    # Conflict-of-interest rules, on top of membership and declared conflicts (always applied).
    conflict_same_affiliation = models.BooleanField(
        default=True, help_text="A reviewer whose affiliation matches the project's organisation or a member's."
    )
    # Reviews whose weighted scores differ by more than this (on the 1-5 scale) are flagged.
    disagreement_threshold = models.FloatField(default=1.5)
    award_validity_days = models.PositiveIntegerField(default=365, help_text="How long awarded allocations last.")
    # Progress reports are due this many months after the award (a final report at its end).
    report_months = models.JSONField(default=list, blank=True, help_text="e.g. [1, 3, 9]")
    overdue_reports_block_runs = models.BooleanField(
        default=False, help_text="An overdue report stops new runs on the allocation until it is submitted."
    )
    idle_notice_days = models.PositiveIntegerField(
        default=30, help_text="Days without a run before a low-usage notice; maintainers may then reclaim idle hours."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    pools = models.ManyToManyField("scheduler.AcceleratorPool", through="CallPool", related_name="calls")

    class Meta:
        ordering = ["-opens_at"]
        constraints = [
            models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="call_window_valid"),
            models.CheckConstraint(condition=Q(reviews_per_application__gte=1), name="call_needs_a_review"),
            models.CheckConstraint(condition=Q(disagreement_threshold__gt=0), name="call_threshold_positive"),
        ]

    def __str__(self) -> str:
        return self.title

    def is_open(self, at: datetime | None = None) -> bool:
        at = at or timezone.now()
        return self.opens_at <= at < self.closes_at


class CallPool(models.Model):
    """A pool offered by a call, with the accelerator-seconds the call may award on it."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="call_pools")
    pool = models.ForeignKey("scheduler.AcceleratorPool", on_delete=models.PROTECT, related_name="call_pools")
    budget_seconds = models.BigIntegerField()
    # Kept with the budget so that a CHECK makes over-awarding impossible, whatever the race.
    awarded_seconds = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["pool__name"]
        constraints = [
            models.UniqueConstraint(fields=["call", "pool"], name="call_offers_pool_once"),
            models.CheckConstraint(condition=Q(budget_seconds__gt=0), name="call_budget_positive"),
            models.CheckConstraint(condition=Q(awarded_seconds__gte=0), name="call_awarded_not_negative"),
            models.CheckConstraint(
                condition=Q(awarded_seconds__lte=F("budget_seconds")), name="call_never_over_budget"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.call}: {self.pool}"

    @property
    def remaining_seconds(self) -> int:
        return self.budget_seconds - self.awarded_seconds


class RubricCriterion(models.Model):
    """One thing reviewers score (1-5), with its weight in the application's review score."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="criteria")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    weight = models.FloatField(default=1.0)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["call", "name"], name="criterion_name_unique_in_call"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="criterion_weight_positive"),
        ]

    def __str__(self) -> str:
        return self.name
