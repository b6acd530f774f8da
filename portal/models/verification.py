"""Verification runs: a call runs each submitted application's own training before hours are awarded."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class VerificationPolicy(models.Model):
    """A call's settings for verification runs, and the budget they are charged to."""

    call = models.OneToOneField("portal.Call", on_delete=models.CASCADE, related_name="verification_policy")
    enabled = models.BooleanField(default=True)
    pool = models.ForeignKey(
        "scheduler.AcceleratorPool", on_delete=models.PROTECT, related_name="+", help_text="A CPU pool by default."
    )
    minutes = models.PositiveSmallIntegerField(default=10, help_text="The time box of each run.")
    workers = models.PositiveSmallIntegerField(default=2, help_text="Workers in TF_CONFIG.")
    repeat = models.BooleanField(default=True, help_text="A second run with the same seed, to compare.")
    budget_seconds = models.BigIntegerField(help_text="Accelerator-seconds the call spends on verification.")

    class Meta:
        verbose_name_plural = "verification policies"
        constraints = [
            models.CheckConstraint(condition=Q(minutes__gte=1, minutes__lte=120), name="verification_minutes_1_120"),
            models.CheckConstraint(condition=Q(workers__gte=1, workers__lte=8), name="verification_workers_1_8"),
            models.CheckConstraint(condition=Q(budget_seconds__gte=0), name="verification_budget_not_negative"),
        ]

    def __str__(self) -> str:
        return f"verification of {self.call}"

    @property
    def runs(self) -> int:
        return 2 if self.repeat else 1

    @property
    def worst_case_seconds(self) -> int:
        """What one verification reserves: every run's workers for the whole time box."""
        return self.runs * self.workers * self.minutes * 60


class Verification(models.Model):
    """One verification of an application's snapshot: its runs, charged to an allocation of its own
    funded from the call's verification budget, and their judged evidence (the dynamic checks)."""

    class State(models.TextChoices):
        RUNNING = "running"
        JUDGED = "judged"

    application = models.ForeignKey("portal.Application", on_delete=models.CASCADE, related_name="verifications")
    snapshot = models.ForeignKey("reproducibility.Snapshot", on_delete=models.PROTECT, related_name="+")
    allocation = models.OneToOneField(
        "scheduler.Allocation", on_delete=models.PROTECT, related_name="verification", null=True, blank=True
    )
    run = models.ForeignKey("scheduler.TrainingJob", on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    repeat_run = models.ForeignKey(
        "scheduler.TrainingJob", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    state = models.CharField(max_length=12, choices=State.choices, default=State.RUNNING)
    verdict = models.CharField(max_length=200, blank=True)
    result = models.JSONField(default=dict, blank=True, help_text="The dynamic checks, Scorecard-shaped.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)
    judged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"verification {self.pk} of {self.application}"
