"""The maintainer's release of a held tranche, from the allocation page. Thin: portal.services.tranches does it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from portal.errors import WorkflowError
from portal.forms.tranches import TrancheReleaseForm
from portal.services import tranches
from scheduler.models import Allocation


@login_required
@require_POST
def allocation_release_tranche(request: HttpRequest, pk: int) -> HttpResponse:
    allocation = get_object_or_404(Allocation, pk=pk)
    if not request.user.has_perm("scheduler.release_tranche", allocation):
        raise PermissionDenied("Only maintainers release the held hours of an award.")
    form = TrancheReleaseForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{form.fields[field].label}: {' '.join(map(str, errors))}")
        return redirect("scheduler:allocation_detail", pk=pk)
    try:
        tranches.release(allocation, form.seconds(), actor=request.user, reason=form.cleaned_data["reason"])
    except WorkflowError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Released {form.seconds() / 3600:g} accelerator-hours to {allocation.project}.")
    return redirect("scheduler:allocation_detail", pk=pk)
