"""Repository snapshots and their reproducibility reports."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models


def new_badge_token() -> str:
    """43 URL-safe characters (256 bits): a badge link nobody can guess or count through."""
    return secrets.token_urlsafe(32)


class Snapshot(models.Model):
    """A repository acquired at one commit into an isolated folder."""

    class Kind(models.TextChoices):
        GIT = "git", "git (https)"
        LOCAL = "local", "local folder"
        ARCHIVE = "archive", "uploaded archive"

    class Status(models.TextChoices):
        QUEUED = "queued"
        FETCHING = "fetching"
        SCORING = "scoring"
        DONE = "done"
        FAILED = "failed"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    source = models.CharField(max_length=500, help_text="URL, local path or archive file.")
    ref = models.CharField(max_length=200, blank=True, help_text="Branch, tag or commit asked for.")
    commit = models.CharField(max_length=80, blank=True, help_text="Resolved commit (or content digest).")
    path = models.CharField(max_length=500, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    file_count = models.PositiveIntegerField(default=0)
    fetch_seconds = models.FloatField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # The badge answers by number only when it is public (an award, or published by the project's
    # members: portal.access.permissions); by this token, to anyone given the link.
    badge_token = models.CharField(max_length=64, unique=True, default=new_badge_token, editable=False)
    badge_public = models.BooleanField(default=False, help_text="The project's members published the badge.")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["kind", "source", "commit"])]

    def __str__(self) -> str:
        return f"{self.source}@{self.commit[:12] or self.ref or '?'}"

    @property
    def latest_report(self) -> Report | None:
        return self.reports.order_by("-created").first()


class Report(models.Model):
    """A snapshot scored by one checker version: the same pair always gives the same report."""

    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="reports")
    checker_version = models.CharField(max_length=20)
    score = models.FloatField()
    level = models.CharField(max_length=10)
    results = models.JSONField(help_text="The Scorecard-shaped report.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "checker_version"], name="one_report_per_checker_version"),
            models.CheckConstraint(condition=models.Q(score__gte=0, score__lte=100), name="report_score_0_100"),
        ]

    def __str__(self) -> str:
        return f"{self.snapshot}: {self.score} ({self.level})"

    @staticmethod
    def latest_of(snapshot: str, field: str) -> models.Subquery:
        """For annotate(): `field` of the latest report on the outer row's snapshot, `snapshot` being
        the path to it from that row ("snapshot", "application__snapshot")."""
        latest = Report.objects.filter(snapshot=models.OuterRef(snapshot)).order_by("-created")
        return models.Subquery(latest.values(field)[:1])
