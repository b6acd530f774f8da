"""The report page and the README badge."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from reproducibility.models import Snapshot

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
    categories: dict[str, list[dict]] = {}
    if latest:
        for item in latest.results["checks"]:
            categories.setdefault(item["category"], []).append(item)
    if request.GET.get("format") == "json" and latest:
        return JsonResponse(latest.results)
    template = "reproducibility/_status.html" if getattr(request, "htmx", False) else "reproducibility/report.html"
    return render(request, template, {"snapshot": snapshot, "report": latest, "categories": categories})


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
