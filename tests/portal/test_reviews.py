"""Reviews: every criterion scored 1-5, weighted means, spreads and disagreement flags."""

import threading

import pytest
from django.db import connection

from portal.errors import WorkflowError
from portal.models import Application, Review, ReviewAssignment
from portal.services import applications, reviews

HOUR = 3600


@pytest.fixture
def under_review(draft, applicant, make_user):  # type: ignore[no-untyped-def]
    make_user("r1", "reviewer", affiliation="One")
    make_user("r2", "reviewer", affiliation="Two")
    return applications.submit(draft, actor=applicant)


def scores_for(call, *values):  # type: ignore[no-untyped-def]
    return {criterion.pk: value for criterion, value in zip(call.criteria.all(), values, strict=True)}


def review(assignment, *values, recommendation="award", hours=80):  # type: ignore[no-untyped-def]
    return reviews.submit_review(
        assignment,
        actor=assignment.reviewer,
        scores=scores_for(assignment.application.call, *values),
        comment_to_applicant="Clear plan; pin your dependencies.",
        confidential_comment="Strong team.",
        recommendation=recommendation,
        recommended_seconds=hours * HOUR,
    )


@pytest.mark.django_db
def test_a_review_scores_every_criterion_and_weights_them(under_review):
    assignment = under_review.assignments.first()
    # Weights 0.3, 0.3, 0.2, 0.2.
    made = review(assignment, 5, 3, 4, 2)
    assert made.weighted_score == pytest.approx(0.3 * 5 + 0.3 * 3 + 0.2 * 4 + 0.2 * 2)
    assert sorted(made.scores.values_list("score", flat=True)) == [2, 3, 4, 5]
    assignment.refresh_from_db()
    assert assignment.state == ReviewAssignment.State.SUBMITTED and assignment.is_active


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scores": "missing-one"}, "missing: Reproducibility"),
        ({"scores": "out-of-range"}, "from 1 to 5"),
        ({"scores": "foreign"}, "not in this call's rubric"),
        ({"comment_to_applicant": "  "}, "comment to the applicant"),
        ({"recommendation": "maybe"}, "Recommend one of"),
        ({"recommended_seconds": -1}, "cannot be negative"),
    ],
)
def test_a_bad_review_is_refused_and_nothing_is_recorded(under_review, kwargs, message):
    assignment = under_review.assignments.first()
    criteria = list(under_review.call.criteria.all())
    scores = {c.pk: 3 for c in criteria}
    if kwargs.get("scores") == "missing-one":
        scores.pop(criteria[-1].pk)
    elif kwargs.get("scores") == "out-of-range":
        scores[criteria[0].pk] = 6
    elif kwargs.get("scores") == "foreign":
        scores[10**9] = 3
    arguments = {
        "scores": scores,
        "comment_to_applicant": "Fine.",
        "recommendation": "award",
        "recommended_seconds": 0,
        **{k: v for k, v in kwargs.items() if k != "scores"},
    }
    with pytest.raises(WorkflowError, match=message):
        reviews.submit_review(assignment, actor=assignment.reviewer, **arguments)
    assert not Review.objects.exists()
    assignment.refresh_from_db()
    assert assignment.state == ReviewAssignment.State.ASSIGNED


@pytest.mark.django_db
def test_only_the_assigned_reviewer_reviews_and_only_once(under_review, applicant):
    assignment = under_review.assignments.first()
    with pytest.raises(WorkflowError, match="Only the assigned reviewer"):
        reviews.submit_review(
            assignment,
            actor=applicant,
            scores=scores_for(under_review.call, 5, 5, 5, 5),
            comment_to_applicant="Great",
            recommendation="award",
        )
    review(assignment, 4, 4, 4, 4)
    with pytest.raises(WorkflowError, match="already submitted"):
        review(assignment, 4, 4, 4, 4)


@pytest.mark.django_db
def test_the_summary_gives_mean_spread_and_flags_strong_disagreement(under_review):
    first, second = under_review.assignments.all()
    review(first, 5, 5, 5, 5, hours=100)
    review(second, 1, 2, 1, 2, recommendation="decline", hours=0)
    summary = reviews.summarise(under_review.call, reviews.reviews_of(under_review))
    assert summary.count == 2
    assert summary.mean == pytest.approx((5 + (0.3 + 0.6 + 0.2 + 0.4)) / 2)
    assert summary.spread == pytest.approx(5 - 1.5) and summary.disagreement
    assert summary.recommended_seconds == 50 * HOUR
    assert 0 <= summary.mean_percent <= 100


def test_close_reviews_are_not_flagged_and_no_reviews_summarise_to_nothing():
    class Call:
        disagreement_threshold = 1.5

    class R:
        def __init__(self, score):  # type: ignore[no-untyped-def]
            self.weighted_score, self.recommended_seconds = score, 0

    close = reviews.summarise(Call(), [R(4.0), R(3.0)])
    assert close.spread == 1.0 and not close.disagreement
    empty = reviews.summarise(Call(), [])
    assert empty.count == 0 and empty.mean is None and not empty.disagreement


@pytest.mark.django_db
def test_the_application_keeps_the_mean_of_its_submitted_reviews_for_the_ranking(under_review):
    first, second = under_review.assignments.all()
    assert Application.objects.get(pk=under_review.pk).review_mean is None
    review(first, 5, 5, 5, 5)
    assert Application.objects.get(pk=under_review.pk).review_mean == pytest.approx(5)
    review(second, 1, 1, 1, 1)
    assert Application.objects.get(pk=under_review.pk).review_mean == pytest.approx(3)
    refused = {"scores": {}, "comment_to_applicant": "", "recommendation": "award"}
    with pytest.raises(WorkflowError):
        reviews.submit_review(first, actor=first.reviewer, **refused)
    assert Application.objects.get(pk=under_review.pk).review_mean == pytest.approx(3)


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_submitting_at_once_are_both_in_the_kept_mean(under_review):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are what this checks")
    first, second = under_review.assignments.all()
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def submit(assignment, value):  # type: ignore[no-untyped-def]
        try:
            barrier.wait()
            review(assignment, value, value, value, value)
        except BaseException as error:  # reported by the assertion below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=pair) for pair in ((first, 5), (second, 2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures
    assert Application.objects.get(pk=under_review.pk).review_mean == pytest.approx(3.5)
