"""What the applicant's pages read: their projects, applications, allocations and runs.

Each function runs a fixed number of queries whatever the amount of data, so the pages' query
counts do not grow with it (benchmarks/pages.py measures them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Case, Count, IntegerField, QuerySet, Value, When
from django.db.models.functions import Coalesce

from portal.models import Application, Call, Project
from portal.selectors.subqueries import per_row
from portal.selectors.visibility import member_project_ids
from portal.services import audit, lifecycle
from portal.services.calls import open_calls
from portal.services.reviews import ReviewSummary, reviews_of, summarise
from reproducibility.models import Report
from scheduler.models import Allocation, TrainingJob
from scheduler.selectors import Bar, bar

S = Application.State


def member_projects(user: Any) -> QuerySet[Project]:
    """Projects the user owns or is a member of (without duplicates, so they can be annotated)."""
    return Project.objects.filter(pk__in=member_project_ids(user))


def with_reproducibility(applications: QuerySet[Application]) -> QuerySet[Application]:
    """Applications with their call, project, pool and snapshot, and the latest report's score and level."""
    return applications.select_related("call", "project", "pool", "snapshot").annotate(
        report_score=Report.latest_of("snapshot", "score"),
        report_level=Report.latest_of("snapshot", "level"),
    )


def applications_of(user: Any) -> QuerySet[Application]:
    """The applications of the user's projects, newest first."""
    return with_reproducibility(Application.objects.filter(project__in=member_projects(user).values("pk"))).order_by(
        "-created", "-pk"
    )


def allocations_with_bars(allocations: QuerySet[Allocation], limit: int | None = None) -> list[tuple[Allocation, Bar]]:
    """Allocations, active ones first and soonest to expire first, each with its quota bar."""
    active_first = Case(
        When(state=Allocation.State.ACTIVE, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    ordered = allocations.select_related("project", "pool").order_by(active_first, "expires_at", "pk")
    return [(allocation, bar(allocation)) for allocation in ordered[:limit]]


def recent_jobs(user: Any) -> QuerySet[TrainingJob]:
    """Training runs on the allocations of the user's projects, newest first."""
    return TrainingJob.objects.filter(allocation__project__in=member_projects(user).values("pk")).select_related(
        "allocation__project", "pool"
    )


def projects_overview(user: Any) -> QuerySet[Project]:
    """The user's projects with how many applications and allocations each has."""
    # Counted by subqueries: a join of both grouped every application with every allocation.
    return (
        member_projects(user)
        .annotate(
            application_count=_count_of_project(Application.objects.all()),
            allocation_count=_count_of_project(Allocation.objects.all()),
        )
        .order_by("name", "pk")
    )


def _count_of_project(rows: QuerySet[Any]) -> Coalesce:
    """How many of `rows` belong to the outer project."""
    return per_row(rows, "project", Count("*"))


def offered_calls() -> QuerySet[Call]:
    """The calls open now with what they offer: pools with the budget left, and the rubric."""
    return open_calls().prefetch_related("call_pools__pool", "criteria")


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    what: str
    by: str
    message: str


VERB_LABELS = {"application.drafted": "Draft saved", "application.edited": "Draft edited"}


def _what(verb: str, to_state: str) -> str:
    if verb in VERB_LABELS:
        return VERB_LABELS[verb]
    return S(to_state).label.capitalize() if to_state in S.values else verb.removeprefix("application.")


def application_history(application: Application) -> list[HistoryEntry]:
    """The application's own audit entries, oldest first, naming only the project's people.

    Reviewers' entries (assigned, declined, review submitted) are left out, and anyone outside the
    project shows as "ComputeGrant": applicants never learn who reviewed them.
    """
    project = application.project
    people = {project.owner_id, *project.members.values_list("pk", flat=True)}
    entries = audit.history(application).filter(verb__startswith="application.").order_by("at", "pk")
    return [
        HistoryEntry(
            at=entry.at,
            what=_what(entry.verb, entry.to_state),
            by=str(entry.actor) if entry.actor is not None and entry.actor_id in people else "ComputeGrant",
            message=entry.message,
        )
        for entry in entries
    ]


@dataclass(frozen=True)
class Feedback:
    """What applicants read of their reviews: the comments to them and the aggregate, nothing else."""

    comments: list[str]
    summary: ReviewSummary


def feedback_for_applicant(application: Application) -> Feedback | None:
    """The reviews' comments to the applicant once the application is decided; None before."""
    if application.state not in lifecycle.DECIDED_STATES:
        return None
    reviews = reviews_of(application)
    return Feedback([review.comment_to_applicant for review in reviews], summarise(application.call, reviews))
