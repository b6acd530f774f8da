"""Snapshot and scoring services: the Celery task, the CLI and the portal call these."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from reproducibility.models import Report, Snapshot
from reproducibility.scorecard import to_scorecard
from reproducibility.scoring import CHECKER_VERSION, score_tree
from reproducibility.snapshots import Acquired, Caps, SnapshotError
from reproducibility.snapshots.archives import extract_archive
from reproducibility.snapshots.git import COMMIT, clone
from reproducibility.snapshots.local import copy_local


def source_kind(source: str) -> str:
    if source.startswith(("http://", "https://", "git://", "ssh://", "ext::", "file://")) or "::" in source:
        return Snapshot.Kind.GIT
    if source.lower().endswith((".zip", ".tar.gz", ".tgz", ".tar")):
        return Snapshot.Kind.ARCHIVE
    return Snapshot.Kind.LOCAL


def request_snapshot(source: str, *, ref: str = "", requested_by: Any = None) -> Snapshot:
    """Record a snapshot to take. A git commit already scored is reused, never fetched twice."""
    kind = source_kind(source)
    if kind == Snapshot.Kind.GIT and COMMIT.match(ref):
        existing = Snapshot.objects.filter(kind=kind, source=source, commit=ref, status=Snapshot.Status.DONE).first()
        if existing:
            return existing
    if kind == Snapshot.Kind.LOCAL and not settings.CG_ALLOW_LOCAL_REPOSITORIES:
        raise SnapshotError("Local folders are not accepted here; give an https git URL.")
    return Snapshot.objects.create(kind=kind, source=source, ref=ref, requested_by=requested_by)


def enqueue_scoring(snapshot: Snapshot) -> None:
    """Score in a worker once the snapshot row is committed."""
    from reproducibility.tasks import score_snapshot_task

    transaction.on_commit(lambda: score_snapshot_task.delay(snapshot.pk))


def _acquire(snapshot: Snapshot, dest: Path) -> Acquired:
    caps = Caps.from_settings()
    if snapshot.kind == Snapshot.Kind.GIT:
        return clone(snapshot.source, dest, ref=snapshot.ref, allowed_hosts=settings.CG_GIT_ALLOWED_HOSTS, caps=caps)
    if snapshot.kind == Snapshot.Kind.ARCHIVE:
        return extract_archive(Path(snapshot.source), dest, caps)
    if not settings.CG_ALLOW_LOCAL_REPOSITORIES:
        raise SnapshotError("Local folders are not accepted here.")
    return copy_local(Path(snapshot.source), dest, caps)


def _set(snapshot: Snapshot, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(snapshot, name, value)
    snapshot.save(update_fields=[*fields, "updated"])


def score_snapshot(snapshot_id: int, progress: Any = None) -> Snapshot:
    """Fetch and score a snapshot. Idempotent: a done or failed snapshot is left as it is."""
    say = progress or (lambda stage: None)
    snapshot = Snapshot.objects.get(pk=snapshot_id)
    if snapshot.status in (Snapshot.Status.DONE, Snapshot.Status.FAILED):
        return snapshot
    dest = Path(settings.CG_SNAPSHOTS_ROOT) / str(snapshot.pk)
    if dest.exists():  # a retried task after a crash mid-fetch
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _set(snapshot, status=Snapshot.Status.FETCHING, error="")
    say(f"fetching {snapshot.source}")
    started = time.monotonic()
    try:
        acquired = _acquire(snapshot, dest)
    except SnapshotError as error:
        shutil.rmtree(dest, ignore_errors=True)
        _set(
            snapshot,
            status=Snapshot.Status.FAILED,
            error=str(error),
            fetch_seconds=time.monotonic() - started,
        )
        say(f"failed: {error}")
        return snapshot
    _set(
        snapshot,
        status=Snapshot.Status.SCORING,
        commit=acquired.commit,
        path=str(dest),
        size_bytes=acquired.size_bytes,
        file_count=acquired.file_count,
        fetch_seconds=time.monotonic() - started,
    )
    say(f"fetched {acquired.file_count} files ({acquired.size_bytes / 1024:.0f} KB) at {acquired.commit[:19]}")
    previous = (
        Report.objects.filter(
            snapshot__kind=snapshot.kind,
            snapshot__source=snapshot.source,
            snapshot__commit=acquired.commit,
            checker_version=CHECKER_VERSION,
        )
        .exclude(snapshot=snapshot)
        .first()
    )
    if previous:  # the same commit and checker give the same report: reuse it
        results, score, level = previous.results, previous.score, previous.level
        say("reusing the report of the same commit")
    else:
        say("scoring")
        scored = score_tree(dest)
        results = to_scorecard(scored, repo=snapshot.source, commit=acquired.commit, date=timezone.now())
        score, level = scored.score, scored.level
    Report.objects.update_or_create(
        snapshot=snapshot,
        checker_version=CHECKER_VERSION,
        defaults={"score": score, "level": level, "results": results},
    )
    _set(snapshot, status=Snapshot.Status.DONE)
    say(f"score {score} ({level})")
    return snapshot
