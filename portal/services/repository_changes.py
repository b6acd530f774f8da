"""The repository a project runs: fixed while it is reviewed or awarded, changed only by approval.

The award is for what the reviewers scored. While a project has an application still to be decided
or an allocation that can run, its repository cannot be edited (pages, API, admin: `check_editable`
and Project.save). Its members file a change request instead (a new URL and/or commit); the portal
snapshots and scores what they ask for; a maintainer reads how the report changed (`report_diff`)
and approves or declines with a reason. On approval the allocations' runs, and the applications
still under review, move to the approved snapshot. Every step is audited and notified.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from portal.errors import WorkflowError
from portal.models import Application, Project, RepositoryChange
from portal.services import audit, notifications
from reproducibility.models import Report, Snapshot
from reproducibility.services import enqueue_scoring, request_snapshot, source_kind
from reproducibility.snapshots import SnapshotError
from scheduler.models import Allocation, SourceBasis

A = Application.State
C = RepositoryChange.State
# Applications whose snapshot reviewers are scoring or a maintainer may still award.
REVIEWED_STATES = (A.SUBMITTED, A.UNDER_REVIEW, A.WAITLISTED)
# Allocations that can still run (a suspended one may be resumed).
RUNNING_STATES = (Allocation.State.ACTIVE, Allocation.State.SUSPENDED)
# A branch, tag or commit as git names them; never an option ("-...") or a range ("a..b").
REF = re.compile(r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")


def lock_reason(project: Project) -> str:
    """Why the project's repository is fixed now ("" when it may be edited)."""
    if project.pk is None:
        return ""
    application = project.applications.filter(state__in=REVIEWED_STATES).select_related("call").first()
    if application is not None:
        return f"its application to {application.call} is {application.get_state_display().lower()}"
    if Allocation.objects.filter(project=project, state__in=RUNNING_STATES).exists():
        return "it has an active allocation"
    return ""


def check_editable(project: Project, new_source: str) -> None:
    """Refuse a direct change of a fixed repository, saying how to ask for it instead."""
    if project.pk is None:
        return
    current = Project.objects.filter(pk=project.pk).values_list("repository_url", flat=True).first()
    if current is None or current == new_source:
        return
    reason = lock_reason(project)
    if reason:
        raise WorkflowError(
            f"The repository of {project} cannot change while {reason}: the award is for the commit the "
            f"reviewers scored. File a repository change request "
            f"({reverse('portal:project_repository', args=[project.pk])}) for a maintainer to approve.",
            field="repository_url",
        )


def current_source(project: Project) -> tuple[Snapshot | None, str]:
    """The snapshot the project's runs execute now and on what grounds (SourceBasis): its newest
    running allocation's, else the snapshot of its application under review."""
    allocation = (
        Allocation.objects.filter(project=project, state__in=RUNNING_STATES, snapshot__isnull=False)
        .select_related("snapshot")
        .order_by("-created", "-pk")
        .first()
    )
    if allocation is not None:
        return allocation.snapshot, allocation.source_basis
    application = (
        project.applications.filter(state__in=REVIEWED_STATES, snapshot__isnull=False)
        .select_related("snapshot")
        .order_by("-created", "-pk")
        .first()
    )
    if application is not None:
        return application.snapshot, SourceBasis.REVIEWED
    return None, SourceBasis.UNREVIEWED


def _check_ref(repository_url: str, ref: str) -> str:
    ref = ref.strip()
    if not ref:
        return ""
    if not REF.match(ref):
        raise WorkflowError(
            "Give the commit as git names it: a commit hash, a branch or a tag (letters, digits, . _ / -).",
            field="ref",
        )
    if source_kind(repository_url) != Snapshot.Kind.GIT:
        raise WorkflowError(
            "A commit can only be picked in a git repository; a local folder or archive is taken as it is.",
            field="ref",
        )
    return ref


@transaction.atomic
def request_change(
    project: Project, *, actor: Any, repository_url: str, ref: str = "", reason: str
) -> RepositoryChange:
    """File a change request and have a worker snapshot and score what it asks for."""
    from portal.services.projects import (
        check_repository_source,  # portal.services.projects guards edits with this module
    )

    project = Project.objects.select_for_update().get(pk=project.pk)
    if not reason.strip():
        raise WorkflowError("Tell the maintainers why the project needs another repository or commit.", field="reason")
    source = check_repository_source(repository_url or project.repository_url)
    ref = _check_ref(source, ref)
    if not lock_reason(project):
        raise WorkflowError(
            "Nothing of this project is under review or awarded: edit its repository directly, no approval needed."
        )
    pending = project.repository_changes.filter(state=C.PENDING).first()
    if pending is not None:
        raise WorkflowError(f"Repository change {pending.pk} is still waiting for a maintainer; one at a time.")
    base, _ = current_source(project)
    try:
        snapshot = request_snapshot(source, ref=ref, requested_by=actor)
    except SnapshotError as error:
        raise WorkflowError(str(error)) from error
    change = RepositoryChange.objects.create(
        project=project,
        requested_by=actor,
        repository_url=source,
        ref=ref,
        reason=reason.strip(),
        base_snapshot=base,
        snapshot=snapshot,
    )
    if snapshot.status != Snapshot.Status.DONE:
        enqueue_scoring(snapshot)
    audit.record(
        actor,
        "repository_change.requested",
        change,
        to_state=C.PENDING,
        message=change.reason,
        repository=source,
        ref=ref,
    )
    notifications.notify("repository_change_requested", notifications.maintainers(), change=change)
    return change


def _lock_pending(change: RepositoryChange, actor: Any) -> RepositoryChange:
    locked = RepositoryChange.objects.select_for_update().select_related("project", "snapshot").get(pk=change.pk)
    if locked.state != C.PENDING:
        raise WorkflowError(f"This repository change is already {locked.get_state_display().lower()}.")
    if locked.project.is_member(actor):
        raise WorkflowError("You are a member of this project: another maintainer decides its repository change.")
    return locked


def _decided(change: RepositoryChange, state: str, actor: Any, message: str) -> RepositoryChange:
    change.state = state
    change.decided_by = actor
    change.decided_at = timezone.now()
    change.decision_message = message
    change.save(update_fields=["state", "decided_by", "decided_at", "decision_message"])
    notifications.notify("repository_change_decided", notifications.project_people(change.project), change=change)
    return change


@transaction.atomic
def approve(change: RepositoryChange, *, actor: Any, message: str) -> RepositoryChange:
    """Make the change's snapshot what the project runs: its running allocations and its applications
    under review move to it, and the project's repository becomes the one asked for."""
    if not message.strip():
        raise WorkflowError("Say why the change is approved: the applicant and the audit log keep it.", field="message")
    change = _lock_pending(change, actor)
    snapshot = change.snapshot
    if snapshot.status != Snapshot.Status.DONE or not snapshot.commit:
        raise WorkflowError(
            f"The requested commit is not scored yet ({snapshot.status}"
            f"{': ' + snapshot.error if snapshot.error else ''}); a change is approved on its report."
        )
    project = Project.objects.select_for_update().get(pk=change.project_id)
    moved = list(
        Allocation.objects.select_for_update()
        .filter(project=project, state__in=RUNNING_STATES)
        .values_list("pk", flat=True)
    )
    Allocation.objects.filter(pk__in=moved).update(snapshot=snapshot, source_basis=SourceBasis.APPROVED)
    rescored = list(project.applications.filter(state__in=REVIEWED_STATES).values_list("pk", flat=True))
    Application.objects.filter(pk__in=rescored).update(snapshot=snapshot, updated=timezone.now())
    if project.repository_url != change.repository_url:
        project.repository_url = change.repository_url
        project.save(approved_repository_change=True, update_fields=["repository_url"])
    audit.record(
        actor,
        "repository_change.approved",
        change,
        from_state=C.PENDING,
        to_state=C.APPROVED,
        message=message.strip(),
        commit=snapshot.commit,
        allocations=moved,
        applications=rescored,
    )
    return _decided(change, C.APPROVED, actor, message.strip())


@transaction.atomic
def decline(change: RepositoryChange, *, actor: Any, message: str) -> RepositoryChange:
    """Keep running what was reviewed; the applicant is told why."""
    if not message.strip():
        raise WorkflowError("Tell the applicant why the change is declined.", field="message")
    change = _lock_pending(change, actor)
    audit.record(
        actor, "repository_change.declined", change, from_state=C.PENDING, to_state=C.DECLINED, message=message.strip()
    )
    return _decided(change, C.DECLINED, actor, message.strip())


def pending_changes() -> QuerySet[RepositoryChange]:
    return RepositoryChange.objects.filter(state=C.PENDING).select_related("project", "requested_by", "snapshot")


# --- how the report changes ------------------------------------------------------------------


@dataclass(frozen=True)
class CheckChange:
    id: str
    name: str
    status_before: str
    status_after: str
    points_before: int | None
    points_after: int | None


@dataclass(frozen=True)
class ReportDiff:
    """The static report of the reviewed (or approved) commit against the requested one."""

    before: Report | None
    after: Report | None
    changed: list[CheckChange]
    unchanged: int

    @property
    def ready(self) -> bool:
        return self.before is not None and self.after is not None

    @property
    def score_delta(self) -> float | None:
        return round(self.after.score - self.before.score, 1) if self.before and self.after else None

    @property
    def same_checker(self) -> bool:
        return bool(self.before and self.after and self.before.checker_version == self.after.checker_version)


def _checks(report: Report | None) -> dict[str, dict[str, Any]]:
    return {check["id"]: check for check in (report.results.get("checks", []) if report else [])}


def report_diff(change: RepositoryChange) -> ReportDiff:
    """The checks whose status or points differ between the two commits, and both scores."""
    before = change.base_snapshot.latest_report if change.base_snapshot else None
    after = change.snapshot.latest_report
    old, new = _checks(before), _checks(after)
    changed, unchanged = [], 0
    for check_id in sorted(old.keys() | new.keys()):
        a, b = old.get(check_id, {}), new.get(check_id, {})
        if a.get("status") == b.get("status") and a.get("score") == b.get("score"):
            unchanged += 1
            continue
        changed.append(
            CheckChange(
                id=check_id,
                name=b.get("name") or a.get("name") or check_id,
                status_before=a.get("status", "absent"),
                status_after=b.get("status", "absent"),
                points_before=a.get("score"),
                points_after=b.get("score"),
            )
        )
    return ReportDiff(before=before, after=after, changed=changed, unchanged=unchanged)
