"""Acquiring a repository into an isolated folder, safely: git over https, local paths, archives.

Everything here treats its input as hostile: URLs are checked before git sees them, git itself is
locked down, archive members are validated before anything is written, symlinks are never followed
out of the snapshot, and size, file-count and time caps hold throughout.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path


class SnapshotError(Exception):
    """The repository cannot be acquired; the message says why, for the applicant."""


@dataclass(frozen=True)
class Caps:
    max_bytes: int = 500 * 1024 * 1024
    max_files: int = 50_000
    timeout_seconds: int = 300
    max_ratio: int = 200  # archive members compressed more than this are a zip bomb

    @classmethod
    def from_settings(cls) -> Caps:
        from django.conf import settings

        return cls(
            max_bytes=getattr(settings, "CG_SNAPSHOT_MAX_BYTES", cls.max_bytes),
            max_files=getattr(settings, "CG_SNAPSHOT_MAX_FILES", cls.max_files),
            timeout_seconds=getattr(settings, "CG_SNAPSHOT_TIMEOUT_SECONDS", cls.timeout_seconds),
        )


@dataclass(frozen=True)
class Acquired:
    commit: str  # a git commit, or "sha256:<digest>" of the tree's content when there is no git
    size_bytes: int
    file_count: int


def measure_tree(root: Path, caps: Caps) -> tuple[int, int]:
    """Total bytes and files under root (links counted, never followed); raises past the caps."""
    size = count = 0
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            count += 1
            size += (Path(directory) / name).lstat().st_size
            if count > caps.max_files:
                raise SnapshotError(f"The repository has more than {caps.max_files:,} files.")
            if size > caps.max_bytes:
                raise SnapshotError(f"The repository is larger than {caps.max_bytes / 1024 / 1024:,.0f} MB.")
    return size, count


def content_digest(root: Path) -> str:
    """A digest of paths and contents, for snapshots that have no git commit."""
    digest = hashlib.sha256()
    for directory, dirnames, filenames in sorted(os.walk(root, followlinks=False)):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(directory) / name
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(os.readlink(path).encode() if path.is_symlink() else path.read_bytes())
    return "sha256:" + digest.hexdigest()
