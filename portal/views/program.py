"""The maintainers' program view: hours by call, pool and month, decision times and reviewer load, as a
page with charts and as CSV downloads. Thin: portal.selectors.program reads the figures."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.access import roles
from portal.models import Call
from portal.selectors import program

HOUR = 3600


class ProgramFilter(forms.Form):
    call = forms.ModelChoiceField(
        queryset=Call.objects.order_by("-opens_at", "-pk"),
        required=False,
        empty_label="Every call",
        error_messages={"invalid_choice": "No such call: choose one from the list, or every call."},
    )


def _require_maintainer(request: HttpRequest) -> None:
    if not roles.is_maintainer(request.user):
        raise PermissionDenied("Only maintainers see the program's figures.")


def _chosen_call(request: HttpRequest) -> tuple[ProgramFilter, Call | None]:
    chosen = ProgramFilter(request.GET)
    return chosen, chosen.cleaned_data["call"] if chosen.is_valid() else None


@login_required
@require_GET
def program_view(request: HttpRequest) -> HttpResponse:
    _require_maintainer(request)
    chosen, call = _chosen_call(request)
    if chosen.errors:  # a bad filter changes nothing: the form says why
        return render(request, "portal/program/view.html", {"filter": chosen, "query": ""}, status=400)
    context = {
        "filter": chosen,
        "query": f"?call={call.pk}" if call else "",
        # Every call: its totals; one call: its months, charted.
        "totals": program.budget_totals() if call is None else None,
        "lines": program.hours_by_month(call) if call is not None else [],
        "decisions": program.decision_times(call, by_month=False),
        "reviewers": program.reviewer_load(call),
    }
    return render(request, "portal/program/view.html", context)


def _cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (=, +, -, @) is written as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv(call: Call | None, name: str, header: list[str], rows: Iterable[list[Any]]) -> StreamingHttpResponse:
    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([_cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv")
    suffix = f"-call-{call.pk}" if call else ""
    response["Content-Disposition"] = f'attachment; filename="program-{name}{suffix}.csv"'
    return response


def _call_for_csv(request: HttpRequest) -> tuple[Call | None, HttpResponse | None]:
    """The call chosen in the query, or the refusal of a bad one (400, saying why)."""
    _require_maintainer(request)
    chosen, call = _chosen_call(request)
    if chosen.errors:
        return None, HttpResponse(" ".join(map(str, chosen.errors["call"])), status=400, content_type="text/plain")
    return call, None


@login_required
@require_GET
def program_hours_csv(request: HttpRequest) -> HttpResponseBase:
    call, refused = _call_for_csv(request)
    if refused:
        return refused
    header = [
        "call",
        "pool",
        "month",
        "awarded_h",
        "used_h",
        "reclaimed_h",
        "returned_h",
        "utilisation_to_date",
        "budget_h",
    ]
    rows = (
        [
            line.call_title,
            line.pool_name,
            month.month.strftime("%Y-%m"),
            round(month.awarded / HOUR, 4),
            round(month.used / HOUR, 4),
            round(month.reclaimed / HOUR, 4),
            round(month.returned / HOUR, 4),
            "" if month.utilisation is None else round(month.utilisation, 4),
            round(line.budget / HOUR, 4),
        ]
        for line in program.hours_by_month(call)
        for month in line.months
    )
    return _csv(call, "hours", header, rows)


@login_required
@require_GET
def program_decisions_csv(request: HttpRequest) -> HttpResponseBase:
    call, refused = _call_for_csv(request)
    if refused:
        return refused
    header = ["call", "decided_in", "decided", "median_days", "p90_days"]
    rows = (
        [
            row.call_title,
            row.month.strftime("%Y-%m") if row.month else "all",
            row.decided,
            round(row.median_days, 2),
            round(row.p90_days, 2),
        ]
        for row in program.decision_times(call)
    )
    return _csv(call, "decisions", header, rows)


@login_required
@require_GET
def program_reviewers_csv(request: HttpRequest) -> HttpResponseBase:
    call, refused = _call_for_csv(request)
    if refused:
        return refused
    header = ["reviewer", "assigned", "done", "pending", "declined_or_conflicted"]
    rows = ([r.reviewer, r.assigned, r.done, r.pending, r.declined] for r in program.reviewer_load(call))
    return _csv(call, "reviewers", header, rows)
