"""Snapshot and scoring services: the Celery task, the CLI and the portal call these."""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from reproducibility.models import Report, Snapshot
from reproducibility.scorecard import to_scorecard
from reproducibility.scoring import CHECKER_VERSION, add_omitted, score_tree
from reproducibility.snapshots import Acquired, Caps, SnapshotError
from reproducibility.snapshots.archives import extract_archive
from reproducibility.snapshots.git import COMMIT, clone
from reproducibility.snapshots.local import check_outside_portal_data, copy_local

logger = logging.getLogger(__name__)
# The scoring task's limits: the soft one raises inside the run (which then records the failure),
# the hard one kills the worker's process (the stalled-snapshot sweep records that one).
SCORING_TIME_LIMIT = 900
SCORING_SOFT_TIME_LIMIT = 840


def source_kind(source: str) -> str:
    if source.startswith(("http://", "https://", "git://", "ssh://", "ext::", "file://")) or "::" in source:
        return Snapshot.Kind.GIT
    if source.lower().endswith((".zip", ".tar.gz", ".tgz", ".tar")):
        return Snapshot.Kind.ARCHIVE
    return Snapshot.Kind.LOCAL


def portal_data_folders() -> list[Path]:
    """The folders of the portal's own state, which no local repository may lie in or contain."""
    folders = [
        settings.DATA_DIR,
        settings.CG_SNAPSHOTS_ROOT,
        settings.CG_ARTIFACTS_ROOT,
        settings.MEDIA_ROOT,
        getattr(settings, "EMAIL_FILE_PATH", None),
    ]
    return [Path(folder) for folder in folders if folder]


def check_local_source(source: str | Path) -> None:
    """Refuse a local repository that is, lies in or contains the portal's own data (SnapshotError says why)."""
    check_outside_portal_data(Path(source), portal_data_folders())


def request_snapshot(source: str, *, ref: str = "", requested_by: Any = None) -> Snapshot:
    """Record a snapshot to take. A git commit already scored is reused, never fetched twice."""
    kind = source_kind(source)
    if kind == Snapshot.Kind.GIT and COMMIT.match(ref):
        existing = Snapshot.objects.filter(kind=kind, source=source, commit=ref, status=Snapshot.Status.DONE).first()
        if existing:
            return existing
    if kind == Snapshot.Kind.LOCAL:
        if not settings.CG_ALLOW_LOCAL_REPOSITORIES:
            raise SnapshotError("Local folders are not accepted here; give an https git URL.")
        check_local_source(source)  # a project recorded before this rule is refused at submission
    return Snapshot.objects.create(kind=kind, source=source, ref=ref, requested_by=requested_by)


def enqueue_scoring(snapshot: Snapshot) -> None:
    """Score in a worker once the snapshot row is committed."""
    from reproducibility.tasks import score_snapshot_task

    transaction.on_commit(lambda: score_snapshot_task.delay(snapshot.pk))


def request_rescore(snapshot: Snapshot) -> bool:
    """Have a worker score a snapshot again with the current checker, at the commit it recorded.

    False, and nothing enqueued, when it is not scored yet or already has a report by this checker.
    """
    if snapshot.status != Snapshot.Status.DONE or snapshot.reports.filter(checker_version=CHECKER_VERSION).exists():
        return False
    enqueue_scoring(snapshot)
    return True


def _acquire(snapshot: Snapshot, dest: Path, *, ref: str | None = None) -> Acquired:
    caps = Caps.from_settings()
    if snapshot.kind == Snapshot.Kind.GIT:
        return clone(
            snapshot.source,
            dest,
            ref=snapshot.ref if ref is None else ref,
            allowed_hosts=settings.CG_GIT_ALLOWED_HOSTS,
            caps=caps,
        )
    if snapshot.kind == Snapshot.Kind.ARCHIVE:
        return extract_archive(Path(snapshot.source), dest, caps)
    if not settings.CG_ALLOW_LOCAL_REPOSITORIES:
        raise SnapshotError("Local folders are not accepted here.")
    return copy_local(Path(snapshot.source), dest, caps, portal_data=portal_data_folders())


def _set(snapshot: Snapshot, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(snapshot, name, value)
    snapshot.save(update_fields=[*fields, "updated"])


def score_snapshot(snapshot_id: int, progress: Any = None) -> Snapshot:
    """Fetch and score a snapshot. Idempotent: a failed snapshot, or a done one with a report by the
    current checker, is left as it is; a done one scored by an older checker is re-scored (`_rescore`).

    Safe to run twice at once (a retried task, the CLI beside a worker): each run fetches into its
    own folder and the first to finish, under the snapshot's row lock, keeps its result.
    """
    say = progress or (lambda stage: None)
    snapshot = Snapshot.objects.get(pk=snapshot_id)
    if snapshot.status == Snapshot.Status.DONE:
        return _rescore(snapshot, say)
    if snapshot.status == Snapshot.Status.FAILED:
        return snapshot
    dest = Path(settings.CG_SNAPSHOTS_ROOT) / str(snapshot.pk)
    work = dest.parent / f"{snapshot.pk}.{uuid.uuid4().hex}.partial"
    dest.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_work(dest)
    unfinished = Snapshot.objects.filter(pk=snapshot_id).exclude(
        status__in=[Snapshot.Status.DONE, Snapshot.Status.FAILED]
    )
    if not unfinished.update(status=Snapshot.Status.FETCHING, error="", updated=timezone.now()):
        return Snapshot.objects.get(pk=snapshot_id)  # finished meanwhile by another run
    say(f"fetching {snapshot.source}")
    started = time.monotonic()
    try:
        try:
            acquired = _acquire(snapshot, work)
        except SnapshotError as error:
            say(f"failed: {error}")
            return _finish(
                snapshot_id, status=Snapshot.Status.FAILED, error=str(error), fetch_seconds=time.monotonic() - started
            )
        fetch_seconds = time.monotonic() - started
        say(f"fetched {acquired.file_count} files ({acquired.size_bytes / 1024:.0f} KB) at {acquired.commit[:19]}")
        Snapshot.objects.filter(pk=snapshot_id, status=Snapshot.Status.FETCHING).update(
            status=Snapshot.Status.SCORING, commit=acquired.commit, updated=timezone.now()
        )
        report = _report_for(snapshot, acquired.commit, work, say, acquired.omitted)
        done = _finish(
            snapshot_id,
            status=Snapshot.Status.DONE,
            commit=acquired.commit,
            size_bytes=acquired.size_bytes,
            file_count=acquired.file_count,
            fetch_seconds=fetch_seconds,
            report=report,
            tree=work,
        )
    except Exception as error:
        # Whatever stopped this run (a bug, a full disk, the soft time limit), the snapshot ends failed
        # with its reason: left "fetching", the application would say "scoring…" forever.
        logger.exception("Snapshot %s stopped by an unexpected error", snapshot_id)
        say(f"failed: {error!r}")
        return _finish(
            snapshot_id,
            status=Snapshot.Status.FAILED,
            error=unexpected_failure(error),
            fetch_seconds=time.monotonic() - started,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)  # gone already when this run's tree became the snapshot's
    say(f"score {report['score']} ({report['level']})")
    return done


def unexpected_failure(error: BaseException) -> str:
    """What the applicant reads when a run stopped for a reason the fetch did not foresee (no server paths)."""
    if isinstance(error, SoftTimeLimitExceeded):
        return f"Fetching and scoring took longer than {SCORING_SOFT_TIME_LIMIT // 60} minutes and was stopped."
    detail = f": {error.strerror}" if isinstance(error, OSError) and error.strerror else ""
    return (
        f"Scoring stopped by an unexpected error ({type(error).__name__}{detail}). "
        "The operator finds the details in the worker's log; ask for a new score once it is mended."
    )


# A run still fetching or scoring after the task's hard time limit (plus a margin for the queue) was
# killed with its worker: nothing will ever finish it.
STALLED_AFTER_SECONDS = SCORING_TIME_LIMIT + 120
STALLED = (
    "Fetching and scoring stopped without finishing (the worker was stopped, or it ran past the "
    f"{SCORING_TIME_LIMIT // 60}-minute limit). Ask for a new score."
)


def fail_stalled_snapshots(*, now: datetime | None = None) -> int:
    """End as failed, with the reason, every snapshot left fetching or scoring by a run that died. Returns how many."""
    now = now or timezone.now()
    stalled = Snapshot.objects.filter(
        status__in=[Snapshot.Status.FETCHING, Snapshot.Status.SCORING],
        updated__lt=now - timedelta(seconds=STALLED_AFTER_SECONDS),
    )
    count = stalled.update(status=Snapshot.Status.FAILED, error=STALLED, updated=now)
    if count:
        logger.warning("%d stalled snapshot(s) marked failed", count)
    return count


def _rescore(snapshot: Snapshot, say: Any) -> Snapshot:
    """Score a done snapshot with the current checker at its recorded commit, never a newer one.

    The snapshot keeps its tree, so that is what is scored; only if the tree is gone is the source
    fetched again, at the recorded commit, and refused if it no longer gives that commit. The
    snapshot stays done throughout: its older report shows until the new one is recorded.
    """
    if snapshot.reports.filter(checker_version=CHECKER_VERSION).exists():
        return snapshot
    stored = Path(snapshot.path) if snapshot.path else None
    if stored is not None and stored.is_dir():
        say(f"re-scoring the stored tree at {snapshot.commit[:19]}")
        return _record_rescore(snapshot.pk, _report_for(snapshot, snapshot.commit, stored, say))
    work = Path(settings.CG_SNAPSHOTS_ROOT) / f"{snapshot.pk}.{uuid.uuid4().hex}.partial"
    work.parent.mkdir(parents=True, exist_ok=True)
    say(f"fetching {snapshot.source} at {snapshot.commit[:19]} again: the stored tree is gone")
    try:
        try:
            acquired = _acquire(snapshot, work, ref=snapshot.commit)
            if acquired.commit != snapshot.commit:
                raise SnapshotError(
                    f"The source no longer gives the scored commit {snapshot.commit[:19]} (now {acquired.commit[:19]})."
                )
        except SnapshotError as error:
            say(f"re-scoring failed: {error}")
            _set(snapshot, error=f"Re-scoring failed: {error}")
            return snapshot
        return _record_rescore(snapshot.pk, _report_for(snapshot, snapshot.commit, work, say), tree=work)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # gone already when it became the snapshot's tree


def _record_rescore(snapshot_id: int, report: dict[str, Any], *, tree: Path | None = None) -> Snapshot:
    """Add the current checker's report unless a concurrent re-score added it first."""
    with transaction.atomic():
        snapshot = Snapshot.objects.select_for_update().get(pk=snapshot_id)
        if not snapshot.reports.filter(checker_version=CHECKER_VERSION).exists():
            Report.objects.create(snapshot=snapshot, checker_version=CHECKER_VERSION, **report)
        fields: dict[str, Any] = {"error": ""}
        dest = Path(settings.CG_SNAPSHOTS_ROOT) / str(snapshot.pk)
        if tree is not None and not dest.exists():  # keep the fetched tree for the next re-score
            tree.rename(dest)
            fields["path"] = str(dest)
        _set(snapshot, **fields)
    return snapshot


# A run's own folder older than this belongs to a run killed mid-fetch (fetches are capped far below it).
ABANDONED_AFTER_SECONDS = 3600


def _remove_abandoned_work(dest: Path) -> None:
    cutoff = time.time() - ABANDONED_AFTER_SECONDS
    for folder in dest.parent.glob(f"{dest.name}.*.partial"):
        if folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def _report_for(snapshot: Snapshot, commit: str, tree: Path, say: Any, omitted: Any = ()) -> dict[str, Any]:
    """The report's fields: reused from the same commit and checker version, else scored from the tree."""
    previous = (
        Report.objects.filter(
            snapshot__kind=snapshot.kind,
            snapshot__source=snapshot.source,
            snapshot__commit=commit,
            checker_version=CHECKER_VERSION,
        )
        .exclude(snapshot=snapshot)
        .first()
    )
    if previous:  # the same commit and checker give the same report
        say("reusing the report of the same commit")
        return {"score": previous.score, "level": previous.level, "results": previous.results}
    say("scoring")
    scored = add_omitted(score_tree(tree), omitted)  # a FIFO or an unreadable file left out is a problem shown
    results = to_scorecard(scored, repo=snapshot.source, commit=commit, date=timezone.now())
    return {"score": scored.score, "level": scored.level, "results": results}


def _finish(
    snapshot_id: int, *, report: dict[str, Any] | None = None, tree: Path | None = None, **fields: Any
) -> Snapshot:
    """Record a run's outcome unless a concurrent run recorded one first (then that one stands)."""
    with transaction.atomic():
        snapshot = Snapshot.objects.select_for_update().get(pk=snapshot_id)
        if snapshot.status in (Snapshot.Status.DONE, Snapshot.Status.FAILED):
            return snapshot
        if tree is not None:
            dest = Path(settings.CG_SNAPSHOTS_ROOT) / str(snapshot.pk)
            shutil.rmtree(dest, ignore_errors=True)  # left by a run that crashed before this point
            tree.rename(dest)
            fields["path"] = str(dest)
        if report is not None:
            Report.objects.update_or_create(snapshot=snapshot, checker_version=CHECKER_VERSION, defaults=report)
        _set(snapshot, **fields)
    return snapshot
