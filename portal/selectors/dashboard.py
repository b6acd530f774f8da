"""What each role's dashboard shows: one selector per role, each returning the template context."""

from __future__ import annotations

from typing import Any

from portal.access import roles
from portal.selectors import applicant, maintainer, reviewer
from portal.selectors.paging import head
from portal.services import invitations
from scheduler.models import Allocation

# Rows per list on the dashboard; each list links to its full page.
DASHBOARD_ROWS = 10


def applicant_dashboard(user: Any) -> dict[str, Any]:
    """Projects, applications with their state, allocations with quota bars, recent jobs."""
    projects = applicant.member_projects(user).values("pk")
    allocations = Allocation.objects.filter(project__in=projects)
    return {
        "projects": list(applicant.projects_overview(user)[:DASHBOARD_ROWS]),
        "applications": head(applicant.applications_of(user), DASHBOARD_ROWS),
        "allocations": applicant.allocations_with_bars(allocations, DASHBOARD_ROWS),
        "jobs": head(applicant.recent_jobs(user), DASHBOARD_ROWS),
        "rows": DASHBOARD_ROWS,
    }


def reviewer_dashboard(user: Any) -> dict[str, Any]:
    """The reviewer's queue: open assignments first, then done ones."""
    return {
        "assignments": head(reviewer.queue(user), DASHBOARD_ROWS),
        "counts": reviewer.queue_counts(user),
        "rows": DASHBOARD_ROWS,
    }


def maintainer_dashboard(user: Any) -> dict[str, Any]:
    """Calls with their budgets and progress, applications waiting for a decision."""
    waiting = maintainer.awaiting_decision()
    return {
        "calls": list(maintainer.calls_overview()[:DASHBOARD_ROWS]),
        "waiting": head(waiting, DASHBOARD_ROWS),
        "waiting_count": waiting.count(),
        "rows": DASHBOARD_ROWS,
    }


def dashboard_for(user: Any) -> dict[str, Any]:
    """The context of the signed-in user's dashboard, one section per role they have."""
    # Whatever their roles, anyone may be invited to a project.
    context: dict[str, Any] = {"invitations": list(invitations.open_invitations_for(user)[:DASHBOARD_ROWS])}
    if roles.is_applicant(user):
        context["applicant"] = applicant_dashboard(user)
    if roles.is_reviewer(user):
        context["reviewer"] = reviewer_dashboard(user)
    if roles.is_maintainer(user):
        context["maintainer"] = maintainer_dashboard(user)
    # One role: its parts are the page's sections (h2); several: each role is a section (h2), its parts h3.
    context["grouped"] = sum(role in context for role in ("applicant", "reviewer", "maintainer")) > 1
    return context
