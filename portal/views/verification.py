"""Verification pages: on demand, a maintainer or an assigned reviewer runs the application's training
again (for example after the applicant pushed a fix); a call's settings and usage, for maintainers.
Thin: portal.services.verification does the work."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from portal.forms.verification import VerificationPolicyForm
from portal.models import Application, Call, Verification, VerificationPolicy
from portal.services import audit, verification


@login_required
@require_POST
def application_verify(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(Application.objects.select_related("project", "call"), pk=pk)
    if not request.user.has_perm("portal.verify_application", application):
        raise PermissionDenied("Only the call's maintainers and this application's reviewers may verify it.")
    try:
        started = verification.start(application, requested_by=request.user)
    except verification.VerificationRefused as error:
        messages.error(request, f"Not verified: {error}")
    else:
        messages.success(request, f"Verification {started.pk} submitted: its runs wait for room on the pool.")
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect("portal:application_detail", pk=application.pk)


@login_required
@require_http_methods(["GET", "POST"])
def call_verification(request: HttpRequest, pk: int) -> HttpResponse:
    """A call's verification settings and what its verifications used."""
    call = get_object_or_404(Call, pk=pk)
    if not request.user.has_perm("portal.change_call", call):
        raise PermissionDenied("Only maintainers set a call's verification runs.")
    policy = VerificationPolicy.objects.filter(call=call).select_related("pool").first()
    initial = (
        {
            "enabled": policy.enabled,
            "pool": policy.pool,
            "minutes": policy.minutes,
            "workers": policy.workers,
            "repeat": policy.repeat,
            "budget_hours": policy.budget_seconds / 3600,
        }
        if policy
        else {"enabled": True, "repeat": True, "minutes": 10, "workers": 2}
    )
    form = VerificationPolicyForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                verification.set_policy(
                    call,
                    pool=data["pool"],
                    budget_hours=float(data["budget_hours"]),
                    minutes=data["minutes"],
                    workers=data["workers"],
                    repeat=data["repeat"],
                    enabled=data["enabled"],
                )
            except verification.VerificationRefused as error:
                form.add_error(None, str(error))
            else:
                audit.record(request.user, "call.verification_set", call)
                messages.success(request, "Verification settings saved.")
                return redirect("portal:call_verification", pk=call.pk)
        status = 400
    context = {
        "call": call,
        "form": form,
        "usage": verification.usage(policy) if policy else None,
        "verifications": Verification.objects.filter(application__call=call).select_related(
            "application__project", "run", "repeat_run"
        )[:50],
    }
    return render(request, "portal/calls/verification.html", context, status=status)
