"""Reviewer assignment: balanced by load, never to a reviewer with a conflict of interest."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, prefetch_related_objects

from portal.access import roles
from portal.errors import WorkflowError
from portal.models import Application, ConflictDeclaration, Project, ReviewAssignment, User
from portal.selectors.subqueries import per_row
from portal.services import audit, lifecycle, notifications

A = ReviewAssignment.State
# Applications that still need reviewers.
REVIEWABLE_STATES = (Application.State.SUBMITTED, Application.State.UNDER_REVIEW)


def _same(a: str, b: str) -> bool:
    return bool(a.strip()) and a.strip().casefold() == b.strip().casefold()


# Why a reviewer may not review an application, by reason: the maintainer's page counts them.
CONFLICT_REASONS = {
    "member": "member of the project",
    "declared": "declared a conflict",
    "organisation": "works for the project's organisation",
    "affiliation": "shares an affiliation with a project member",
}


def conflicts_of_interest(
    reviewer: User, application: Application, declared: Collection[int] | None = None
) -> list[str]:
    """Why `reviewer` must not review `application`; empty when there is no conflict.

    `declared`: the ids of the reviewers who declared a conflict with the project, when the caller
    read them once for many reviewers.
    """
    return [text for _, text in _conflicts(reviewer, application, declared)]


def _conflicts(reviewer: User, application: Application, declared: Collection[int] | None) -> list[tuple[str, str]]:
    # Members are the accepted memberships only: a pending invitation is no conflict (an applicant
    # could otherwise remove any reviewer by inviting them).
    project = application.project
    people = [project.owner, *project.members.all()]
    reasons = []
    if any(person.pk == reviewer.pk for person in people):
        reasons.append(("member", "is a member of the project"))
    if (
        reviewer.pk in declared
        if declared is not None
        else ConflictDeclaration.objects.filter(reviewer=reviewer, project=project).exists()
    ):
        reasons.append(("declared", "declared a conflict with the project"))
    if application.call.conflict_same_affiliation and reviewer.affiliation.strip():
        if _same(reviewer.affiliation, project.organisation):
            reasons.append(("organisation", f"works for the project's organisation ({project.organisation})"))
        elif any(_same(reviewer.affiliation, p.affiliation) for p in people if p.pk != reviewer.pk):
            reasons.append(("affiliation", f"shares an affiliation ({reviewer.affiliation}) with a project member"))
    return reasons


@dataclass(frozen=True)
class ReviewerPool:
    """How the portal's reviewers stand towards one application, for the maintainer's page."""

    reviewers: int  # active reviewers on the portal
    reviewing: int  # assigned to it or done
    asked_before: int  # declined it earlier (and have no conflict)
    excluded: int  # kept out by at least one conflict of interest
    by_reason: dict[str, int]  # reason label -> reviewers it keeps out (one reviewer may have several)
    eligible: int  # could be assigned now
    wanted: int  # the call's reviews per application

    @property
    def missing(self) -> int:
        return max(self.wanted - self.reviewing, 0)

    @property
    def short(self) -> bool:
        """Whether the eligible reviewers cannot fill the reviews still missing."""
        return self.eligible < self.missing


def reviewer_pool(application: Application) -> ReviewerPool:
    """Count the reviewers conflicts keep away from `application`, per reason, and those still eligible."""
    prefetch_related_objects([application], "project__owner", "project__members")
    declared = set(
        ConflictDeclaration.objects.filter(project=application.project_id).values_list("reviewer_id", flat=True)
    )
    states = dict(application.assignments.values_list("reviewer_id", "state"))
    reviewing = asked_before = excluded = eligible = 0
    by_reason = dict.fromkeys(CONFLICT_REASONS.values(), 0)
    reviewers = list(User.objects.filter(groups__name=roles.REVIEWER, is_active=True))
    for reviewer in reviewers:
        if states.get(reviewer.pk) in ReviewAssignment.ACTIVE_STATES:
            reviewing += 1
            continue
        codes = {code for code, _ in _conflicts(reviewer, application, declared)}
        if codes:
            excluded += 1
            for code in codes:
                by_reason[CONFLICT_REASONS[code]] += 1
        elif reviewer.pk in states:
            asked_before += 1
        else:
            eligible += 1
    return ReviewerPool(
        reviewers=len(reviewers),
        reviewing=reviewing,
        asked_before=asked_before,
        excluded=excluded,
        by_reason={label: count for label, count in by_reason.items() if count},
        eligible=eligible,
        wanted=application.call.reviews_per_application,
    )


def reviewer_loads() -> dict[int, int]:
    """Open assignments per reviewer: the load that assignment balances."""
    rows = (
        User.objects.filter(groups__name=roles.REVIEWER, is_active=True)
        .annotate(load=Count("assignments", filter=Q(assignments__state=A.ASSIGNED)))
        .values_list("pk", "load")
    )
    return dict(rows)


def candidates(application: Application) -> list[User]:
    """Reviewers who may be asked, least loaded first (ties: fewest reviews ever, then oldest account)."""
    asked = set(application.assignments.values_list("reviewer_id", flat=True))
    assignments = ReviewAssignment.objects.all()
    reviewers = (
        User.objects.filter(groups__name=roles.REVIEWER, is_active=True)
        .exclude(pk__in=asked)
        .annotate(
            load=per_row(assignments.filter(state=A.ASSIGNED), "reviewer", Count("*")),
            total=per_row(assignments.filter(state__in=[A.ASSIGNED, A.SUBMITTED]), "reviewer", Count("*")),
        )
        .order_by("load", "total", "pk")
    )
    # The project's people and declared conflicts read once, not once per reviewer.
    prefetch_related_objects([application], "project__owner", "project__members")
    declared = set(
        ConflictDeclaration.objects.filter(project=application.project_id).values_list("reviewer_id", flat=True)
    )
    return [reviewer for reviewer in reviewers if not conflicts_of_interest(reviewer, application, declared)]


@transaction.atomic
def assign_reviewers(application: Application, *, actor: Any = None) -> list[ReviewAssignment]:
    """Top the application up to the call's number of reviewers; returns the new assignments."""
    application = Application.objects.select_for_update().select_related("call", "project").get(pk=application.pk)
    if application.state not in REVIEWABLE_STATES:
        return []
    active = application.assignments.filter(state__in=ReviewAssignment.ACTIVE_STATES).count()
    missing = application.call.reviews_per_application - active
    created = [_assign(application, reviewer, actor) for reviewer in candidates(application)[: max(missing, 0)]]
    return created


def _assign(application: Application, reviewer: User, actor: Any) -> ReviewAssignment:
    assignment = ReviewAssignment.objects.create(
        application=application, reviewer=reviewer, assigned_by=actor if getattr(actor, "pk", None) else None
    )
    audit.record(actor, "review.assigned", application, reviewer=reviewer.username)
    if application.state == Application.State.SUBMITTED:
        lifecycle.transition(application, Application.State.UNDER_REVIEW, actor=actor)
    notifications.notify(
        "review_assigned", [reviewer], application=application, assignment=assignment, reviewer=reviewer
    )
    return assignment


@transaction.atomic
def assign_by_hand(application: Application, reviewer: User, *, actor: Any) -> ReviewAssignment:
    """A maintainer's choice of reviewer; conflicts of interest are refused all the same."""
    application = Application.objects.select_for_update().select_related("call", "project").get(pk=application.pk)
    if application.state not in REVIEWABLE_STATES:
        raise WorkflowError(f"The application is {application.get_state_display().lower()}; it takes no new reviewers.")
    if not roles.is_reviewer(reviewer) or not reviewer.is_active:
        raise WorkflowError(f"{reviewer} is not an active reviewer.")
    reasons = conflicts_of_interest(reviewer, application)
    if reasons:
        raise WorkflowError(f"{reviewer} has a conflict of interest: {'; '.join(reasons)}.")
    if application.assignments.filter(reviewer=reviewer).exists():
        raise WorkflowError(f"{reviewer} was already asked to review this application.")
    return _assign(application, reviewer, actor)


def _end_assignment(assignment: ReviewAssignment, state: str, *, actor: Any, reason: str) -> ReviewAssignment:
    locked = ReviewAssignment.objects.select_for_update().select_related("application").get(pk=assignment.pk)
    if locked.reviewer_id != getattr(actor, "pk", None):
        raise WorkflowError("Only the assigned reviewer can decline this review.")
    if locked.state != A.ASSIGNED:
        raise WorkflowError(f"This review is already {locked.get_state_display().lower()}.")
    locked.state = state
    locked.reason = reason
    locked.save(update_fields=["state", "reason", "updated"])
    audit.record(actor, f"review.{state}", locked.application, message=reason)
    assign_reviewers(locked.application)
    return locked


@transaction.atomic
def decline(assignment: ReviewAssignment, *, actor: Any, reason: str = "") -> ReviewAssignment:
    """The reviewer cannot review it: someone else is asked in their place."""
    return _end_assignment(assignment, A.DECLINED, actor=actor, reason=reason)


@transaction.atomic
def declare_conflict(assignment: ReviewAssignment, *, actor: Any, reason: str) -> ReviewAssignment:
    """The reviewer has a conflict with the project: never assigned to it again; someone else is asked."""
    if not reason.strip():
        raise WorkflowError("Say what the conflict of interest is.")
    ConflictDeclaration.objects.get_or_create(
        reviewer=actor, project=assignment.application.project, defaults={"reason": reason}
    )
    return _end_assignment(assignment, A.CONFLICTED, actor=actor, reason=reason)


@transaction.atomic
def end_for_new_member(project: Project, member: User) -> list[ReviewAssignment]:
    """A reviewer who joined the project stops reviewing its applications; someone else is asked."""
    open_reviews = ReviewAssignment.objects.filter(application__project=project, reviewer=member, state=A.ASSIGNED)
    return [
        _end_assignment(open_review, A.CONFLICTED, actor=member, reason="joined the project as a member")
        for open_review in open_reviews
    ]
