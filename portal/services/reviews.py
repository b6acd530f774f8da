"""Reviews: rubric scores and comments, and their aggregate per application."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import transaction
from django.db.models import Avg, FloatField, QuerySet, Subquery

from portal.errors import Problem, WorkflowError, refuse_if_any
from portal.models import Application, Call, CriterionScore, Review, ReviewAssignment, RubricCriterion
from portal.selectors.subqueries import of_row
from portal.services import audit, notifications

SCORE_RANGE = range(1, 6)
REVIEWABLE_STATES = (Application.State.UNDER_REVIEW, Application.State.WAITLISTED)


def weighted_score(criteria: Iterable[RubricCriterion], scores: Mapping[int, int]) -> float:
    """The weighted mean of the criterion scores (1-5)."""
    criteria = list(criteria)
    total_weight = sum(c.weight for c in criteria)
    return sum(c.weight * scores[c.pk] for c in criteria) / total_weight


@transaction.atomic
def submit_review(
    assignment: ReviewAssignment,
    *,
    actor: Any,
    scores: Mapping[int, int],
    comment_to_applicant: str,
    recommendation: str,
    recommended_seconds: int = 0,
    confidential_comment: str = "",
) -> Review:
    """Record the assigned reviewer's review; every criterion of the call's rubric is scored 1-5."""
    # The application's row is locked too: reviews of one application are recorded one after the
    # other, so each mean kept on it counts every review submitted before.
    assignment = (
        ReviewAssignment.objects.select_for_update(of=("self", "application"))
        .select_related("application__call", "application__project", "reviewer")
        .get(pk=assignment.pk)
    )
    application = assignment.application
    if assignment.reviewer_id != getattr(actor, "pk", None):
        raise WorkflowError("Only the assigned reviewer can review this application.")
    if assignment.state != ReviewAssignment.State.ASSIGNED:
        raise WorkflowError(f"This review is already {assignment.get_state_display().lower()}.")
    if application.state not in REVIEWABLE_STATES:
        raise WorkflowError(f"The application is {application.get_state_display().lower()}; it takes no more reviews.")
    criteria = list(application.call.criteria.all())
    missing = [c.name for c in criteria if c.pk not in scores]
    if missing:
        raise WorkflowError(f"Score every criterion; missing: {', '.join(missing)}.")
    unknown = set(scores) - {c.pk for c in criteria}
    if unknown:
        raise WorkflowError("Scores were given for criteria that are not in this call's rubric.")
    if any(scores[c.pk] not in SCORE_RANGE for c in criteria):
        raise WorkflowError("Each criterion is scored from 1 to 5.")
    problems: list[Problem] = []
    if not comment_to_applicant.strip():
        problems.append(("comment_to_applicant", "Write a comment to the applicant."))
    if recommendation not in Review.Recommendation.values:
        problems.append(("recommendation", f"Recommend one of: {', '.join(Review.Recommendation.values)}."))
    if recommended_seconds < 0:
        problems.append(("recommended_hours", "Recommended hours cannot be negative."))
    refuse_if_any(problems)
    review = Review.objects.create(
        assignment=assignment,
        comment_to_applicant=comment_to_applicant.strip(),
        confidential_comment=confidential_comment.strip(),
        recommendation=recommendation,
        recommended_seconds=recommended_seconds,
        weighted_score=weighted_score(criteria, scores),
    )
    CriterionScore.objects.bulk_create(CriterionScore(review=review, criterion=c, score=scores[c.pk]) for c in criteria)
    assignment.state = ReviewAssignment.State.SUBMITTED
    assignment.save(update_fields=["state", "updated"])
    keep_review_means(Application.objects.filter(pk=application.pk))
    audit.record(
        actor, "review.submitted", application, recommendation=recommendation, score=round(review.weighted_score, 3)
    )
    submitted = application.assignments.filter(state=ReviewAssignment.State.SUBMITTED).count()
    notifications.notify(
        "review_submitted",
        notifications.maintainers(),
        application=application,
        review=review,
        reviewer=assignment.reviewer,
        submitted=submitted,
        expected=application.call.reviews_per_application,
    )
    return review


def submitted_reviews(aggregate: Any, output_field: Any) -> Subquery:
    """An aggregate of an application's submitted reviews, for annotate() or update() on applications.

    A correlated subquery, not a JOIN with GROUP BY: grouping the wide joined rows of a
    1,000-application call took 27 ms (benchmarks/pages.py).
    """
    submitted = Review.objects.filter(assignment__state=ReviewAssignment.State.SUBMITTED)
    return of_row(submitted, "assignment__application", aggregate, output_field)


def keep_review_means(applications: QuerySet[Application]) -> int:
    """Store on each of `applications` the mean weighted score of its submitted reviews (None without)."""
    return applications.update(review_mean=submitted_reviews(Avg("weighted_score"), FloatField()))


@dataclass(frozen=True)
class ReviewSummary:
    """The reviews of one application, aggregated."""

    count: int
    mean: float | None
    spread: float | None  # highest minus lowest weighted score
    stdev: float | None
    disagreement: bool
    recommended_seconds: int | None  # the median recommendation

    @property
    def mean_percent(self) -> float | None:
        return None if self.mean is None else (self.mean - 1) / 4 * 100


class Scored(Protocol):
    """What a summary reads of a review: a Review, or its figures read as plain rows."""

    @property
    def weighted_score(self) -> float: ...

    @property
    def recommended_seconds(self) -> int: ...


def summarise(call: Call, reviews: Iterable[Scored]) -> ReviewSummary:
    """Weighted mean, spread and a disagreement flag (spread over the call's threshold)."""
    scores = [r.weighted_score for r in reviews]
    hours = [r.recommended_seconds for r in reviews]
    if not scores:
        return ReviewSummary(0, None, None, None, False, None)
    spread = max(scores) - min(scores)
    return ReviewSummary(
        count=len(scores),
        mean=statistics.fmean(scores),
        spread=spread,
        stdev=statistics.pstdev(scores),
        disagreement=len(scores) > 1 and spread > call.disagreement_threshold,
        recommended_seconds=int(statistics.median(hours)),
    )


def reviews_of(application: Application) -> list[Review]:
    return list(
        Review.objects.filter(assignment__application=application)
        .select_related("assignment__reviewer")
        .prefetch_related("scores__criterion")
    )
