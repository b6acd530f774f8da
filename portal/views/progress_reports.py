"""Report pages: an allocation's reports, one report's form, and a maintainer's decision on it.
Thin: portal.services.progress_reports does the work."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.errors import WorkflowError
from portal.forms.progress_reports import ProgressReportForm, ReportDecisionForm
from portal.forms.workflow_errors import show_refusal
from portal.models import Application, ProgressReport
from portal.services import progress_reports
from scheduler.models import Allocation


def _report_for(request: HttpRequest, pk: int) -> ProgressReport:
    report = get_object_or_404(
        ProgressReport.objects.select_related("allocation__project", "allocation__pool", "submitted_by", "decided_by"),
        pk=pk,
    )
    if not request.user.has_perm("scheduler.view_allocation", report.allocation):
        raise PermissionDenied("This report belongs to another project.")
    return report


def _may_release(request: HttpRequest, report: ProgressReport) -> bool:
    """Whether the decision may release held hours with the approval: maintainers' (a reviewer approves without)."""
    return request.user.has_perm("scheduler.release_tranche", report.allocation)


@login_required
@require_GET
def allocation_reports(request: HttpRequest, pk: int) -> HttpResponse:
    allocation = get_object_or_404(Allocation.objects.select_related("project", "pool"), pk=pk)
    if not request.user.has_perm("scheduler.view_allocation", allocation):
        raise PermissionDenied("This allocation belongs to another project.")
    context = {
        "allocation": allocation,
        "reports": allocation.reports.all(),
        "overdue": progress_reports.overdue(allocation),
        "blocks": Application.objects.filter(allocation=allocation, call__overdue_reports_block_runs=True).exists(),
    }
    return render(request, "portal/reports/list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = _report_for(request, pk)
    may_write = report.is_open and request.user.has_perm("scheduler.submit_job", report.allocation)
    form = ProgressReportForm(request.POST if request.method == "POST" else None, allocation=report.allocation)
    if request.method == "POST":
        if not may_write:
            raise PermissionDenied("Only the project's members write its open reports.")
        if form.is_valid():
            try:
                progress_reports.submit(report, actor=request.user, **form.cleaned_data)
            except WorkflowError as error:
                show_refusal(form, error)
            else:
                messages.success(request, "Report submitted; the maintainers are told.")
                return redirect("portal:report_detail", pk=report.pk)
    may_decide = request.user.has_perm("portal.decide_report", report) and report.state == report.State.SUBMITTED
    context = {
        "report": report,
        "form": form if may_write else None,
        "decision_form": ReportDecisionForm(may_release=_may_release(request, report)) if may_decide else None,
        "runs": report.runs.all(),
        "models": [(job, progress_reports.fingerprint_of(job)) for job in report.released_models.all()],
    }
    return render(request, "portal/reports/detail.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def report_decide(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(ProgressReport, pk=pk)
    if not request.user.has_perm("portal.decide_report", report):
        raise PermissionDenied("Only maintainers and the award's reviewers decide on its reports.")
    form = ReportDecisionForm(request.POST, may_release=_may_release(request, report))
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{form.fields[field].label}: {' '.join(map(str, errors))}")
        return redirect("portal:report_detail", pk=pk)
    comment = form.cleaned_data["comment"]
    try:
        if form.cleaned_data["decision"] == ReportDecisionForm.APPROVE:
            progress_reports.approve(
                report, actor=request.user, comment=comment, release_seconds=form.release_seconds()
            )
            messages.success(request, "Report approved.")
        else:
            progress_reports.return_for_changes(report, actor=request.user, comment=comment)
            messages.success(request, "Report returned to the project.")
    except WorkflowError as error:
        messages.error(request, str(error))
    return redirect("portal:report_detail", pk=pk)
