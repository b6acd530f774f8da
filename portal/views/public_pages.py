"""Public project pages and their 'sponsored by' badge (anyone, once the members publish them), and
the members' switch. Thin: portal.selectors.public_pages decides what is shown."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from portal.errors import WorkflowError
from portal.models import Project, User
from portal.selectors import public_pages


@require_GET
def public_project_page(request: HttpRequest, pk: int) -> HttpResponse:
    page = public_pages.public_project(get_object_or_404(Project, pk=pk))
    if page is None:  # unpublished pages do not exist for the public
        raise Http404("No such public project page.")
    return render(request, "portal/public/project.html", {"page": page, "project_pk": pk})


@require_GET
@cache_control(max_age=300, public=True)
def sponsored_badge(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        svg = public_pages.sponsored_badge(get_object_or_404(Project, pk=pk))
    except WorkflowError as error:
        raise Http404(str(error)) from error
    return HttpResponse(svg, content_type="image/svg+xml")


@login_required
@require_POST
def project_public_page_switch(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_object_or_404(Project, pk=pk)
    if not isinstance(request.user, User) or not project.is_member(request.user):
        raise PermissionDenied("Only the project's members publish its page.")
    public = request.POST.get("public") == "on"
    public_pages.set_public(project, public, actor=request.user)
    messages.success(request, "The public page is published." if public else "The public page is withdrawn.")
    return redirect("portal:project_detail", pk=pk)
