"""Applications: a project asking a call for accelerator-hours on one pool."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce

# What the ranking sorts on first: the kept review mean (1-5), and -1 for applications without
# reviews, so they come last. (No NULLS LAST: SQLite cannot index with it.)
REVIEW_RANK = Coalesce(F("review_mean"), Value(-1.0))


class Application(models.Model):
    """A project's request to a call. Its state changes only through portal.services.lifecycle."""

    class State(models.TextChoices):
        DRAFT = "draft"
        SUBMITTED = "submitted"
        UNDER_REVIEW = "under_review", "Under review"
        AWARDED = "awarded"
        DECLINED = "declined"
        WAITLISTED = "waitlisted"
        WITHDRAWN = "withdrawn"

    call = models.ForeignKey("portal.Call", on_delete=models.PROTECT, related_name="applications")
    project = models.ForeignKey("portal.Project", on_delete=models.CASCADE, related_name="applications")
    pool = models.ForeignKey("scheduler.AcceleratorPool", on_delete=models.PROTECT, related_name="applications")
    requested_seconds = models.BigIntegerField(help_text="Accelerator-seconds asked for.")
    justification = models.TextField(blank=True)
    # The training plan: what the award will run.
    entrypoint = models.CharField(max_length=300, blank=True, help_text="e.g. python train.py --epochs 5")
    workers = models.PositiveSmallIntegerField(default=1)
    accelerators_per_worker = models.PositiveSmallIntegerField(default=1)
    expected_runs = models.PositiveSmallIntegerField(default=1)

    state = models.CharField(max_length=16, choices=State.choices, default=State.DRAFT)
    snapshot = models.ForeignKey(
        "reproducibility.Snapshot", null=True, blank=True, on_delete=models.SET_NULL, related_name="applications"
    )
    decision_message = models.TextField(blank=True)
    # The mean weighted score of the submitted reviews, kept by portal.services.reviews.submit_review. The
    # call's ranking sorts on it: averaged per row instead, the sort cost 6 ms at 1,000 applications.
    review_mean = models.FloatField(null=True, blank=True, editable=False)
    allocation = models.OneToOneField(
        "scheduler.Allocation", null=True, blank=True, on_delete=models.PROTECT, related_name="application"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created"]
        indexes = [
            models.Index(fields=["call", "state"]),
            # Lists show the newest applications first: walked in this order, a page of them is read
            # without sorting all the visible ones (benchmarks/pages.py).
            models.Index(fields=["-created", "-id"], name="application_newest_first"),
            # A call's ranking (portal.services.decisions) walks this index: a page of it sorts a handful of rows.
            models.Index(F("call"), REVIEW_RANK.desc(), name="application_ranking"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["call", "project"], name="one_application_per_project_per_call"),
            models.CheckConstraint(condition=Q(requested_seconds__gt=0), name="application_requests_time"),
            models.CheckConstraint(condition=Q(workers__gte=1), name="application_has_a_worker"),
            models.CheckConstraint(
                condition=Q(accelerators_per_worker__gte=1), name="application_worker_has_an_accelerator"
            ),
            models.CheckConstraint(condition=Q(expected_runs__gte=1), name="application_expects_a_run"),
        ]

    def __str__(self) -> str:
        return f"{self.project} → {self.call}"

    @property
    def requested_hours(self) -> float:
        return self.requested_seconds / 3600

    @property
    def is_editable(self) -> bool:
        return self.state == self.State.DRAFT
