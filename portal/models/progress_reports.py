"""Progress and final reports on an award: due dates set by the call, a structured form, a decision."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ProgressReport(models.Model):
    """What an allocation's hours did by a due date; maintainers approve it or return it.

    Its state changes only through portal.services.progress_reports.
    """

    class Kind(models.TextChoices):
        PROGRESS = "progress"
        FINAL = "final"

    class State(models.TextChoices):
        DUE = "due"
        SUBMITTED = "submitted"
        RETURNED = "returned", "returned for changes"
        APPROVED = "approved"

    allocation = models.ForeignKey("scheduler.Allocation", on_delete=models.CASCADE, related_name="reports")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    months_after_award = models.PositiveSmallIntegerField(null=True, blank=True)
    due_at = models.DateTimeField()
    state = models.CharField(max_length=12, choices=State.choices, default=State.DUE)
    # The structured form.
    work_done = models.TextField(blank=True)
    changes = models.TextField(blank=True, help_text="What changed from the plan, and why.")
    problems = models.TextField(blank=True)
    runs = models.ManyToManyField("scheduler.TrainingJob", blank=True, related_name="reports")
    # Runs whose SavedModel the project releases (identified by the model's fingerprint).
    released_models = models.ManyToManyField("scheduler.TrainingJob", blank=True, related_name="released_in")
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_comment = models.TextField(blank=True)
    due_notice_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["state", "due_at"])]
        constraints = [
            models.UniqueConstraint(fields=["allocation", "kind", "due_at"], name="report_due_once"),
            models.CheckConstraint(
                condition=Q(state__in=["due", "returned"]) | Q(submitted_at__isnull=False),
                name="report_submitted_has_a_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} for {self.allocation}"

    @property
    def title(self) -> str:
        return "Final report" if self.kind == self.Kind.FINAL else f"{self.months_after_award}-month report"

    @property
    def is_open(self) -> bool:
        """The project may (still) write it."""
        return self.state in (self.State.DUE, self.State.RETURNED)
