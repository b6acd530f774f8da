"""The renewal page: a member asks to continue an award in a later call; the draft application it makes
is edited and submitted like any other. Thin: portal.services.renewals does the work."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from portal.errors import WorkflowError
from portal.forms.renewals import RenewalForm
from portal.forms.workflow_errors import show_refusal
from portal.models import Application
from portal.services import renewals
from scheduler.models import Allocation


@login_required
@require_http_methods(["GET", "POST"])
def allocation_renew(request: HttpRequest, pk: int) -> HttpResponse:
    allocation = get_object_or_404(Allocation.objects.select_related("project", "pool"), pk=pk)
    if not request.user.has_perm("scheduler.view_allocation", allocation):
        raise PermissionDenied("This allocation belongs to another project.")
    if not request.user.has_perm("scheduler.renew_allocation", allocation):
        raise PermissionDenied("Only the project's members renew its award.")
    form = RenewalForm(request.POST if request.method == "POST" else None, allocation=allocation)
    if request.method == "POST" and form.is_valid():
        try:
            renewal = renewals.request_renewal(
                allocation, actor=request.user, call=form.cleaned_data["call"], reason=form.cleaned_data["reason"]
            )
        except WorkflowError as error:
            show_refusal(form, error)
        else:
            messages.success(
                request,
                "Renewal drafted from the award's application; check the plan, then submit it to the call. "
                "Its reviewers see this award's usage, reports and models.",
            )
            assert renewal.renewal_id is not None
            return redirect("portal:application_detail", pk=renewal.renewal_id)
    context = {
        "allocation": allocation,
        "form": form,
        "old": Application.objects.select_related("call", "pool").filter(allocation=allocation).first(),
        "renewable": allocation.state in renewals.RENEWABLE,
    }
    return render(request, "portal/renewals/new.html", context, status=400 if form.errors else 200)
