"""What the maintainer's pages read: calls with their budgets, a call's ranking, its audit log.

Each function runs a fixed number of queries whatever the amount of data (the ranking is read a
page at a time), so the pages' query counts do not grow with it (benchmarks/pages.py measures them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Prefetch, Q, QuerySet

from portal import assignment, decisions
from portal.models import Application, AuditEntry, Call, ReviewAssignment
from portal.reviews import ReviewSummary, reviews_of, summarise

S = Application.State
# Applications that reached the maintainers: neither drafts nor withdrawn.
LIVE_STATES = (S.SUBMITTED, S.UNDER_REVIEW, S.AWARDED, S.DECLINED, S.WAITLISTED)
HOUR = 3600


def calls_overview() -> QuerySet[Call]:
    """Every call, newest first, with its pools' budgets and how far its applications got."""
    return (
        Call.objects.annotate(
            application_count=Count("applications", filter=Q(applications__state__in=LIVE_STATES)),
            waiting_count=Count("applications", filter=Q(applications__state__in=decisions.DECIDABLE_STATES)),
            decided_count=Count("applications", filter=Q(applications__state__in=[S.AWARDED, S.DECLINED])),
        )
        .prefetch_related("call_pools__pool")
        .order_by("-opens_at", "-pk")
    )


def awaiting_decision() -> QuerySet[Application]:
    """Applications under review or waitlisted, oldest submission first, with their submitted reviews counted."""
    return (
        Application.objects.filter(state__in=decisions.DECIDABLE_STATES)
        .select_related("call", "project", "pool")
        .annotate(review_count=Count("assignments", filter=Q(assignments__state=ReviewAssignment.State.SUBMITTED)))
        .order_by("submitted_at", "pk")
    )


def _with_assignments(applications: QuerySet[Application]) -> QuerySet[Application]:
    assignments = ReviewAssignment.objects.select_related("reviewer", "review").order_by("created", "pk")
    return applications.prefetch_related(Prefetch("assignments", queryset=assignments))


def ranking(call: Call) -> QuerySet[Application]:
    """The call's applications ranked by portal.decisions, each with its reviewers and their reviews."""
    return _with_assignments(decisions.ranked_applications(call))


@dataclass(frozen=True)
class RankedRow:
    """One application of the ranking with what the maintainer decides from."""

    rank: int | None
    application: Application
    summary: ReviewSummary
    assignments: list[ReviewAssignment]

    @property
    def award_hours(self) -> float:
        """The award to propose: the reviewers' median recommendation, or else what was asked for."""
        seconds = self.summary.recommended_seconds or self.application.requested_seconds
        return round(seconds / HOUR, 2)

    @property
    def decidable(self) -> bool:
        return self.application.state in decisions.DECIDABLE_STATES

    @property
    def reviewable(self) -> bool:
        return self.application.state in assignment.REVIEWABLE_STATES


def ranked_row(call: Call, application: Application, rank: int | None = None) -> RankedRow:
    """A row from an application read through `ranking` (its assignments prefetched)."""
    assignments = list(application.assignments.all())
    submitted = [a.review for a in assignments if a.state == ReviewAssignment.State.SUBMITTED and hasattr(a, "review")]
    return RankedRow(rank, application, summarise(call, submitted), assignments)


def ranked_rows(call: Call, applications: Iterable[Application], first_rank: int = 1) -> list[RankedRow]:
    return [ranked_row(call, application, first_rank + i) for i, application in enumerate(applications)]


def row_of(application: Application, rank: int | None = None) -> RankedRow | None:
    """One application's row of its call's ranking, read afresh; None once it left the ranking (withdrawn)."""
    ranked = ranking(application.call).filter(pk=application.pk).first()
    return None if ranked is None else ranked_row(application.call, ranked, rank)


def call_log(call: Call) -> QuerySet[AuditEntry]:
    """The audit entries of the call and of all its applications, newest first."""
    types = ContentType.objects.get_for_models(Call, Application)
    return (
        AuditEntry.objects.filter(
            Q(target_type=types[Call], target_id=call.pk)
            | Q(target_type=types[Application], target_id__in=call.applications.values("pk"))
        )
        .select_related("actor")
        .order_by("-at", "-pk")
    )


@dataclass(frozen=True)
class ReviewPanel:
    """Everything maintainers read about one application's reviews, confidential comments included."""

    assignments: list[ReviewAssignment]
    reviews: list[Any]
    summary: ReviewSummary


def review_panel(application: Application) -> ReviewPanel:
    assignments = list(application.assignments.select_related("reviewer", "assigned_by").order_by("created", "pk"))
    reviews = reviews_of(application)
    return ReviewPanel(assignments, reviews, summarise(application.call, reviews))
