"""Verification on demand: a maintainer or an assigned reviewer runs the application's training again
(for example after the applicant pushed a fix). Thin: portal.verification does the work."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from portal import verification
from portal.models import Application


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
