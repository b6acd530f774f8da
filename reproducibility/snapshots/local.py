"""Local folders as sources (for the operator's own use): copied without following links."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from reproducibility.snapshots import Acquired, Caps, SnapshotError, content_digest, measure_tree
from reproducibility.snapshots.git import hardened_git, head_commit


def tracked_files(source: Path) -> list[str] | None:
    """Files git tracks in a work tree (None when it is not one)."""
    if not (source / ".git").exists():
        return None
    try:
        listing = hardened_git("ls-files", "-z", cwd=source, timeout=60)
    except SnapshotError:
        return None
    return [name for name in listing.split("\0") if name and ".." not in Path(name).parts]


def copy_local(source: Path, dest: Path, caps: Caps) -> Acquired:
    """Copy a local repository into `dest`; symlinks are copied as links, never followed."""
    source = Path(source)
    if not source.is_absolute():
        raise SnapshotError("A local repository must be given as an absolute path.")
    if source.is_symlink() or not source.is_dir():
        raise SnapshotError(f"{source} is not a folder.")
    tracked = tracked_files(source)
    if tracked is None:
        measure_tree(source, caps)  # refuse before copying anything
        shutil.copytree(source, dest, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    else:  # a git work tree: the snapshot is what git tracks, not build output or virtualenvs
        if len(tracked) > caps.max_files:
            raise SnapshotError(f"The repository has more than {caps.max_files:,} files.")
        dest.mkdir(parents=True)
        for relative in tracked:
            target, origin = dest / relative, source / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if origin.is_symlink():
                target.symlink_to(os.readlink(origin))
            elif origin.is_file():
                shutil.copyfile(origin, target)
    for directory, _, filenames in os.walk(dest):
        for name in filenames:
            path = Path(directory) / name
            if not path.is_symlink():
                path.chmod(0o644)
    size, count = measure_tree(dest, caps)
    commit = head_commit(source) or content_digest(dest)
    return Acquired(commit=commit, size_bytes=size, file_count=count)
