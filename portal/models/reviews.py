"""Reviewer assignments, declared conflicts and reviews."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ReviewAssignment(models.Model):
    """A reviewer asked to review one application."""

    class State(models.TextChoices):
        ASSIGNED = "assigned"
        SUBMITTED = "submitted"
        DECLINED = "declined"
        CONFLICTED = "conflicted"

    # Assignments that give the reviewer access to the application and its project.
    ACTIVE_STATES = (State.ASSIGNED, State.SUBMITTED)

    application = models.ForeignKey("portal.Application", on_delete=models.CASCADE, related_name="assignments")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments")
    state = models.CharField(max_length=12, choices=State.choices, default=State.ASSIGNED)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True, help_text="Why the reviewer declined or declared a conflict.")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created"]
        # Once asked, a reviewer is never asked again for the same application.
        constraints = [
            models.UniqueConstraint(fields=["application", "reviewer"], name="reviewer_assigned_once"),
        ]
        indexes = [models.Index(fields=["reviewer", "state"])]

    def __str__(self) -> str:
        return f"{self.reviewer} reviews {self.application}"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES


class ConflictDeclaration(models.Model):
    """A reviewer's declared conflict with a project (never assigned to it again)."""

    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conflicts")
    project = models.ForeignKey("portal.Project", on_delete=models.CASCADE, related_name="conflicts")
    reason = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["reviewer", "project"], name="conflict_declared_once")]

    def __str__(self) -> str:
        return f"{self.reviewer} conflicts with {self.project}"


class Review(models.Model):
    """A reviewer's judgement of an application: rubric scores, comments and a recommendation."""

    class Recommendation(models.TextChoices):
        AWARD = "award"
        WAITLIST = "waitlist"
        DECLINE = "decline"

    assignment = models.OneToOneField(ReviewAssignment, on_delete=models.CASCADE, related_name="review")
    comment_to_applicant = models.TextField()
    confidential_comment = models.TextField(blank=True, help_text="Seen by maintainers only.")
    recommendation = models.CharField(max_length=10, choices=Recommendation.choices)
    recommended_seconds = models.BigIntegerField(default=0)
    # The weighted mean of the criterion scores, kept for ranking without a join per review.
    weighted_score = models.FloatField()
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["submitted_at"]
        constraints = [
            models.CheckConstraint(condition=Q(recommended_seconds__gte=0), name="review_hours_not_negative"),
            models.CheckConstraint(condition=Q(weighted_score__gte=1, weighted_score__lte=5), name="review_score_1_5"),
        ]

    def __str__(self) -> str:
        return f"Review of {self.assignment.application} by {self.assignment.reviewer}"


class CriterionScore(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey("portal.RubricCriterion", on_delete=models.PROTECT, related_name="scores")
    score = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["review", "criterion"], name="one_score_per_criterion"),
            models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="criterion_score_1_5"),
        ]

    def __str__(self) -> str:
        return f"{self.criterion}: {self.score}"
