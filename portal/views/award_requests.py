"""Award request pages: an allocation's requests (members ask there) and a maintainer's decision.
Thin: portal.services.award_requests does the work."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from portal.access import roles
from portal.errors import WorkflowError
from portal.forms.award_requests import AwardRequestDecisionForm, AwardRequestForm
from portal.forms.workflow_errors import show_refusal
from portal.models import AwardRequest
from portal.services import award_requests, renewals
from scheduler.models import Allocation


@login_required
@require_http_methods(["GET", "POST"])
def allocation_requests(request: HttpRequest, pk: int) -> HttpResponse:
    allocation = get_object_or_404(Allocation.objects.select_related("project", "pool"), pk=pk)
    if not request.user.has_perm("scheduler.view_allocation", allocation):
        raise PermissionDenied("This allocation belongs to another project.")
    may_ask = request.user.has_perm("scheduler.submit_job", allocation) and allocation.state in award_requests.RUNNING
    form = AwardRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not may_ask:
            raise PermissionDenied("Only the project's members ask for changes to its running allocation.")
        if form.is_valid():
            data = form.cleaned_data
            try:
                if data["kind"] == AwardRequest.Kind.EXTENSION:
                    award_requests.request_extension(
                        allocation, actor=request.user, new_end=data["new_end"], reason=data["reason"]
                    )
                else:
                    award_requests.request_supplement(
                        allocation, actor=request.user, seconds=form.seconds(), reason=data["reason"]
                    )
            except WorkflowError as error:
                show_refusal(form, error)
            else:
                messages.success(request, "Request sent; the maintainers decide on it.")
                return redirect("portal:allocation_requests", pk=pk)
    requests = list(allocation.award_requests.select_related("requested_by", "decided_by", "renewal__call"))
    if roles.is_maintainer(request.user):
        for pending in (r for r in requests if r.state == AwardRequest.State.PENDING):
            # Ids of its own: with one form per pending request, the same ids tied every label to the first form.
            form_ids = f"id_request_{pending.pk}_%s"
            pending.decision_form = AwardRequestDecisionForm(auto_id=form_ids)  # type: ignore[attr-defined]
    context = {
        "allocation": allocation,
        "requests": requests,
        "form": form if may_ask else None,
        "supplement_cap": award_requests.supplement_cap(allocation),
        "may_renew": request.user.has_perm("scheduler.renew_allocation", allocation)
        and allocation.state in renewals.RENEWABLE,
    }
    return render(request, "portal/award_requests/list.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def award_request_decide(request: HttpRequest, pk: int) -> HttpResponse:
    award_request = get_object_or_404(AwardRequest, pk=pk)
    if not request.user.has_perm("portal.decide_award_request", award_request):
        raise PermissionDenied("Only maintainers decide on requests.")
    form = AwardRequestDecisionForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{form.fields[field].label}: {' '.join(map(str, errors))}")
        return redirect("portal:allocation_requests", pk=award_request.allocation_id)
    data = form.cleaned_data
    try:
        if data["decision"] == AwardRequestDecisionForm.APPROVE:
            award_requests.approve(
                award_request, actor=request.user, message=data["message"], override_reason=data["override_reason"]
            )
            messages.success(request, f"{award_request} approved.")
        else:
            award_requests.decline(award_request, actor=request.user, message=data["message"])
            messages.success(request, f"{award_request} declined.")
    except WorkflowError as error:
        messages.error(request, str(error))
    return redirect("portal:allocation_requests", pk=award_request.allocation_id)
