"""The maintainers' program view: where each call's hours went, month by month, how long decisions
took and how loaded the reviewers are.

Every function runs a fixed number of queries whatever the amount of data: the hours are summed
by the database per (call, pool, month) from the two ledgers (the call's `BudgetEntry` for awards,
supplements, returns and reclaims; the allocations' `LedgerEntry` charges for use), so the page
costs the same at ten awards as at ten thousand (tests/portal/test_program.py counts them).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import Aggregate, Count, F, FloatField, Func, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils.safestring import SafeString, mark_safe

from portal.models import Application, BudgetEntry, Call, CallPool, ReviewAssignment
from scheduler.models import Allocation, LedgerEntry

HOUR = 3600
TAKEN = (BudgetEntry.Kind.OPENING, BudgetEntry.Kind.AWARD, BudgetEntry.Kind.SUPPLEMENT)
RETURNED = (BudgetEntry.Kind.RETURN, BudgetEntry.Kind.REVOKE)  # unused at the end, or at a revocation
DECIDED = (Application.State.AWARDED, Application.State.DECLINED, Application.State.WAITLISTED)


@dataclass
class MonthHours:
    """One month of one call's budget on one pool, in accelerator-seconds."""

    month: date
    awarded: int = 0  # awards and supplements taken from the budget
    used: int = 0  # charged to the call's allocations
    reclaimed: int = 0  # idle hours taken back by a maintainer
    returned: int = 0  # back to the budget unused at the end, or when the award was revoked
    utilisation: float | None = None  # used so far / net awarded so far, at the month's end

    @property
    def net_awarded(self) -> int:
        return self.awarded - self.reclaimed - self.returned


@dataclass
class BudgetLine:
    """A call's budget on a pool: its months and its totals."""

    call_id: int
    call_title: str
    pool_name: str
    budget: int
    months: list[MonthHours] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(month, name) for month in self.months)

    @property
    def awarded(self) -> int:
        return self.total("awarded")

    @property
    def used(self) -> int:
        return self.total("used")

    @property
    def reclaimed(self) -> int:
        return self.total("reclaimed")

    @property
    def returned(self) -> int:
        return self.total("returned")

    @property
    def utilisation(self) -> float | None:
        """Used over what the call still has out (awarded less what came back); None before any award."""
        net = self.awarded - self.reclaimed - self.returned
        return self.used / net if net > 0 else None

    @property
    def chart(self) -> MonthChart:
        return month_chart(self.months)


@dataclass(frozen=True)
class BudgetTotals:
    """A call's budget on a pool over its whole life, in accelerator-seconds."""

    call_id: int
    call_title: str
    pool_name: str
    budget: int
    awarded: int
    used: int
    reclaimed: int
    returned: int

    @property
    def utilisation(self) -> float | None:
        net = self.awarded - self.reclaimed - self.returned
        return self.used / net if net > 0 else None


def budget_totals() -> list[BudgetTotals]:
    """Every call's budgets with their totals (three queries): what the overview shows. It sums the call
    ledgers and the allocations' cached `used`, not the runs' charges, so it costs the same however many
    runs there were (the months, which need the charges, are read for one call at a time)."""
    budgets = CallPool.objects.select_related("call", "pool").order_by("-call__opens_at", "call_id", "pool__name")
    moved: dict[tuple[int, str], int] = {
        (row["call_pool_id"], row["kind"]): row["seconds"]
        for row in BudgetEntry.objects.values("call_pool_id", "kind").annotate(seconds=Sum("seconds")).order_by()
    }
    used = {
        (row["application__call_id"], row["pool_id"]): row["seconds"]
        for row in Allocation.objects.filter(application__isnull=False)
        .values("application__call_id", "pool_id")
        .annotate(seconds=Sum("used"))
        .order_by()
    }
    return [
        BudgetTotals(
            call_id=b.call_id,
            call_title=b.call.title,
            pool_name=b.pool.name,
            budget=b.budget_seconds,
            awarded=sum(moved.get((b.pk, kind), 0) for kind in TAKEN),
            used=used.get((b.call_id, b.pool_id), 0),
            reclaimed=-moved.get((b.pk, BudgetEntry.Kind.RECLAIM), 0),
            returned=-sum(moved.get((b.pk, kind), 0) for kind in RETURNED),
        )
        for b in budgets
    ]


def hours_by_month(call: Call | None = None) -> list[BudgetLine]:
    """Per call and pool (one call's, or every call's), hours awarded, used, reclaimed and returned by month.

    Three queries: the budgets, the call ledger summed per month and kind, the charges summed per month.
    """
    budgets = CallPool.objects.select_related("call", "pool").order_by("-call__opens_at", "call_id", "pool__name")
    entries = BudgetEntry.objects.all()
    charges = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE, allocation__application__isnull=False)
    if call is not None:
        budgets = budgets.filter(call=call)
        entries = entries.filter(call_pool__call=call)
        charges = charges.filter(allocation__application__call=call)
    lines = {
        (b.call_id, b.pool_id): BudgetLine(b.call_id, b.call.title, b.pool.name, b.budget_seconds) for b in budgets
    }
    cells: dict[tuple[int, int], dict[date, MonthHours]] = defaultdict(dict)

    def cell(key: tuple[int, int], month: date) -> MonthHours:
        return cells[key].setdefault(month, MonthHours(month))

    by_kind = (
        entries.annotate(month=TruncMonth("created"))
        .values("call_pool__call_id", "call_pool__pool_id", "month", "kind")
        .annotate(seconds=Sum("seconds"))
        .order_by()
    )
    for row in by_kind:
        target = cell((row["call_pool__call_id"], row["call_pool__pool_id"]), row["month"].date())
        if row["kind"] in TAKEN:
            target.awarded += row["seconds"]
        elif row["kind"] == BudgetEntry.Kind.RECLAIM:
            target.reclaimed -= row["seconds"]
        else:  # return, revoke
            target.returned -= row["seconds"]
    used = (
        charges.annotate(month=TruncMonth("created"))
        .values("allocation__application__call_id", "allocation__pool_id", "month")
        .annotate(seconds=Sum("seconds"))
        .order_by()
    )
    for charge in used:
        key = (charge["allocation__application__call_id"], charge["allocation__pool_id"])
        cell(key, charge["month"].date()).used += charge["seconds"]
    for key, line in lines.items():
        line.months = _every_month(cells.get(key, {}))
    return list(lines.values())


def _every_month(known: dict[date, MonthHours]) -> list[MonthHours]:
    """The months from the first movement to the last, quiet ones included, with running utilisation."""
    if not known:
        return []
    months, month, last = [], min(known), max(known)
    used = net = 0
    while month <= last:
        hours = known.get(month) or MonthHours(month)
        used += hours.used
        net += hours.net_awarded
        hours.utilisation = used / net if net > 0 else None
        months.append(hours)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return months


@dataclass(frozen=True)
class DecisionTimes:
    """How long a call's applications waited from submission to decision, in days."""

    call_id: int
    call_title: str
    month: date | None  # the month of the decisions; None: the whole call
    decided: int
    median_days: float
    p90_days: float


def decision_times(call: Call | None = None, *, by_month: bool = True) -> list[DecisionTimes]:
    """Per call, the median and 90th percentile of submission-to-decision days, overall and by month
    of decision: PostgreSQL takes the percentiles (two queries); elsewhere they are taken here (one)."""
    decided = Application.objects.filter(state__in=DECIDED, submitted_at__isnull=False, decided_at__isnull=False)
    if call is not None:
        decided = decided.filter(call=call)
    if connection.vendor == "postgresql":
        return _decision_times_in_database(decided, by_month_too=by_month)
    return [row for row in _decision_times_here(decided) if by_month or row.month is None]


def _decision_times_here(decided: QuerySet[Application]) -> list[DecisionTimes]:
    waits: dict[tuple[int, str], dict[date | None, list[float]]] = defaultdict(lambda: defaultdict(list))
    rows = decided.order_by("-call__opens_at", "call_id").values_list(
        "call_id", "call__title", "submitted_at", "decided_at"
    )
    for call_id, title, submitted_at, decided_at in rows:
        assert submitted_at is not None and decided_at is not None  # filtered above
        days = max((decided_at - submitted_at).total_seconds(), 0) / 86400
        months = waits[(call_id, title)]
        months[None].append(days)
        months[decided_at.date().replace(day=1)].append(days)
    result = []
    for (call_id, title), months in waits.items():
        for month in [None, *sorted(m for m in months if m is not None)]:
            days_list = sorted(months[month])
            result.append(
                DecisionTimes(
                    call_id, title, month, len(days_list), percentile(days_list, 0.5), percentile(days_list, 0.9)
                )
            )
    return result


class PercentileCont(Aggregate):
    """PostgreSQL's interpolated percentile of an ordered set."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float) -> None:
        super().__init__(expression, fraction=float(fraction))


WAIT_DAYS = Func(
    F("decided_at") - F("submitted_at"),
    template="GREATEST(EXTRACT(EPOCH FROM %(expressions)s), 0) / 86400.0",
    output_field=FloatField(),
)


def _decision_times_in_database(decided: QuerySet[Application], by_month_too: bool) -> list[DecisionTimes]:
    median, p90 = PercentileCont(WAIT_DAYS, 0.5), PercentileCont(WAIT_DAYS, 0.9)
    overall = (
        decided.values("call_id", "call__title", "call__opens_at")
        .annotate(decided=Count("*"), median=median, p90=p90)
        .order_by("-call__opens_at", "call_id")
    )
    by_month = (
        decided.annotate(month=TruncMonth("decided_at"))
        .values("call_id", "call__title", "month")
        .annotate(decided=Count("*"), median=median, p90=p90)
        .order_by("call_id", "month")
    )
    monthly: dict[int, list[DecisionTimes]] = defaultdict(list)
    for row in by_month if by_month_too else ():
        monthly[row["call_id"]].append(
            DecisionTimes(
                row["call_id"], row["call__title"], row["month"].date(), row["decided"], row["median"], row["p90"]
            )
        )
    result = []
    for whole in overall:
        result.append(
            DecisionTimes(whole["call_id"], whole["call__title"], None, whole["decided"], whole["median"], whole["p90"])
        )
        result += monthly[whole["call_id"]]
    return result


def percentile(ordered: list[float], fraction: float) -> float:
    """The `fraction` percentile of sorted values, interpolated between ranks (PostgreSQL's percentile_cont)."""
    if not ordered:
        raise ValueError("No values to take a percentile of.")
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class ReviewerLoad:
    reviewer: str
    assigned: int  # every assignment the reviewer accepted or still holds
    done: int  # reviews submitted
    pending: int  # assigned, not yet reviewed
    declined: int  # declined or conflicted


def reviewer_load(call: Call | None = None) -> list[ReviewerLoad]:
    """Per reviewer, assignments made, reviews done and pending (one query), the most pending first."""
    assignments = ReviewAssignment.objects.all()
    if call is not None:
        assignments = assignments.filter(application__call=call)
    S = ReviewAssignment.State
    rows = (
        assignments.values("reviewer__username")
        .annotate(
            assigned=Count("pk", filter=Q(state__in=ReviewAssignment.ACTIVE_STATES)),
            done=Count("pk", filter=Q(state=S.SUBMITTED)),
            pending=Count("pk", filter=Q(state=S.ASSIGNED)),
            declined=Count("pk", filter=Q(state__in=(S.DECLINED, S.CONFLICTED))),
        )
        .order_by("-pending", "reviewer__username")
    )
    return [ReviewerLoad(r["reviewer__username"], r["assigned"], r["done"], r["pending"], r["declined"]) for r in rows]


# The charts: grouped bars per month, drawn as SVG by the template (no JavaScript).
CHART_WIDTH, CHART_HEIGHT, PLOT_LEFT, PLOT_BOTTOM_MARGIN, PLOT_TOP = 640, 200, 48, 24, 10
SERIES = (("awarded", "Awarded"), ("used", "Used"), ("reclaimed", "Reclaimed"), ("returned", "Returned"))


@dataclass(frozen=True)
class Bar:
    series: str
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class MonthChart:
    bars: list[Bar]
    labels: list[tuple[float, str]]  # (x, "2027-03") under each month
    max_hours: float
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    plot_left: int = PLOT_LEFT
    plot_bottom: int = CHART_HEIGHT - PLOT_BOTTOM_MARGIN
    plot_top: int = PLOT_TOP

    @property
    def empty(self) -> bool:
        return not self.bars

    @property
    def bars_svg(self) -> SafeString:
        """The bars as SVG elements, built here: a template loop over a year of four pools' bars took most
        of the page's time. Safe unescaped: every value is a number, a month or one of SERIES' words."""
        return mark_safe(  # noqa: S308 - numbers and fixed words only, see above
            "".join(
                f'<rect x="{b.x}" y="{b.y}" width="{b.width}" height="{b.height}" class="bar-{b.series}">'
                f"<title>{b.title}</title></rect>"
                for b in self.bars
            )
        )


def month_chart(months: Iterable[MonthHours]) -> MonthChart:
    """Four bars a month (awarded, used, reclaimed, returned), scaled to the largest."""
    months = list(months)
    top = max((getattr(m, name) for m in months for name, _ in SERIES), default=0) / HOUR
    if not months or top <= 0:
        return MonthChart([], [], 0)
    plot_width = CHART_WIDTH - PLOT_LEFT - 10
    plot_height = CHART_HEIGHT - PLOT_BOTTOM_MARGIN - PLOT_TOP
    slot = plot_width / len(months)
    bar_width = slot * 0.8 / len(SERIES)
    bars, labels = [], []
    every = math.ceil(len(months) / 12)  # at most 12 month labels fit under the axis
    for index, month in enumerate(months):
        left = PLOT_LEFT + index * slot + slot * 0.1
        label = month.month.strftime("%Y-%m")
        if index % every == 0:
            labels.append((round(left + slot * 0.4, 1), label))
        for offset, (name, title) in enumerate(SERIES):
            value = getattr(month, name) / HOUR
            height = plot_height * value / top
            bars.append(
                Bar(
                    series=name,
                    x=round(left + offset * bar_width, 1),
                    y=round(CHART_HEIGHT - PLOT_BOTTOM_MARGIN - height, 1),
                    width=round(bar_width, 1),
                    height=round(height, 1),
                    title=f"{label}: {title.lower()} {value:,.2f} h",
                )
            )
    return MonthChart(bars, labels, round(top, 2))
