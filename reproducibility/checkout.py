"""A snapshot's files for a run: exactly the commit it recorded, in a folder of the run's own.

Runs never execute in the snapshot's stored tree (code may write where it runs, and the stored tree
is what re-scoring reads) nor in the project's repository as it is now: the stored tree is copied,
or, when it is gone, a git source is fetched again at the recorded commit. A tree that can say which
commit it holds (a git checkout, or a content digest) is checked against the record.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from django.conf import settings

from reproducibility.models import Snapshot
from reproducibility.snapshots import Caps, SnapshotError, content_digest
from reproducibility.snapshots.git import clone, head_commit


def check_out(snapshot: Snapshot, dest: Path) -> Path:
    """Put the snapshot's files at its recorded commit into `dest`, which must not exist yet.

    Raises SnapshotError, saying why, when that commit cannot be had; nothing is left at `dest` then.
    """
    if snapshot.status != Snapshot.Status.DONE or not snapshot.commit:
        raise SnapshotError(f"The snapshot {snapshot.pk} is {snapshot.status}, not fetched at a commit.")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = dest.with_name(f"{dest.name}.{uuid.uuid4().hex}.partial")
    try:
        stored = Path(snapshot.path) if snapshot.path else None
        if stored is not None and stored.is_dir():
            shutil.copytree(stored, work, symlinks=True)  # links stay links, never followed
        elif snapshot.kind == Snapshot.Kind.GIT:
            clone(
                snapshot.source,
                work,
                ref=snapshot.commit,
                allowed_hosts=settings.CG_GIT_ALLOWED_HOSTS,
                caps=Caps.from_settings(),
            )
        else:
            raise SnapshotError(
                f"The files of snapshot {snapshot.pk} are gone and a {snapshot.get_kind_display()} cannot be "
                "fetched again at its commit."
            )
        held = _commit_held(work, snapshot.commit)
        if held is not None and held != snapshot.commit:
            raise SnapshotError(
                f"The snapshot's files hold {held[:19]}, not the recorded commit {snapshot.commit[:19]}; refused."
            )
        work.rename(dest)
    except OSError as error:
        raise SnapshotError(f"The snapshot's files could not be copied: {error.strerror or error}.") from error
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def _commit_held(tree: Path, recorded: str) -> str | None:
    """The commit a tree can prove it holds: a clean git checkout's HEAD, or the content digest when
    that is what was recorded; None when it cannot say (a local work tree copied without .git)."""
    if (tree / ".git").exists():
        return head_commit(tree) or "a modified or unreadable checkout"
    if recorded.startswith("sha256:"):
        return content_digest(tree)
    return None
