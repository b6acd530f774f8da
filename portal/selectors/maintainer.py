"""What the maintainer's pages read: calls with their budgets, a call's ranking, its audit log.

Each function runs a fixed number of queries whatever the amount of data (the ranking is read a
page at a time), so the pages' query counts do not grow with it (benchmarks/pages.py measures them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, IntegerField, QuerySet
from django.db.models.functions import Coalesce

from portal.models import Application, AuditEntry, Call, ReviewAssignment, User
from portal.selectors.subqueries import per_row
from portal.services import assignment, decisions
from portal.services.reviews import ReviewSummary, reviews_of, submitted_reviews, summarise
from reproducibility.models import Report

S = Application.State
# Applications that reached the maintainers: neither drafts nor withdrawn.
LIVE_STATES = (S.SUBMITTED, S.UNDER_REVIEW, S.AWARDED, S.DECLINED, S.WAITLISTED)
HOUR = 3600


def calls_overview() -> QuerySet[Call]:
    """Every call, newest first, with its pools' budgets and how far its applications got."""
    return (
        Call.objects.annotate(
            application_count=_applications_in(LIVE_STATES),
            waiting_count=_applications_in(decisions.DECIDABLE_STATES),
            decided_count=_applications_in((S.AWARDED, S.DECLINED)),
        )
        .prefetch_related("call_pools__pool")
        .order_by("-opens_at", "-pk")
    )


def _applications_in(states: Iterable[str]) -> Coalesce:
    """How many of the outer call's applications are in `states` (on the (call, state) index)."""
    return per_row(Application.objects.filter(state__in=states), "call", Count("*"))


def awaiting_decision() -> QuerySet[Application]:
    """Applications under review or waitlisted, oldest submission first, with their submitted reviews counted."""
    return (
        Application.objects.filter(state__in=decisions.DECIDABLE_STATES)
        .select_related("call", "project", "pool")
        .annotate(review_count=Coalesce(submitted_reviews(Count("pk"), IntegerField()), 0))
        .order_by("submitted_at", "pk")
    )


@dataclass(frozen=True)
class ReviewFigures:
    weighted_score: float
    recommended_seconds: int


@dataclass(frozen=True)
class ReviewerLine:
    """One reviewer of a ranking row: who, how far they got, and their review's figures once submitted."""

    reviewer: str
    state: str
    review: ReviewFigures | None

    @property
    def state_label(self) -> str:
        return ReviewAssignment.State(self.state).label


@dataclass(frozen=True)
class RankedRow:
    """One application of the ranking with what the maintainer decides from."""

    rank: int | None
    application: Application
    summary: ReviewSummary
    assignments: list[ReviewerLine]

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


def _applications(call: Call, application_ids: list[int]) -> Mapping[int, Application]:
    """Those of `application_ids` still in the call's ranking, with what their rows show."""
    return (
        decisions.in_ranking(call)
        .select_related("project", "pool", "snapshot", "allocation")
        .annotate(reproducibility_score=Report.latest_of("snapshot", "score"))
        .in_bulk(application_ids)
    )


def _reviewer_lines(application_ids: Iterable[int]) -> dict[int, list[ReviewerLine]]:
    """The reviewers of each application, first assigned first, read as plain rows (a ranking page
    has some sixty: as model instances with their users and reviews they took 5 ms of its time)."""
    lines: dict[int, list[ReviewerLine]] = defaultdict(list)
    rows = (
        ReviewAssignment.objects.filter(application__in=list(application_ids))
        .order_by("created", "pk")
        .values_list(
            "application_id",
            "reviewer__first_name",
            "reviewer__last_name",
            "reviewer__username",
            "state",
            "review__weighted_score",
            "review__recommended_seconds",
        )
    )
    for application_id, first, last, username, state, score, seconds in rows:
        submitted = state == ReviewAssignment.State.SUBMITTED and score is not None
        figures = ReviewFigures(score, seconds) if submitted else None
        lines[application_id].append(ReviewerLine(User.name_of(first, last, username), state, figures))
    return lines


def _rows(call: Call, application_ids: list[int], first_rank: int | None) -> list[RankedRow]:
    applications = _applications(call, application_ids)
    lines = _reviewer_lines(applications)
    return [
        RankedRow(
            None if first_rank is None else first_rank + i,
            applications[pk],
            summarise(call, [line.review for line in lines[pk] if line.review]),
            lines[pk],
        )
        for i, pk in enumerate(application_ids)
        if pk in applications
    ]


def ranking_page(call: Call, number: Any, per_page: int) -> tuple[Page[int], list[RankedRow]]:
    """One page of the call's ranking (portal.services.decisions), numbered from the page's first rank."""
    # Ranked on bare ids, then only the page's rows read whole: sorting the call's wide joined
    # rows cost three times the ranking itself (benchmarks/pages.py).
    order = decisions.ranked_applications(call).select_related(None).values_list("pk", flat=True)
    page = Paginator(order, per_page).get_page(number)
    return page, _rows(call, list(page), page.start_index())


def row_of(application: Application, rank: int | None = None) -> RankedRow | None:
    """One application's row of its call's ranking, read afresh; None once it left the ranking (withdrawn)."""
    rows = _rows(application.call, [application.pk], rank)
    return rows[0] if rows else None


def decision_row(application: Application, summary: ReviewSummary) -> RankedRow:
    """The decision forms' row for an application on its own page: unranked, its reviewers shown apart."""
    return RankedRow(None, application, summary, [])


def call_log(call: Call) -> QuerySet[AuditEntry]:
    """The audit entries of the call and of all its applications, newest first."""
    return AuditEntry.objects.filter(call=call).select_related("actor").order_by("-at", "-pk")


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
