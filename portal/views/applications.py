"""The applicant's application pages: open calls, the application form, its page, submit and withdraw."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.errors import WorkflowError
from portal.forms.applications import ApplicationForm, WithdrawForm
from portal.forms.workflow_errors import show_refusal
from portal.models import Application, Call, Project
from portal.selectors import applicant
from portal.selectors import renewals as renewal_selectors
from portal.selectors import verification as verification_selectors
from portal.services import applications, lifecycle

S = Application.State


def _application_for(request: HttpRequest, pk: int, perm: str = "portal.view_application") -> Application:
    application = get_object_or_404(
        Application.objects.select_related("call", "project__owner", "pool", "snapshot", "allocation"), pk=pk
    )
    if not request.user.has_perm(perm, application):
        raise PermissionDenied("This application belongs to another project.")
    return application


@login_required
@require_GET
def open_calls(request: HttpRequest) -> HttpResponse:
    project = request.GET.get("project", "")
    context = {
        "calls": applicant.offered_calls(),
        "has_projects": applicant.member_projects(request.user).exists(),
        "project": project if project.isdigit() else "",  # carried to the Apply links
    }
    return render(request, "portal/applications/open_calls.html", context)


def _save(request: HttpRequest, project: Project, call: Call, form: ApplicationForm) -> Application:
    """Save the draft and, for the submit button, submit it: both happen or neither does."""
    with transaction.atomic():
        application = applications.save_draft(project, call, form.plan(), actor=request.user)
        if request.POST.get("action") == "submit":
            application = applications.submit(application, actor=request.user)
    return application


def _saved(request: HttpRequest, application: Application) -> HttpResponse:
    if application.state == S.DRAFT:
        messages.success(request, "Draft saved. Submit it when it is ready; you can edit it until then.")
    else:
        messages.success(request, "Application submitted: the repository is being scored and reviewers assigned.")
    return redirect("portal:application_detail", pk=application.pk)


@login_required
@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest, pk: int) -> HttpResponse:
    """Apply to a call with one of your projects: save a draft, or save and submit."""
    call = get_object_or_404(Call, pk=pk)
    if call.opens_at > timezone.now() and not request.user.has_perm("portal.view_call", call):
        # A call is announced when it opens: before then its title and dates are the maintainers' own.
        raise Http404("No such call.")
    projects = applicant.member_projects(request.user).order_by("name", "pk")
    form = ApplicationForm(
        request.POST or None, call=call, projects=projects, initial={"project": request.GET.get("project")}
    )
    if request.method == "POST" and form.is_valid():
        try:
            application = _save(request, form.cleaned_data["project"], call, form)
        except WorkflowError as error:
            show_refusal(form, error)
        else:
            return _saved(request, application)
    context = {"call": call, "form": form, "has_projects": projects.exists()}
    return render(request, "portal/applications/form.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def application_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a draft (and submit it from the same form)."""
    application = _application_for(request, pk, "portal.change_application")
    if request.method == "GET" and not application.is_editable:
        messages.info(request, f"The application is {application.get_state_display()}; only drafts can be edited.")
        return redirect("portal:application_detail", pk=application.pk)
    form = ApplicationForm.for_draft(application, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            application = _save(request, application.project, application.call, form)
        except WorkflowError as error:
            show_refusal(form, error)
        else:
            return _saved(request, application)
    context = {"call": application.call, "form": form, "application": application, "has_projects": True}
    return render(request, "portal/applications/form.html", context, status=400 if form.errors else 200)


def _render_detail(
    request: HttpRequest,
    application: Application,
    *,
    error: str = "",
    withdraw_form: WithdrawForm | None = None,
    status: int = 200,
) -> HttpResponse:
    can_change = request.user.has_perm("portal.change_application", application)
    latest_verification = verification_selectors.latest(application)
    context: dict[str, Any] = {
        "application": application,
        "history": applicant.application_history(application),
        "feedback": applicant.feedback_for_applicant(application),
        "snapshot": application.snapshot,
        "report": application.snapshot.latest_report if application.snapshot else None,
        "can_edit": can_change and application.is_editable,
        "withdraw_form": (withdraw_form or WithdrawForm())
        if can_change and lifecycle.can_transition(application, S.WITHDRAWN)
        else None,
        "error": error,
        "verification": latest_verification,
        "verification_queue": verification_selectors.waiting_runs(latest_verification),
        "can_verify": request.user.has_perm("portal.verify_application", application),
        "past_award": renewal_selectors.past_award(application),  # a renewal: the award it continues
    }
    return render(request, "portal/applications/detail.html", context, status=status)


@login_required
@require_GET
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, _application_for(request, pk))


@login_required
@require_GET
def application_reproducibility(request: HttpRequest, pk: int) -> HttpResponse:
    """The reproducibility status alone, polled by the application page until scoring ends."""
    application = _application_for(request, pk)
    snapshot = application.snapshot
    context = {"application": application, "snapshot": snapshot, "report": snapshot.latest_report if snapshot else None}
    return render(request, "portal/applications/_reproducibility.html", context)


@login_required
@require_POST
def application_submit(request: HttpRequest, pk: int) -> HttpResponse:
    application = _application_for(request, pk, "portal.change_application")
    try:
        application = applications.submit(application, actor=request.user)
    except WorkflowError as error:
        return _render_detail(request, application, error=str(error), status=400)
    return _saved(request, application)


@login_required
@require_POST
def application_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    application = _application_for(request, pk, "portal.change_application")
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, application, withdraw_form=form, status=400)
    try:
        applications.withdraw(application, actor=request.user, reason=form.cleaned_data["reason"].strip())
    except WorkflowError as error:
        return _render_detail(request, application, error=str(error), status=400)
    messages.success(request, "Application withdrawn.")
    return redirect("portal:application_detail", pk=application.pk)
