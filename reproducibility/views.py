"""The report page, its re-score button, the README badge and the checks' documentation pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from reproducibility import guide, services
from reproducibility.models import Snapshot
from reproducibility.scoring import CHECKER_VERSION

LEVEL_COLOURS = {"gold": "#b8860b", "silver": "#6c757d", "bronze": "#a0522d", "none": "#c62828"}


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


@require_GET
@cache_control(max_age=300, public=True)
def badge(request: HttpRequest, pk: int) -> HttpResponse:
    """A shields-style SVG for READMEs: public, it shows only the level and the score."""
    snapshot = get_object_or_404(Snapshot, pk=pk)
    latest = snapshot.latest_report
    if latest is None:
        label, colour = snapshot.status, "#9e9e9e"
    else:
        label, colour = f"{latest.level} {latest.score:.0f}", LEVEL_COLOURS.get(latest.level, "#9e9e9e")
    svg = render(
        request, "reproducibility/badge.svg", {"value": label, "colour": colour, "width": 96 + 7 * len(label)}
    ).content
    return HttpResponse(svg, content_type="image/svg+xml")
