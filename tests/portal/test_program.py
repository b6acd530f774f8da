"""The maintainers' program view: hours by call, pool and month from both ledgers, decision times,
reviewer load; a page with charts and CSV downloads, in a fixed number of queries, maintainers only."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.models import Application, BudgetEntry, CallPool, ReviewAssignment
from portal.selectors import program
from portal.services import call_budget
from scheduler import admission, quota
from scheduler.models import LedgerEntry, TrainingJob
from tests.portal.conftest import client_for
from tests.scheduler.factories import ProjectFactory, UserFactory, job_request

HOUR = 3600
pytestmark = pytest.mark.django_db


def _award(call, pool, hours, *, submitted_at, decided_at, actor=None):  # type: ignore[no-untyped-def]
    """An awarded application with its allocation and its `award` entry in the call's budget ledger."""
    project = ProjectFactory()
    budget = call_budget.locked(call.pk, pool.pk)
    allocation = quota.award(project, pool, hours * HOUR, expires_at=timezone.now() + timedelta(days=300))
    call_budget.take(budget, hours * HOUR, BudgetEntry.Kind.AWARD, allocation=allocation, actor=actor)
    Application.objects.create(
        call=call,
        project=project,
        pool=pool,
        requested_seconds=hours * HOUR,
        state=Application.State.AWARDED,
        submitted_at=submitted_at,
        decided_at=decided_at,
        allocation=allocation,
    )
    return allocation


def _charge(allocation, hours):  # type: ignore[no-untyped-def]
    """A two-worker run charged `hours` (an even number) in all."""
    job = quota.submit_job(allocation, job_request(workers=2, runtime=hours * HOUR // 2))
    admission.admit_pending_jobs(allocation.pool)
    quota.mark_started(job)
    quota.finish_job(job, TrainingJob.State.SUCCEEDED, worker_seconds=[hours * HOUR // 2] * 2)
    return job


def _give_back(call, allocation, hours, kind):  # type: ignore[no-untyped-def]
    budget = call_budget.locked(call.pk, allocation.pool_id)
    taken = quota.return_unused(allocation, limit=hours * HOUR)
    call_budget.give_back(budget, taken, kind, allocation=allocation, actor=None)


def _in_month(queryset, month):  # type: ignore[no-untyped-def]
    """Date ledger rows into a month. The allocations' ledger refuses updates with a trigger; it is
    lifted for this one statement, inside the test's transaction (rolled back with it)."""
    guarded = queryset.model is LedgerEntry and connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if guarded:  # deferred foreign-key checks first: ALTER TABLE refuses while they are pending
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE scheduler_ledgerentry DISABLE TRIGGER scheduler_ledger_append_only")
        queryset.update(created=datetime(month.year, month.month, 15, 12, tzinfo=UTC))
        if guarded:
            cursor.execute("ALTER TABLE scheduler_ledgerentry ENABLE TRIGGER scheduler_ledger_append_only")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def test_hours_are_summed_by_call_pool_and_month_from_both_ledgers(open_call, gpu_pool, tpu_pool):
    now = timezone.now()
    first = _award(open_call, gpu_pool, 100, submitted_at=now - timedelta(days=10), decided_at=now)
    second = _award(open_call, gpu_pool, 50, submitted_at=now - timedelta(days=4), decided_at=now)
    _charge(first, 30)
    _give_back(open_call, second, 20, BudgetEntry.Kind.RECLAIM)
    _give_back(open_call, first, 10, BudgetEntry.Kind.RETURN)
    january, march = date(2027, 1, 1), date(2027, 3, 1)
    _in_month(BudgetEntry.objects.filter(kind="award"), january)
    _in_month(LedgerEntry.objects.filter(kind="charge"), march)
    _in_month(BudgetEntry.objects.exclude(kind="award"), march)

    gpu, tpu = program.hours_by_month(open_call)
    assert (gpu.pool_name, tpu.pool_name) == ("nvidia-v100", "tpu-v4-8")
    assert [m.month for m in gpu.months] == [january, date(2027, 2, 1), march]  # the quiet month is shown
    assert [(m.awarded, m.used, m.reclaimed, m.returned) for m in gpu.months] == [
        (150 * HOUR, 0, 0, 0),
        (0, 0, 0, 0),
        (0, 30 * HOUR, 20 * HOUR, 10 * HOUR),
    ]
    # utilisation to date: used over what is still out (150 awarded - 30 back)
    assert [m.utilisation for m in gpu.months] == [0, 0, 0.25]
    assert (gpu.awarded, gpu.used, gpu.reclaimed, gpu.returned, gpu.utilisation) == (
        150 * HOUR,
        30 * HOUR,
        20 * HOUR,
        10 * HOUR,
        0.25,
    )
    # the program's totals agree with the cached budget the ledger protects
    assert (
        gpu.awarded - gpu.reclaimed - gpu.returned
        == CallPool.objects.get(call=open_call, pool=gpu_pool).awarded_seconds
    )
    assert tpu.months == [] and tpu.utilisation is None and tpu.chart.empty


def test_decision_times_are_the_median_and_90th_percentile_per_call(open_call, gpu_pool):
    decided = datetime(2027, 2, 10, tzinfo=UTC)
    for days in (1, 2, 3, 4, 10):
        _award(open_call, gpu_pool, 1, submitted_at=decided - timedelta(days=days), decided_at=decided)
    Application.objects.create(  # still under review: not decided, not counted
        call=open_call,
        project=ProjectFactory(),
        pool=gpu_pool,
        requested_seconds=HOUR,
        state=Application.State.UNDER_REVIEW,
        submitted_at=decided,
    )
    overall, february = program.decision_times(open_call)
    assert (overall.month, overall.decided, overall.median_days) == (None, 5, 3)
    assert overall.p90_days == pytest.approx(7.6)  # between 4 and 10, as percentile_cont interpolates
    assert (february.month, february.decided) == (date(2027, 2, 1), 5)
    # SQLite's path takes the same percentiles in Python
    decided = Application.objects.filter(state="awarded", call=open_call)
    here = program._decision_times_here(decided)
    assert [(d.month, d.decided) for d in here] == [(None, 5), (date(2027, 2, 1), 5)]
    assert [(d.median_days, d.p90_days) for d in here] == [pytest.approx((3, 7.6)), pytest.approx((3, 7.6))]
    assert program.decision_times(open_call, by_month=False) == [overall]
    assert program.percentile([5.0], 0.9) == 5.0
    with pytest.raises(ValueError, match="No values"):
        program.percentile([], 0.5)


def test_reviewer_load_counts_assigned_done_pending_and_declined_per_reviewer(open_call, gpu_pool):
    now = timezone.now()
    busy, idle = UserFactory(username="busy"), UserFactory(username="idle")
    states = {busy: ["assigned", "assigned", "submitted"], idle: ["submitted", "declined", "conflicted"]}
    for reviewer, assignments in states.items():
        for state in assignments:
            allocation = _award(open_call, gpu_pool, 1, submitted_at=now, decided_at=now)
            ReviewAssignment.objects.create(application=allocation.application, reviewer=reviewer, state=state)
    assert program.reviewer_load(open_call) == [
        program.ReviewerLoad("busy", assigned=3, done=1, pending=2, declined=0),
        program.ReviewerLoad("idle", assigned=1, done=1, pending=0, declined=2),
    ]


def _world(call, pool, awards):  # type: ignore[no-untyped-def]
    """`awards` awards spread over four months, each with a charge, a reclaim or return, a review."""
    now = timezone.now()
    reviewer = UserFactory()
    for index in range(awards):
        allocation = _award(call, pool, 10, submitted_at=now - timedelta(days=index % 7 + 1), decided_at=now)
        _charge(allocation, 2)
        _give_back(call, allocation, 1, (BudgetEntry.Kind.RECLAIM, BudgetEntry.Kind.RETURN)[index % 2])
        ReviewAssignment.objects.create(application=allocation.application, reviewer=reviewer, state="submitted")
        month = date(2027, 1 + index % 4, 1)
        _in_month(BudgetEntry.objects.filter(allocation=allocation), month)
        _in_month(LedgerEntry.objects.filter(allocation=allocation, kind="charge"), month)


def _queries(client, url):  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200
    return len(queries), body


def test_the_page_and_every_csv_run_the_same_number_of_queries_at_two_sizes(open_call, gpu_pool, maintainer):
    client = client_for(maintainer)
    urls = [
        reverse("portal:program_view"),
        reverse("portal:program_view") + f"?call={open_call.pk}",
        reverse("portal:program_hours_csv"),
        reverse("portal:program_decisions_csv"),
        reverse("portal:program_reviewers_csv"),
    ]
    _world(open_call, gpu_pool, 3)
    small = [_queries(client, url)[0] for url in urls]
    _world(open_call, gpu_pool, 24)
    large = [_queries(client, url)[0] for url in urls]
    assert small == large, dict(zip(urls, zip(small, large, strict=True), strict=True))
    assert max(large) <= 12


def test_the_page_draws_a_chart_per_budget_and_the_csv_holds_the_same_figures(open_call, gpu_pool, maintainer):
    _world(open_call, gpu_pool, 4)
    client = client_for(maintainer)
    page = client.get(reverse("portal:program_view"), {"call": open_call.pk}).content.decode()
    assert page.count('data-testid="budget-line"') == 2  # both of the call's pools
    assert page.count('class="bar-awarded"') == 4 and "<svg" in page  # a bar for each of 4 months
    assert "2027-01: awarded 10.00 h" in page
    assert page.count('data-testid="month-row"') == 4 and page.count('data-testid="reviewer-row"') == 1
    every_call = client.get(reverse("portal:program_view")).content.decode()
    assert 'data-testid="month-row"' not in every_call and "<svg" not in every_call  # months and charts: per call
    assert every_call.count('data-testid="totals-row"') == 2 and f'href="?call={open_call.pk}"' in every_call
    # the overview's totals (call ledger, cached balances) agree with the months' (ledgers by month)
    (gpu, _), (gpu_total, tpu_total) = program.hours_by_month(open_call), program.budget_totals()
    assert (gpu_total.awarded, gpu_total.used, gpu_total.reclaimed, gpu_total.returned) == (
        gpu.awarded,
        gpu.used,
        gpu.reclaimed,
        gpu.returned,
    )
    assert gpu_total.utilisation == gpu.utilisation and (tpu_total.awarded, tpu_total.utilisation) == (0, None)
    response = client.get(reverse("portal:program_hours_csv"), {"call": open_call.pk})
    assert response["Content-Disposition"] == f'attachment; filename="program-hours-call-{open_call.pk}.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["month"] for r in rows] == ["2027-01", "2027-02", "2027-03", "2027-04"]
    assert {(r["awarded_h"], r["used_h"]) for r in rows} == {("10.0", "2.0")}
    assert [r["reclaimed_h"] for r in rows] == ["1.0", "0.0", "1.0", "0.0"]
    assert rows[0]["utilisation_to_date"] == "0.2222"  # 2 used of the 9 h still out


def test_a_bad_call_filter_is_answered_with_what_to_do_and_changes_nothing(maintainer):
    client = client_for(maintainer)
    page = client.get(reverse("portal:program_view"), {"call": "999999"})
    assert page.status_code == 400
    assert "No such call: choose one from the list, or every call." in page.content.decode()
    for name in ("program_hours_csv", "program_decisions_csv", "program_reviewers_csv"):
        refused = client.get(reverse(f"portal:{name}"), {"call": "nonsense"})
        assert refused.status_code == 400 and b"No such call" in refused.content


def test_a_call_title_a_spreadsheet_would_run_is_written_as_text(open_call, gpu_pool, maintainer):
    type(open_call).objects.filter(pk=open_call.pk).update(title='=HYPERLINK("http://evil")')
    _world(open_call, gpu_pool, 1)
    body = b"".join(client_for(maintainer).get(reverse("portal:program_hours_csv")).streaming_content).decode()
    assert "'=HYPERLINK" in body


def test_only_maintainers_see_the_program(applicant, reviewer):
    for user in (applicant, reviewer):
        for name in ("program_view", "program_hours_csv", "program_decisions_csv", "program_reviewers_csv"):
            assert client_for(user).get(reverse(f"portal:{name}")).status_code == 403


def test_an_empty_program_says_so_and_its_csvs_hold_only_their_headers(maintainer):
    client = client_for(maintainer)
    page = client.get(reverse("portal:program_view")).content.decode()
    for empty in ("No call has a budget yet.", "No application decided yet.", "No reviewer assigned yet."):
        assert empty in page
    body = b"".join(client.get(reverse("portal:program_hours_csv")).streaming_content).decode()
    assert body.splitlines() == ["call,pool,month,awarded_h,used_h,reclaimed_h,returned_h,utilisation_to_date,budget_h"]


def test_months_run_across_the_new_year_and_quiet_months_are_kept():
    known = {
        date(2026, 11, 1): program.MonthHours(date(2026, 11, 1), awarded=10 * HOUR),
        date(2027, 2, 1): program.MonthHours(date(2027, 2, 1), used=5 * HOUR, returned=2 * HOUR),
    }
    months = program._every_month(known)
    assert [m.month for m in months] == [date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1)]
    assert [m.utilisation for m in months] == [0, 0, 0, 5 / 8]  # 5 used of the 8 h still out
    chart = program.month_chart(months)
    assert [label for _, label in chart.labels] == ["2026-11", "2026-12", "2027-01", "2027-02"]
    assert len(chart.bars) == 16 and chart.max_hours == 10
