"""Repository change requests: how an awarded (or reviewed) project moves to another commit.

The award is for what the reviewers scored. While a project has an application under review or an
active allocation its repository is fixed; a change is requested here, scored, and decided by a
maintainer who sees how the report changed (portal.services.repository_changes).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class RepositoryChange(models.Model):
    """An applicant's request to run another repository and/or commit than the reviewed one."""

    class State(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        DECLINED = "declined"

    project = models.ForeignKey("portal.Project", on_delete=models.CASCADE, related_name="repository_changes")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    repository_url = models.CharField(max_length=500, help_text="The repository asked for (may be the current one).")
    ref = models.CharField(max_length=200, blank=True, help_text="Commit, branch or tag asked for; empty: HEAD.")
    reason = models.TextField(help_text="Why the project needs the change, for the maintainers.")
    # What runs execute when the request is made, and the snapshot of what is asked for.
    base_snapshot = models.ForeignKey(
        "reproducibility.Snapshot", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    snapshot = models.ForeignKey(
        "reproducibility.Snapshot", on_delete=models.PROTECT, related_name="repository_changes"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_message = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            # One open question per project: two pending changes could not both be what runs execute.
            models.UniqueConstraint(
                fields=["project"], condition=Q(state="pending"), name="one_pending_repository_change_per_project"
            ),
        ]

    def __str__(self) -> str:
        return f"repository change {self.pk} of {self.project}"
