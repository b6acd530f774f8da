"""An allocation's usage page (burn rate, forecast, idle days), the maintainer's reclaim of idle hours and
revocation of the whole allocation. Thin: portal.services.usage and award_terms do the work."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from portal.access import roles
from portal.errors import WorkflowError
from portal.forms.validators import MAX_HOURS
from portal.services import award_terms, usage
from scheduler.models import Allocation


class ReclaimForm(forms.Form):
    hours = forms.DecimalField(
        label="Idle accelerator-hours to reclaim",
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=MAX_HOURS,
    )
    reason = forms.CharField(label="Why (to the project)", max_length=450)


class RevokeForm(forms.Form):
    reason = forms.CharField(label="Why (to the project)", max_length=450)


@login_required
@require_GET
def allocation_usage(request: HttpRequest, pk: int) -> HttpResponse:
    allocation = get_object_or_404(Allocation.objects.select_related("project", "pool"), pk=pk)
    if not request.user.has_perm("scheduler.view_allocation", allocation):
        raise PermissionDenied("This allocation belongs to another project.")
    figures = usage.usage_of(allocation)
    may_reclaim = roles.is_maintainer(request.user) and figures.idle_noticed and allocation.remaining > 0
    may_revoke = (
        request.user.has_perm("scheduler.revoke_allocation", allocation)
        and allocation.state in award_terms.RUNNING_STATES
    )
    context = {
        "allocation": allocation,
        "usage": figures,
        "burn_hours_per_day": figures.burn_per_day / 3600,
        "reclaim_form": ReclaimForm() if may_reclaim else None,
        "revoke_form": RevokeForm() if may_revoke else None,
    }
    return render(request, "portal/allocations/usage.html", context)


@login_required
@require_POST
def allocation_reclaim(request: HttpRequest, pk: int) -> HttpResponse:
    allocation = get_object_or_404(Allocation, pk=pk)
    if not request.user.has_perm("scheduler.reclaim_hours", allocation):
        raise PermissionDenied("Only maintainers reclaim idle hours.")
    form = ReclaimForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{form.fields[field].label}: {' '.join(map(str, errors))}")
        return redirect("portal:allocation_usage", pk=pk)
    seconds = round(form.cleaned_data["hours"] * 3600)
    try:
        taken = usage.reclaim(allocation, seconds, actor=request.user, reason=form.cleaned_data["reason"])
    except WorkflowError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Reclaimed {taken / 3600:g} accelerator-hours for the call.")
    return redirect("portal:allocation_usage", pk=pk)


@login_required
@require_POST
def allocation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    allocation = get_object_or_404(Allocation, pk=pk)
    if not request.user.has_perm("scheduler.revoke_allocation", allocation):
        raise PermissionDenied("Only maintainers revoke allocations.")
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, award_terms.NEEDS_REVOKE_REASON)
        return redirect("portal:allocation_usage", pk=pk)
    try:
        returned = award_terms.revoke(allocation, actor=request.user, reason=form.cleaned_data["reason"])
    except WorkflowError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, f"Allocation revoked; {returned / 3600:g} unused accelerator-hours went back to the call."
        )
    return redirect("portal:allocation_usage", pk=pk)
