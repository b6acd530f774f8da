"""The maintainer's pages: calls, opening one, a call's dashboard (budgets, ranking, decisions,
reviewers, audit log) and the review panel of one application."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.access import roles
from portal.errors import WorkflowError
from portal.forms.calls import (
    AssignReviewerForm,
    CallForm,
    CloseCallForm,
    DecisionForm,
    criteria_of,
    rubric_formset,
)
from portal.forms.workflow_errors import show_refusal
from portal.models import Application, Call, User
from portal.selectors import maintainer, reviewer
from portal.selectors import renewals as renewal_selectors
from portal.services import assignment, audit, calls, decisions
from scheduler.models import AcceleratorPool
from scheduler.quota import hours

RANKING_PAGE_SIZE = 20  # rows are tall (reviewers, actions): 50 took about 150 ms to render
CALL_PAGE_SIZE = 50
LOG_PAGE_SIZE = 100
LOG_ON_DASHBOARD = 10  # the latest; the call's audit page has them all


def _require_maintainer(request: HttpRequest) -> None:
    """Pages about no one object (the list of calls, a new call): maintainers only, as in scheduler/views.py."""
    if not roles.is_maintainer(request.user):
        raise PermissionDenied("Only maintainers run calls.")


def _call_for(request: HttpRequest, pk: int, perm: str = "portal.view_call") -> Call:
    call = get_object_or_404(Call, pk=pk)
    if not request.user.has_perm(perm, call):
        raise PermissionDenied("Only maintainers run calls.")
    return call


def _application_for(request: HttpRequest, pk: int, perm: str) -> Application:
    application = get_object_or_404(
        Application.objects.select_related("call", "project__owner", "pool", "snapshot", "allocation"), pk=pk
    )
    if not request.user.has_perm(perm, application):
        raise PermissionDenied("Only maintainers decide applications and assign their reviewers.")
    return application


def _back(request: HttpRequest, default: str) -> str:
    """Where to go after a POST: the page it came from (when it is ours), else `default`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


@login_required
@require_GET
def call_list(request: HttpRequest) -> HttpResponse:
    _require_maintainer(request)
    page = Paginator(maintainer.calls_overview(), CALL_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/calls/list.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
def call_create(request: HttpRequest) -> HttpResponse:
    _require_maintainer(request)
    pools = list(AcceleratorPool.objects.order_by("name"))
    data = request.POST if request.method == "POST" else None
    form, rubric = CallForm(data, pools=pools), rubric_formset(data)
    rubric_errors: list[str] = []
    if request.method == "POST" and form.is_valid() and rubric.is_valid():
        try:
            call = calls.open_call(
                **form.options(), budgets=form.budgets(), criteria=criteria_of(rubric), actor=request.user
            )
        except WorkflowError as error:
            # The rubric's problems show above the rubric, the others next to their fields.
            rubric_errors = [message for field, message in error.problems if field == "criteria"]
            others = [problem for problem in error.problems if problem[0] != "criteria"]
            if others:
                show_refusal(form, WorkflowError.collected(others))
        else:
            messages.success(request, f"The call {call} is open for applications from {call.opens_at:%Y-%m-%d %H:%M}.")
            return redirect("portal:call_dashboard", pk=call.pk)
    invalid = request.method == "POST"  # a POST that reaches here was refused
    context = {"form": form, "rubric": rubric, "pools": pools, "rubric_errors": rubric_errors}
    return render(request, "portal/calls/create.html", context, status=400 if invalid else 200)


@login_required
@require_http_methods(["GET", "POST"])
def call_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a call's window, settings and budgets (its rubric stays: reviews were scored against it)."""
    call = _call_for(request, pk, "portal.change_call")
    pools = list(AcceleratorPool.objects.order_by("name"))
    form = CallForm.for_call(call, request.POST if request.method == "POST" else None, pools=pools)
    if request.method == "POST" and form.is_valid():
        try:
            calls.edit_call(call, **form.options(), budgets=form.budgets(), actor=request.user)
        except WorkflowError as error:
            show_refusal(form, error)
        else:
            messages.success(request, f"The call {call} is saved.")
            return redirect("portal:call_dashboard", pk=call.pk)
    context = {"form": form, "call": call, "pools": pools, "close_form": CloseCallForm()}
    return render(request, "portal/calls/create.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def call_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Stop taking applications now; what was submitted goes on to review and decision."""
    call = _call_for(request, pk, "portal.change_call")
    form = CloseCallForm(request.POST)
    try:
        if not form.is_valid():
            raise WorkflowError(" ".join(str(e) for errors in form.errors.values() for e in errors))
        calls.close_call(call, actor=request.user, reason=form.cleaned_data["reason"])
    except WorkflowError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"The call {call} is closed: it takes no new applications.")
    return redirect("portal:call_dashboard", pk=call.pk)


@login_required
@require_GET
def call_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    """Budgets per pool, the ranked applications with their decisions and reviewers, the latest audit entries."""
    call = _call_for(request, pk)
    budgets = list(call.call_pools.select_related("pool"))
    if request.htmx and request.GET.get("part") == "budgets":  # type: ignore[attr-defined]
        return render(request, "portal/calls/_budgets.html", {"call": call, "budgets": budgets})
    if request.htmx and request.GET.get("part") == "log":  # type: ignore[attr-defined]
        log = list(maintainer.call_log(call)[:LOG_ON_DASHBOARD])
        return render(request, "portal/calls/_dashboard_log.html", {"call": call, "log": log})
    page, rows = maintainer.ranking_page(call, request.GET.get("page"), RANKING_PAGE_SIZE)
    context = {
        "call": call,
        "budgets": budgets,
        "page": page,
        "rows": rows,
        "criteria": list(call.criteria.all()),
        "log": list(maintainer.call_log(call)[:LOG_ON_DASHBOARD]),
        "back": request.get_full_path(),
    }
    return render(request, "portal/calls/dashboard.html", context)


@login_required
@require_GET
def call_audit(request: HttpRequest, pk: int) -> HttpResponse:
    call = _call_for(request, pk)
    page = Paginator(maintainer.call_log(call), LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/calls/audit.html", {"call": call, "page": page})


def _reviewers() -> Any:
    return User.objects.filter(groups__name=roles.REVIEWER, is_active=True)


@login_required
@require_GET
def application_reviews(request: HttpRequest, pk: int) -> HttpResponse:
    """One application for maintainers: its reviewers and every review, confidential comments included."""
    application = _application_for(request, pk, "portal.decide_application")
    reviewable = application.state in assignment.REVIEWABLE_STATES
    panel = maintainer.review_panel(application)
    context = {
        "application": application,
        "call": application.call,
        "project": application.project,
        "panel": panel,
        "pool": assignment.reviewer_pool(application) if reviewable else None,
        "row": maintainer.decision_row(application, panel.summary),
        "report": reviewer.report_summary(application),
        "assign_form": (
            AssignReviewerForm(reviewers=_reviewers(), candidates=assignment.candidates(application))
            if reviewable
            else None
        ),
        "history": audit.history(application)[:50],
        "past_award": renewal_selectors.past_award(application),  # a renewal: the award it continues
    }
    return render(request, "portal/calls/application.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def application_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Award, decline or waitlist; from the ranking with htmx, answer with the application's row re-rendered.

    GET gives a ranking row its decision forms when "Decide" is opened (htmx), so the ranking does not
    render three forms per row up front; without htmx it is the application's page, which has them.
    """
    application = _application_for(request, pk, "portal.decide_application")
    if request.method == "GET":
        if not request.htmx:  # type: ignore[attr-defined]
            return redirect("portal:application_reviews", application.pk)
        shown_at = request.GET.get("rank", "")
        row = maintainer.row_of(application, int(shown_at) if shown_at.isdigit() else None)
        if row is None or not row.decidable:
            return HttpResponse('<p class="muted">This application can no longer be decided here.</p>')
        back = request.htmx.current_url_abs_path or reverse("portal:call_dashboard", args=[application.call_id])  # type: ignore[attr-defined]
        return render(request, "portal/calls/_decision_forms.html", {"row": row, "htmx": True, "next": back})
    form = DecisionForm(request.POST)
    error, done = "", ""
    if not form.is_valid():
        error = " ".join(
            f"{form.fields[name].label}: {' '.join(map(str, errors))}" for name, errors in form.errors.items()
        )
    else:
        decision, message = form.cleaned_data["decision"], form.cleaned_data["message"]
        try:
            if decision == DecisionForm.AWARD:
                held = form.held_seconds()
                decisions.award(application, form.seconds(), actor=request.user, message=message, held_seconds=held)
                done = f"Awarded {hours(form.seconds())} accelerator-hours to {application.project}" + (
                    f", {hours(held)} of them held for a later tranche." if held else "."
                )
            elif decision == DecisionForm.DECLINE:
                decisions.decline(application, actor=request.user, message=message)
                done = f"Declined {application.project}."
            else:
                decisions.waitlist(application, actor=request.user, message=message)
                done = f"Waitlisted {application.project}."
        except WorkflowError as exc:
            error = str(exc)
    if request.htmx:  # type: ignore[attr-defined]
        rank = form.cleaned_data.get("rank") if form.is_valid() else None
        back = request.htmx.current_url_abs_path or reverse("portal:call_dashboard", args=[application.call_id])  # type: ignore[attr-defined]
        row = maintainer.row_of(application, rank)
        context = {"row": row, "call": application.call, "back": back, "row_error": error, "row_done": done}
        template = "portal/calls/_ranking_row.html" if row else "portal/calls/_row_gone.html"
        response = render(request, template, {**context, "application": application})
        if done:
            response["HX-Trigger"] = "budgets-changed"
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    return redirect(_back(request, reverse("portal:call_dashboard", args=[application.call_id])))


@login_required
@require_POST
def application_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Assign a reviewer chosen by hand, or top the application up automatically (`automatic` set)."""
    application = _application_for(request, pk, "portal.assign_reviewers")
    default = reverse("portal:application_reviews", args=[application.pk])
    try:
        if request.POST.get("automatic"):
            added = assignment.assign_reviewers(application, actor=request.user)
            if not added:
                raise WorkflowError(
                    "No reviewer was added: the application has its reviewers, takes no new ones, "
                    "or no reviewer is free of conflicts."
                )
            messages.success(request, f"Assigned {', '.join(str(a.reviewer) for a in added)}.")
        else:
            form = AssignReviewerForm(request.POST, reviewers=_reviewers())
            if not form.is_valid():
                raise WorkflowError("Choose a reviewer among the portal's active reviewers.")
            chosen = assignment.assign_by_hand(application, form.cleaned_data["reviewer"], actor=request.user)
            messages.success(request, f"Assigned {chosen.reviewer}.")
    except WorkflowError as error:
        messages.error(request, str(error))
    return redirect(_back(request, default))
