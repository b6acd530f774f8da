"""Querysets of what a user may see through the API, mirroring the rules in portal.access.permissions.

Lists use these; detail routes ask `user.has_perm(...)` on the object itself, so a row missing
here can only hide an object, never show one the rules refuse.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from portal.access import roles
from portal.models import Application, Project
from portal.selectors.visibility import member_project_ids, reviewed_application_ids, visible_project_filter
from reproducibility.models import Report


def visible_projects(user: Any) -> QuerySet[Project]:
    """Maintainers see every project; others those they own, belong to or review an application of."""
    projects = Project.objects.select_related("owner").prefetch_related("members")
    if roles.is_maintainer(user):
        return projects
    return projects.filter(visible_project_filter(user))


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
            Q(project__in=member_project_ids(user)) | Q(pk__in=reviewed_application_ids(user))
        )
    return with_latest_reports(applications)
