"""Object-level permissions as an authentication backend.

Views anywhere ask ``request.user.has_perm("<app>.<action>_<model>", obj)``; this backend answers
for objects by finding the project they belong to. Keeping the rules here means scheduler and
reproducibility never import portal code to decide who sees what.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from portal.access import roles


def project_of(obj: Any) -> Any:
    """The portal project an object belongs to (a project, allocation, job, application...)."""
    for path in ("allocation.project", "project", "application.project"):
        target = obj
        for attr in path.split("."):
            target = getattr(target, attr, None)
            if target is None:
                break
        if target is not None:
            return target
    if obj.__class__.__name__ == "Project":
        return obj
    return None


def _is_project_member(user: Any, obj: Any) -> bool:
    project = project_of(obj)
    return project is not None and project.is_member(user)


def _is_reviewer_of(user: Any, obj: Any) -> bool:
    """Reviewers see the projects whose applications they are assigned to (see portal.services.reviews)."""
    project = project_of(obj)
    if project is None or not roles.is_reviewer(user):
        return False
    is_assigned = getattr(project, "has_assigned_reviewer", None)
    return bool(is_assigned and is_assigned(user))


def _can_view_project_things(user: Any, obj: Any) -> bool:
    return roles.is_maintainer(user) or _is_project_member(user, obj) or _is_reviewer_of(user, obj)


def _can_change_project_things(user: Any, obj: Any) -> bool:
    return roles.is_maintainer(user) or _is_project_member(user, obj)


def _is_assigned_to(user: Any, application: Any) -> bool:
    from portal.models import ReviewAssignment

    return ReviewAssignment.objects.filter(
        application=application, reviewer=user, state__in=ReviewAssignment.ACTIVE_STATES
    ).exists()


def _can_view_application(user: Any, application: Any) -> bool:
    return roles.is_maintainer(user) or _is_project_member(user, application) or _is_assigned_to(user, application)


def _can_change_application(user: Any, application: Any) -> bool:
    """Members edit, submit and withdraw their applications (the lifecycle says when)."""
    return _is_project_member(user, application)


def _can_review(user: Any, assignment: Any) -> bool:
    return assignment.reviewer_id == user.pk and roles.is_reviewer(user)


def _can_decide_report(user: Any, report: Any) -> bool:
    """Maintainers, and a reviewer of the application that made the report's award (the issue: "maintainers,
    or an assigned reviewer, approve or return it")."""
    from portal.models import ReviewAssignment

    if roles.is_maintainer(user):
        return True
    return roles.is_reviewer(user) and (
        ReviewAssignment.objects.filter(
            application__allocation_id=report.allocation_id, reviewer=user, state__in=ReviewAssignment.ACTIVE_STATES
        ).exists()
    )


def _is_verification(obj: Any) -> bool:
    """Whether an allocation (or a job's allocation) pays for a verification (portal.services.verification)."""
    from portal.models import Verification

    allocation_id = obj.allocation_id if hasattr(obj, "allocation_id") else getattr(obj, "pk", None)
    return allocation_id is not None and Verification.objects.filter(allocation_id=allocation_id).exists()


def _is_maintainer(user: Any, obj: Any) -> bool:
    return roles.is_maintainer(user)


def _can_view_snapshot(user: Any, snapshot: Any) -> bool:
    """Maintainers, whoever asked for it, and whoever may see an application scored from it."""
    if roles.is_maintainer(user) or getattr(snapshot, "requested_by_id", None) == user.pk:
        return True
    applications = getattr(snapshot, "applications", None)
    if applications is not None and any(_can_view_application(user, a) for a in applications.all()):
        return True
    # A commit asked for in a repository change, and what runs execute: the project's people see it.
    changes = getattr(snapshot, "repository_changes", None)
    allocations = getattr(snapshot, "allocations", None)
    return any(
        _can_change_project_things(user, thing)
        for related in (changes, allocations)
        if related is not None
        for thing in related.select_related("project")
    )


def _can_rescore_snapshot(user: Any, snapshot: Any) -> bool:
    """Maintainers, whoever asked for it, and the members of a project it scored: not its reviewers."""
    if roles.is_maintainer(user) or getattr(snapshot, "requested_by_id", None) == user.pk:
        return True
    applications = getattr(snapshot, "applications", None)
    return applications is not None and any(_can_change_application(user, a) for a in applications.all())


def _is_invitee(user: Any, invitation: Any) -> bool:
    return invitation.invitee_id is not None and invitation.invitee_id == user.pk


def _can_view_invitation(user: Any, invitation: Any) -> bool:
    """The invitee, and whoever may change the project (they sent it or may revoke it)."""
    return _is_invitee(user, invitation) or _can_change_project_things(user, invitation)


Rule = Callable[[Any, Any], bool]

RULES: dict[str, Rule] = {
    "portal.view_project": _can_view_project_things,
    "portal.change_project": _can_change_project_things,
    "portal.view_application": _can_view_application,
    "portal.change_application": _can_change_application,
    "portal.decide_application": _is_maintainer,
    # Verification runs on demand (portal.services.verification): the call's maintainers and assigned reviewers.
    "portal.verify_application": lambda user, application: (
        _is_maintainer(user, application) or _is_assigned_to(user, application)
    ),
    "portal.assign_reviewers": _is_maintainer,
    "portal.view_reviewassignment": _can_review,
    "portal.change_reviewassignment": _can_review,
    "portal.view_projectinvitation": _can_view_invitation,
    "portal.answer_projectinvitation": _is_invitee,
    "portal.revoke_projectinvitation": _can_change_project_things,
    "portal.view_call": _is_maintainer,
    # Repository change requests (portal.services.repository_changes): members ask, maintainers decide.
    "portal.request_repository_change": _can_change_application,
    "portal.view_repositorychange": _can_change_project_things,
    "portal.decide_repositorychange": _is_maintainer,
    "portal.change_call": _is_maintainer,
    "scheduler.view_allocation": _can_view_project_things,
    # A verification's allocation is the call's, not the project's: its runs are the verification's alone.
    "scheduler.submit_job": lambda user, allocation: (
        _can_change_project_things(user, allocation) and not _is_verification(allocation)
    ),
    # The grant's life after the award (portal.services.tranches): maintainers release held hours.
    "scheduler.release_tranche": _is_maintainer,
    # Idle hours reclaimed from an allocation (portal.services.usage): maintainers only.
    "scheduler.reclaim_hours": _is_maintainer,
    # Ending an award early, its unused hours back to the call (portal.services.award_terms.revoke).
    "scheduler.revoke_allocation": _is_maintainer,
    # A renewal drafts the project's application to a later call (portal.services.renewals): its members only.
    "scheduler.renew_allocation": lambda user, allocation: (
        _is_project_member(user, allocation) and not _is_verification(allocation)
    ),
    "portal.decide_report": _can_decide_report,
    # Writing a report is the project's, as running on its allocation is (a verification's has none).
    "portal.write_report": lambda user, report: (
        _can_change_project_things(user, report) and not _is_verification(report)
    ),
    "portal.decide_award_request": _is_maintainer,
    "scheduler.view_trainingjob": _can_view_project_things,
    "scheduler.cancel_trainingjob": lambda user, job: (
        roles.is_maintainer(user) or (_is_project_member(user, job) and not _is_verification(job))
    ),
    "reproducibility.view_snapshot": _can_view_snapshot,
    "reproducibility.rescore_snapshot": _can_rescore_snapshot,
}


def register_rule(perm: str, rule: Rule) -> None:
    """Let an app add the rule for one of its own object permissions."""
    RULES[perm] = rule


def _badge_is_public(snapshot: Any) -> bool:
    """By its number, a badge is public once the project's members published it or an application
    scored from it was awarded; before that its link (an unguessable token) is the only public way."""
    from portal.models import Application

    if getattr(snapshot, "badge_public", False):
        return True
    applications = getattr(snapshot, "applications", None)
    return applications is not None and applications.filter(state=Application.State.AWARDED).exists()


def _can_see_badge(user: Any, snapshot: Any) -> bool:
    if _badge_is_public(snapshot):
        return True
    return bool(user.is_active and user.is_authenticated and _can_view_snapshot(user, snapshot))


def _can_publish_badge(user: Any, snapshot: Any) -> bool:
    """The members of a project scored from it: publishing is the project's choice, not a maintainer's."""
    applications = getattr(snapshot, "applications", None)
    return applications is not None and any(_can_change_application(user, a) for a in applications.all())


register_rule("reproducibility.publish_badge", _can_publish_badge)

# Answered for anonymous visitors too: what anyone may see.
PUBLIC_RULES: dict[str, Rule] = {"reproducibility.view_badge": _can_see_badge}


class ObjectPermissionBackend:
    """Answers has_perm(perm, obj) for objects; model-level perms stay with ModelBackend."""

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        public_rule = PUBLIC_RULES.get(perm)
        if public_rule is not None and obj is not None:
            return bool(public_rule(user_obj, obj))
        if obj is None or not user_obj.is_active or not user_obj.is_authenticated:
            return False
        rule = RULES.get(perm)
        return bool(rule and rule(user_obj, obj))
