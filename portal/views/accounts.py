"""Sign-up and the signed-in user's dashboard."""

from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from portal.forms import ApplicantSignUpForm
from portal.selectors.dashboard import dashboard_for
from portal.services.accounts import sign_up_applicant


@require_http_methods(["GET", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("portal:home")
    form = ApplicantSignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = sign_up_applicant(form)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome to ComputeGrant. Your applicant account is ready.")
        return redirect("portal:home")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)


def home(request: HttpRequest) -> HttpResponse:
    """The landing page for visitors; the role dashboard for signed-in users."""
    context = dashboard_for(request.user) if request.user.is_authenticated else {}
    return render(request, "portal/home.html", context)
