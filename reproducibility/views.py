"""The report page, its re-score button, the README badge and the checks' documentation pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_cache_control
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from reproducibility import badges, guide, services
from reproducibility.models import Snapshot
from reproducibility.scoring import CHECKER_VERSION


def _visible(request: HttpRequest, pk: int) -> Snapshot:
    snapshot = get_object_or_404(Snapshot, pk=pk)
    if not request.user.has_perm("reproducibility.view_snapshot", snapshot):
        raise PermissionDenied("You may not see this report.")
    return snapshot


@login_required
@require_GET
def report(request: HttpRequest, pk: int) -> HttpResponse:
    snapshot = _visible(request, pk)
    latest = snapshot.latest_report
    if request.GET.get("format") == "json" and latest:
        return JsonResponse(latest.results)
    if getattr(request, "htmx", False):
        return render(request, "reproducibility/_status.html", {"snapshot": snapshot, "report": latest})
    outdated = latest is not None and latest.checker_version != CHECKER_VERSION
    context = {
        "snapshot": snapshot,
        "report": latest,
        "categories": guide.explain_report(latest.results["checks"]) if latest else {},
        "current_checker": CHECKER_VERSION,
        "outdated": outdated,
        "may_rescore": outdated and request.user.has_perm("reproducibility.rescore_snapshot", snapshot),
        "badge_public": _public_by_number(snapshot),
        "may_publish_badge": request.user.has_perm("reproducibility.publish_badge", snapshot),
    }
    return render(request, "reproducibility/report.html", context)


@login_required
@require_POST
def rescore(request: HttpRequest, pk: int) -> HttpResponse:
    """Score a report made by an older checker again, at the same commit."""
    snapshot = get_object_or_404(Snapshot, pk=pk)
    if not request.user.has_perm("reproducibility.rescore_snapshot", snapshot):
        raise PermissionDenied("You may not re-score this report.")
    if services.request_rescore(snapshot):
        messages.success(request, f"Re-scoring with checker {CHECKER_VERSION}: reload this page in a minute.")
    else:
        messages.info(request, "Nothing to re-score: the report is by the current checker, or not made yet.")
    return redirect("reproducibility:report", pk=snapshot.pk)


@require_GET
def check_index(request: HttpRequest) -> HttpResponse:
    """Every check, by category, and what each level asks for: public, it describes rules, not data."""
    context = {"categories": guide.checks_by_category(), "levels": guide.levels()}
    return render(request, "reproducibility/checks.html", context)


@require_GET
def check_detail(request: HttpRequest, check_id: str) -> HttpResponse:
    """One check's documentation: what counts, when each status is given, the remedy, why it matters."""
    page = guide.check_page(check_id)
    if page is None:
        raise Http404("No such check.")
    return render(request, "reproducibility/check.html", {"page": page})


def _badge_svg(request: HttpRequest, snapshot: Snapshot) -> HttpResponse:
    label, colour = badges.badge_face(snapshot)
    context = {"value": label, "colour": colour, "width": 96 + 7 * len(label)}
    return HttpResponse(render(request, "reproducibility/badge.svg", context).content, content_type="image/svg+xml")


def _public_by_number(snapshot: Snapshot) -> bool:
    return AnonymousUser().has_perm("reproducibility.view_badge", snapshot)


@require_GET
def badge(request: HttpRequest, pk: int) -> HttpResponse:
    """The badge by the snapshot's number: public once awarded or published (portal.access.permissions),
    else only for those who may read the report. 404 rather than 403: numbers are sequential, and a
    refusal would tell a stranger which applications exist."""
    snapshot = get_object_or_404(Snapshot, pk=pk)
    if not request.user.has_perm("reproducibility.view_badge", snapshot):
        raise Http404("No such badge.")
    response = _badge_svg(request, snapshot)
    if _public_by_number(snapshot):
        patch_cache_control(response, public=True, max_age=300)
    else:
        patch_cache_control(response, private=True, max_age=300)  # never kept by a shared cache
    return response


@require_GET
@cache_control(max_age=300, public=True)
def badge_by_token(request: HttpRequest, token: str) -> HttpResponse:
    """The badge for READMEs: anyone given the link sees it; the token cannot be guessed or counted."""
    return _badge_svg(request, get_object_or_404(Snapshot, badge_token=token))


@login_required
@require_POST
def badge_publish(request: HttpRequest, pk: int) -> HttpResponse:
    """The project's members make the badge public by its number (public=on) or withdraw that (public=off)."""
    snapshot = get_object_or_404(Snapshot, pk=pk)
    if not request.user.has_perm("reproducibility.publish_badge", snapshot):
        raise PermissionDenied("Only the members of a project scored from this snapshot may publish its badge.")
    choice = request.POST.get("public")
    if choice not in ("on", "off"):
        return HttpResponseBadRequest("Say public=on to publish the badge or public=off to withdraw it.")
    badges.set_badge_public(snapshot, public=choice == "on", actor=request.user)
    if choice == "on":
        messages.success(request, "The badge is public: anyone may see it by this report's number.")
    else:
        messages.success(request, "The badge is no longer public by number; its README link still works.")
    return redirect("reproducibility:report", pk=snapshot.pk)
