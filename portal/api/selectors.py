"""Querysets of what a user may see through the API, mirroring the rules in portal.permissions.

Lists use these; detail routes ask `user.has_perm(...)` on the object itself, so a row missing
here can only hide an object, never show one the rules refuse.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from portal import roles
from portal.models import Application, Project, ReviewAssignment
from reproducibility.models import Report


def visible_projects(user: Any) -> QuerySet[Project]:
    """Maintainers see every project; others those they own, belong to or review an application of."""
    projects = Project.objects.select_related("owner").prefetch_related("members")
    if roles.is_maintainer(user):
        return projects
    visible = Q(owner=user) | Q(members=user)
    if roles.is_reviewer(user):
        visible |= Q(
            applications__assignments__reviewer=user,
            applications__assignments__state__in=ReviewAssignment.ACTIVE_STATES,
        )
    return projects.filter(visible).distinct()


def with_latest_reports(applications: QuerySet[Application]) -> QuerySet[Application]:
    """Applications with their project, pool and snapshot, and the snapshot's reports newest first."""
    return applications.select_related("call", "project", "pool", "snapshot").prefetch_related(
        Prefetch("snapshot__reports", queryset=Report.objects.order_by("-created"), to_attr="reports_newest_first")
    )


def visible_applications(user: Any) -> QuerySet[Application]:
    """Maintainers see every application; members their projects'; reviewers those assigned to them."""
    applications = Application.objects.all()
    if not roles.is_maintainer(user):
        applications = applications.filter(
            Q(project__owner=user)
            | Q(project__members=user)
            | Q(assignments__reviewer=user, assignments__state__in=ReviewAssignment.ACTIVE_STATES)
        ).distinct()
    return with_latest_reports(applications)
