"""The cache of installed environments (scheduler.environments): which are complete, when each was
last used, and least-recently-used eviction past a count or a size (CG_ENVIRONMENTS_MAX_COUNT,
CG_ENVIRONMENTS_MAX_MB).

An environment is a folder named by its key under the environments root, complete once it holds
COMPLETE; its LAST_USED file's modification time is when a run last got it. Eviction never removes
an environment a live run uses (the caller names those), one used in the last RECENT_SECONDS (a
run that has its environment but has not recorded it yet), or one whose key lock another process
holds (being installed, or being checked by a run about to use it).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

COMPLETE = ".complete"
LAST_USED = ".last-used"
RECENT_SECONDS = 300


@dataclass(frozen=True)
class CachedEnvironment:
    key: str
    folder: Path
    last_used: float  # seconds since the epoch
    size_bytes: int


def lock_path(root: Path, key: str) -> Path:
    return root / f"{key}.lock"


def mark_used(folder: Path) -> None:
    """Record that a run got this environment now (call it under the key's lock)."""
    (folder / LAST_USED).touch()
    os.utime(folder / LAST_USED)


def cached_environments(root: Path) -> list[CachedEnvironment]:
    """Every complete environment under `root`, least recently used first."""
    found = []
    for folder in root.iterdir() if root.is_dir() else ():
        marker = folder / COMPLETE
        if folder.is_symlink() or not marker.is_file():
            continue
        used = folder / LAST_USED
        last_used = (used if used.exists() else marker).stat().st_mtime
        found.append(CachedEnvironment(folder.name, folder, last_used, _size(folder)))
    return sorted(found, key=lambda environment: (environment.last_used, environment.key))


def evict_least_recently_used(
    root: Path, *, max_count: int, max_bytes: int, in_use: Callable[[], set[str]], now: float | None = None
) -> list[str]:
    """Remove the least recently used environments until at most `max_count` of at most `max_bytes`
    in all are left, sparing those `in_use()` names (asked only when over a limit), recently used or
    locked; the keys removed, in order."""
    now = time.time() if now is None else now
    environments = cached_environments(root)
    count, total = len(environments), sum(environment.size_bytes for environment in environments)
    if count <= max_count and total <= max_bytes:
        return []
    spared = in_use()
    evicted = []
    for environment in environments:
        if count <= max_count and total <= max_bytes:
            break
        if environment.key in spared or now - environment.last_used < RECENT_SECONDS:
            continue
        with _unless_locked(lock_path(root, environment.key)) as acquired:
            if not acquired:
                continue
            shutil.rmtree(environment.folder, ignore_errors=True)
        count, total = count - 1, total - environment.size_bytes
        evicted.append(environment.key)
    return evicted


def _size(folder: Path) -> int:
    total = 0
    for directory, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(directory, name)).st_size
    return total


@contextlib.contextmanager
def _unless_locked(path: Path) -> Iterator[bool]:
    """Hold the key's lock if no one else does (True), without waiting for it (False)."""
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
