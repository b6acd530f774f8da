"""Repository change pages: a project's source and its requests, one request with the report's diff,
the maintainers' queue and their decision. Thin: portal.services.repository_changes does the work."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.access import roles
from portal.errors import WorkflowError
from portal.forms.repository_changes import RepositoryChangeForm, RepositoryDecisionForm
from portal.forms.workflow_errors import show_refusal
from portal.models import Project, RepositoryChange
from portal.services import audit, repository_changes
from scheduler.models import SourceBasis

PENDING_PAGE_SIZE = 100


def _change_for(request: HttpRequest, pk: int, perm: str) -> RepositoryChange:
    change = get_object_or_404(
        RepositoryChange.objects.select_related("project__owner", "snapshot", "base_snapshot", "requested_by"), pk=pk
    )
    if not request.user.has_perm(perm, change):
        raise PermissionDenied("This repository change belongs to another project.")
    return change


@login_required
@require_http_methods(["GET", "POST"])
def project_repository(request: HttpRequest, pk: int) -> HttpResponse:
    """What the project's runs execute, why it is fixed, its change requests, and (members) a new one."""
    project = get_object_or_404(Project.objects.select_related("owner"), pk=pk)
    if not request.user.has_perm("portal.change_project", project):  # its members and maintainers
        raise PermissionDenied("This project belongs to someone else.")
    may_request = request.user.has_perm("portal.request_repository_change", project)
    form = RepositoryChangeForm(request.POST or None)
    if request.method == "POST":
        if not may_request:
            raise PermissionDenied("Only the project's members ask to change its repository.")
        if form.is_valid():
            try:
                change = repository_changes.request_change(project, actor=request.user, **form.cleaned_data)
            except WorkflowError as error:
                show_refusal(form, error)
            else:
                messages.success(request, "Change requested: the portal scores the commit, then a maintainer decides.")
                return redirect("portal:repository_change", pk=change.pk)
    snapshot, basis = repository_changes.current_source(project)
    context = {
        "project": project,
        "snapshot": snapshot,
        "basis_label": SourceBasis(basis).label,
        "lock_reason": repository_changes.lock_reason(project),
        "changes": project.repository_changes.select_related("snapshot", "requested_by")[:50],
        "form": form if may_request else None,
    }
    return render(request, "portal/repository_changes/project.html", context, status=400 if form.errors else 200)


@login_required
@require_GET
def repository_change(request: HttpRequest, pk: int) -> HttpResponse:
    """One request: what is asked and why, how the static report changes, and the decision."""
    change = _change_for(request, pk, "portal.view_repositorychange")
    may_decide = change.state == RepositoryChange.State.PENDING and request.user.has_perm(
        "portal.decide_repositorychange", change
    )
    context = {
        "change": change,
        "diff": repository_changes.report_diff(change),
        "history": audit.history(change),
        "form": RepositoryDecisionForm() if may_decide else None,
    }
    return render(request, "portal/repository_changes/detail.html", context)


@login_required
@require_POST
def repository_change_decide(request: HttpRequest, pk: int) -> HttpResponse:
    change = _change_for(request, pk, "portal.decide_repositorychange")
    form = RepositoryDecisionForm(request.POST)
    if form.is_valid():
        decide = (
            repository_changes.approve if form.cleaned_data["decision"] == "approve" else repository_changes.decline
        )
        try:
            change = decide(change, actor=request.user, message=form.cleaned_data["message"])
        except WorkflowError as error:
            show_refusal(form, error)
        else:
            messages.success(request, f"Repository change {change.get_state_display().lower()}.")
            return redirect("portal:repository_change", pk=change.pk)
    context = {
        "change": change,
        "diff": repository_changes.report_diff(change),
        "history": audit.history(change),
        "form": form,
    }
    return render(request, "portal/repository_changes/detail.html", context, status=400)


@login_required
@require_GET
def repository_change_list(request: HttpRequest) -> HttpResponse:
    """The maintainers' queue: requests waiting for a decision."""
    if not roles.is_maintainer(request.user):
        raise PermissionDenied("Only maintainers decide repository changes.")
    changes = repository_changes.pending_changes()[:PENDING_PAGE_SIZE]
    return render(request, "portal/repository_changes/list.html", {"changes": changes})
