"""What the reviewer's pages read: their queue, and beside an application its report and its runs.

Each function runs a fixed number of queries whatever the amount of data, so the pages' query
counts do not grow with it (benchmarks/pages.py measures them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)

from portal.models import Application, ProgressReport, ReviewAssignment
from reproducibility.models import Report, Snapshot
from scheduler.models import TrainingJob

A = ReviewAssignment.State
# Check statuses a reviewer should read first: what the repository lacks.
FAILING_STATUSES = ("fail", "partial")


def queue(user: Any) -> QuerySet[ReviewAssignment]:
    """The reviewer's assignments: open ones first (oldest first), then submitted ones (latest first)."""
    open_first = Case(When(state=A.ASSIGNED, then=Value(0)), default=Value(1), output_field=IntegerField())
    open_since = Case(When(state=A.ASSIGNED, then=F("created")), default=None, output_field=DateTimeField())
    return (
        ReviewAssignment.objects.filter(reviewer=user, state__in=ReviewAssignment.ACTIVE_STATES)
        .select_related("application__call", "application__project", "application__pool", "review")
        .annotate(
            report_score=Report.latest_of("application__snapshot", "score"),
            report_level=Report.latest_of("application__snapshot", "level"),
        )
        .alias(open_since=open_since)
        .order_by(open_first, F("open_since").asc(nulls_last=True), "-updated", "-pk")
    )


def queue_counts(user: Any) -> dict[str, int]:
    """How many reviews the reviewer has open and has submitted."""
    return ReviewAssignment.objects.filter(reviewer=user).aggregate(
        open=Count("pk", filter=Q(state=A.ASSIGNED)), submitted=Count("pk", filter=Q(state=A.SUBMITTED))
    )


@dataclass(frozen=True)
class ReportSummary:
    """The reproducibility report in brief: its score and level, and the checks that fail or half-pass."""

    snapshot: Snapshot | None
    report: Report | None
    failing: list[dict[str, Any]] = field(default_factory=list)
    passing_count: int = 0


def report_summary(application: Application) -> ReportSummary:
    """The latest report of the application's snapshot, failing checks first (heaviest first)."""
    snapshot = application.snapshot
    if snapshot is None:
        return ReportSummary(None, None)
    report = snapshot.latest_report
    if report is None:
        return ReportSummary(snapshot, None)
    checks = report.results.get("checks", [])
    failing = sorted(
        (check for check in checks if check.get("status") in FAILING_STATUSES),
        key=lambda check: (check.get("status") != "fail", -check.get("weight", 0), check.get("name", "")),
    )
    passing = sum(1 for check in checks if check.get("status") == "pass")
    return ReportSummary(snapshot, report, failing, passing)


def project_runs(application: Application, limit: int = 20) -> list[TrainingJob]:
    """The latest training runs of the application's project, on any of its allocations."""
    jobs = TrainingJob.objects.filter(allocation__project_id=application.project_id)
    return list(jobs.select_related("allocation__project", "pool").order_by("-submitted_at", "-pk")[:limit])


def reports_to_decide(user: Any, limit: int = 50) -> list[ProgressReport]:
    """Submitted reports of the awards whose applications `user` reviews: theirs to decide too (one query)."""
    reviewed = ReviewAssignment.objects.filter(reviewer=user, state__in=ReviewAssignment.ACTIVE_STATES).values(
        "application__allocation_id"
    )
    reports = ProgressReport.objects.filter(state=ProgressReport.State.SUBMITTED, allocation_id__in=reviewed)
    return list(reports.select_related("allocation__project").order_by("submitted_at", "pk")[:limit])
