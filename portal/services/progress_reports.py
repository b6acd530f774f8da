"""Progress and final reports: scheduled at the award from the call's months, written by the project
(what was done, what changed, problems, the runs and the released models), approved or returned by
a maintainer or a reviewer of the award's application. A maintainer's approval can release a held
tranche; an overdue report stops new runs on the allocation when the call says so (a scheduler.quota
submission check, so the run form says why).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal.errors import WorkflowError
from portal.models import Application, Call, ProgressReport, ReviewAssignment
from portal.services import audit, notifications, tranches
from scheduler import quota
from scheduler.models import Allocation, TrainingJob

R = ProgressReport.State
DUE_NOTICE_AHEAD = timedelta(days=7)
NEEDS_WORK_DONE = "Say what was done with the hours."
NEEDS_COMMENT = "Tell the project what to change before it submits again."


def add_months(at: datetime, months: int) -> datetime:
    """The same day `months` later, or the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    month_index = at.month - 1 + months
    year, month = at.year + month_index // 12, month_index % 12 + 1
    return at.replace(year=year, month=month, day=min(at.day, calendar.monthrange(year, month)[1]))


def schedule(allocation: Allocation, call: Call, awarded_at: datetime) -> list[ProgressReport]:
    """The reports an award owes: one per month the call names (within the award), and a final one at the end."""
    reports = [
        ProgressReport(allocation=allocation, kind=ProgressReport.Kind.PROGRESS, months_after_award=m, due_at=due)
        for m in sorted({int(m) for m in call.report_months if int(m) > 0})
        if (due := add_months(awarded_at, m)) < allocation.expires_at
    ]
    reports.append(ProgressReport(allocation=allocation, kind=ProgressReport.Kind.FINAL, due_at=allocation.expires_at))
    return ProgressReport.objects.bulk_create(reports)


def _locked(report: ProgressReport) -> ProgressReport:
    return (
        ProgressReport.objects.select_for_update(of=("self",))
        .select_related("allocation__project", "allocation__pool")
        .get(pk=report.pk)
    )


def _application(report: ProgressReport) -> Application | None:
    return Application.objects.select_related("call").filter(allocation_id=report.allocation_id).first()


def linkable_runs(allocation: Allocation) -> Any:
    """The runs a report on the allocation may link: its own."""
    return allocation.jobs.order_by("-submitted_at", "-id")


def releasable_models(allocation: Allocation) -> list[TrainingJob]:
    """The allocation's runs that exported a SavedModel with a fingerprint (what identifies a released model)."""
    return [job for job in linkable_runs(allocation) if fingerprint_of(job)]


def fingerprint_of(job: TrainingJob) -> str:
    """The SavedModel's checksum from its fingerprint.pb, as the run's inspection read it; '' without one."""
    fingerprint = (job.model_summary or {}).get("fingerprint") or {}
    return str(fingerprint.get("saved_model_checksum") or "")


@transaction.atomic
def submit(
    report: ProgressReport,
    *,
    actor: Any,
    work_done: str,
    changes: str = "",
    problems: str = "",
    runs: Iterable[TrainingJob] = (),
    released_models: Iterable[TrainingJob] = (),
) -> ProgressReport:
    """The project hands in its report; maintainers are mailed to decide on it."""
    report = _locked(report)
    if not report.is_open:
        raise WorkflowError(f"This report is {report.get_state_display()}; it cannot be submitted again.")
    if not work_done.strip():
        raise WorkflowError(NEEDS_WORK_DONE, field="work_done")
    runs, released_models = list(runs), list(released_models)
    if any(job.allocation_id != report.allocation_id for job in [*runs, *released_models]):
        raise WorkflowError("A report links only the runs of its own allocation.")
    if unfingerprinted := [job.pk for job in released_models if not fingerprint_of(job)]:
        raise WorkflowError(f"Run(s) {unfingerprinted} exported no SavedModel with a fingerprint to release.")
    report.work_done, report.changes, report.problems = work_done.strip(), changes.strip(), problems.strip()
    report.state, report.submitted_at, report.submitted_by = R.SUBMITTED, timezone.now(), actor
    report.save()
    report.runs.set(runs)
    report.released_models.set(released_models)
    audit.record(actor, "report.submitted", _application(report) or report.allocation, message=str(report))
    notifications.notify("report_submitted", [*notifications.maintainers(), *award_reviewers(report)], report=report)
    return report


def award_reviewers(report: ProgressReport) -> list[Any]:
    """The reviewers of the application that made the report's award: they may decide it too."""
    assignments = ReviewAssignment.objects.filter(
        application__allocation_id=report.allocation_id, state__in=ReviewAssignment.ACTIVE_STATES
    ).select_related("reviewer")
    return [assignment.reviewer for assignment in assignments if assignment.reviewer.is_active]


@transaction.atomic
def approve(report: ProgressReport, *, actor: Any, comment: str = "", release_seconds: int = 0) -> ProgressReport:
    """Accept the report; `release_seconds` of the allocation's held hours become runnable with it."""
    report = _decide(report, R.APPROVED, actor=actor, comment=comment)
    if release_seconds:
        tranches.release(report.allocation, release_seconds, actor=actor, reason=f"{report} approved")
    return report


def return_for_changes(report: ProgressReport, *, actor: Any, comment: str) -> ProgressReport:
    """Send the report back with what to change; it is open (and, past its date, overdue) again."""
    if not comment.strip():
        raise WorkflowError(NEEDS_COMMENT, field="comment")
    return _decide(report, R.RETURNED, actor=actor, comment=comment)


@transaction.atomic
def _decide(report: ProgressReport, state: str, *, actor: Any, comment: str) -> ProgressReport:
    report = _locked(report)
    if report.state != R.SUBMITTED:
        raise WorkflowError(f"This report is {report.get_state_display()}; only a submitted report is decided.")
    report.state, report.decided_at, report.decided_by = state, timezone.now(), actor
    report.decision_comment = comment.strip()
    report.save()
    audit.record(
        actor, f"report.{state}", _application(report) or report.allocation, message=comment.strip(), to_state=state
    )
    notifications.notify("report_decided", notifications.project_people(report.allocation.project), report=report)
    return report


def overdue(allocation: Allocation, now: datetime | None = None) -> ProgressReport | None:
    """The allocation's earliest report past its date and not handed in (or returned), if any."""
    now = now or timezone.now()
    return (
        ProgressReport.objects.filter(allocation=allocation, state__in=[R.DUE, R.RETURNED], due_at__lte=now)
        .order_by("due_at")
        .first()
    )


def refuse_runs_while_overdue(allocation: Allocation, now: datetime) -> None:
    """A scheduler.quota submission check: the call may stop new runs while a report is overdue."""
    blocks = Application.objects.filter(allocation=allocation, call__overdue_reports_block_runs=True).exists()
    if not blocks:
        return
    late = overdue(allocation, now)
    if late is not None:
        raise quota.QuotaError(
            f"The {late.title.lower()} was due on {late.due_at:%Y-%m-%d}: this call stops new runs "
            f"until it is submitted. Write it at {reverse('portal:report_detail', args=[late.pk])}."
        )


def send_due_notices(now: datetime | None = None) -> list[int]:
    """Mail the project a week before a report is due, once per report (a claimed timestamp)."""
    now = now or timezone.now()
    due = ProgressReport.objects.filter(
        state=R.DUE,
        due_notice_sent_at__isnull=True,
        due_at__lte=now + DUE_NOTICE_AHEAD,
        allocation__state__in=[Allocation.State.ACTIVE, Allocation.State.SUSPENDED],
    ).select_related("allocation__project", "allocation__pool")
    sent = []
    for report in due:
        with transaction.atomic():
            # Claimed by the update: a second beat run at the same moment finds nothing left to claim.
            if ProgressReport.objects.filter(pk=report.pk, due_notice_sent_at__isnull=True).update(
                due_notice_sent_at=now
            ):
                notifications.notify(
                    "report_due", notifications.project_people(report.allocation.project), report=report
                )
                sent.append(report.pk)
    return sent
