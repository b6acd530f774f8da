"""The applicant's project pages: their list, creating one, a project's page (members: portal.views.invitations)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from portal.access import roles
from portal.errors import WorkflowError
from portal.forms.projects import COMMON_LICENCES, ProjectEditForm, ProjectForm
from portal.forms.workflow_errors import show_refusal
from portal.models import Project
from portal.selectors import applicant
from portal.services import projects, repository_changes
from reproducibility.snapshots import Caps

PROJECT_PAGE_SIZE = 50


def _project_for(request: HttpRequest, pk: int, perm: str = "portal.view_project") -> Project:
    project = get_object_or_404(Project.objects.select_related("owner"), pk=pk)
    if not request.user.has_perm(perm, project):
        raise PermissionDenied("This project belongs to someone else.")
    return project


@login_required
@require_GET
def project_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(applicant.projects_overview(request.user), PROJECT_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/projects/list.html", {"projects": page.object_list, "page": page})


def _create(request: HttpRequest, form: ProjectForm) -> Project:
    """Create the project from the form; an uploaded archive is stored first and dropped if refused."""
    data = form.cleaned_data
    source, stored = data["repository_url"], None
    if data["archive"] is not None:
        source = stored = projects.store_upload(data["archive"].name, data["archive"], Caps.from_settings().max_bytes)
    try:
        return projects.create_project(
            request.user,  # type: ignore[arg-type]
            name=data["name"],
            repository_url=source,
            licence=data["licence"],
            description=data["description"],
            organisation=data["organisation"],
            invitees=data["invitees"],
        )
    except WorkflowError:
        if stored:
            Path(stored).unlink(missing_ok=True)
        raise


@login_required
@require_http_methods(["GET", "POST"])
def project_create(request: HttpRequest) -> HttpResponse:
    if not roles.is_applicant(request.user):
        raise PermissionDenied("Only applicants create projects.")
    form = ProjectForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = _create(request, form)
        except WorkflowError as error:
            show_refusal(form, error)
        else:
            names = form.cleaned_data["invitees"]
            invited = f" Invitations recorded for {', '.join(names)}." if names else ""
            messages.success(request, f"Project {project} created.{invited} Apply with it to an open call.")
            return redirect("portal:project_detail", pk=project.pk)
    context = {"form": form, "licences": COMMON_LICENCES}
    return render(request, "portal/projects/create.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def project_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a project's name, repository (unless reviewed or awarded) and details."""
    project = _project_for(request, pk, "portal.change_project")
    locked_because = repository_changes.lock_reason(project)
    data = request.POST if request.method == "POST" else None
    form = ProjectEditForm(data, project=project, repository_locked_because=locked_because)
    if request.method == "POST" and form.is_valid():
        changes = form.changes()
        try:
            if changes:
                projects.update_project(project, actor=request.user, **changes)
        except WorkflowError as error:
            show_refusal(form, error)
        else:
            messages.success(request, "Project saved." if changes else "Nothing was changed.")
            return redirect("portal:project_detail", pk=project.pk)
    context = {"form": form, "project": project, "licences": COMMON_LICENCES, "locked_because": locked_because}
    return render(request, "portal/projects/edit.html", context, status=400 if form.errors else 200)


@login_required
@require_GET
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    project = _project_for(request, pk)
    members = list(project.members.all())
    context: dict[str, Any] = {
        "project": project,
        "members": members,
        "is_member": any(member.pk == request.user.pk for member in members),
        "applications": applicant.with_reproducibility(project.applications.all()).order_by("-created", "-pk"),
        "allocations": applicant.allocations_with_bars(project.allocations.all()),
        "can_change": request.user.has_perm("portal.change_project", project),
        "can_apply": request.user.has_perm("portal.change_application", project),
    }
    return render(request, "portal/projects/detail.html", context)
