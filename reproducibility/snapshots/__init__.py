"""Acquiring a repository into an isolated folder, safely: git over https, local paths, archives.

Everything here treats its input as hostile: URLs are checked before git sees them, git itself is
locked down, archive members are validated before anything is written, symlinks are never followed
out of the snapshot, and size, file-count, depth and time caps hold throughout.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

# Never follow a link, never block on a FIFO or device someone left in a tree.
SAFE_OPEN = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
CHUNK = 1024 * 1024
KINDS = {
    stat.S_IFIFO: "FIFO",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFDIR: "folder",
    stat.S_IFLNK: "symbolic link",
}


class SnapshotError(Exception):
    """The repository cannot be acquired; the message says why, for the applicant."""


@dataclass(frozen=True)
class Caps:
    max_bytes: int = 500 * 1024 * 1024
    max_files: int = 50_000
    timeout_seconds: int = 300
    max_ratio: int = 200  # archive members compressed more than this are a zip bomb
    # Folders nested deeper than this are refused: no project needs them, and Python's own tree
    # removal (shutil.rmtree) recurses once per level, so a tree ~1,000 deep could not be deleted.
    max_depth: int = 100

    @classmethod
    def from_settings(cls) -> Caps:
        from django.conf import settings

        return cls(
            max_bytes=getattr(settings, "CG_SNAPSHOT_MAX_BYTES", cls.max_bytes),
            max_files=getattr(settings, "CG_SNAPSHOT_MAX_FILES", cls.max_files),
            timeout_seconds=getattr(settings, "CG_SNAPSHOT_TIMEOUT_SECONDS", cls.timeout_seconds),
            max_depth=getattr(settings, "CG_SNAPSHOT_MAX_DEPTH", cls.max_depth),
        )


@dataclass(frozen=True)
class Omitted:
    """An entry of the source left out of the snapshot (a FIFO, an unreadable file), and why."""

    path: str  # printable: bytes that are not UTF-8 shown as \\xNN
    reason: str


@dataclass(frozen=True)
class Acquired:
    commit: str  # a git commit, or "sha256:<digest>" of the tree's content when there is no git
    size_bytes: int
    file_count: int
    omitted: tuple[Omitted, ...] = ()


def shown_path(path: str) -> str:
    """A path as it can be printed and stored: bytes that are not UTF-8 (which Python keeps as
    lone surrogates) shown as \\xNN escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def is_utf8(name: str) -> bool:
    """Whether a name read from the file system was valid UTF-8."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words: "FIFO", "socket", "character device", ..."""
    return KINDS.get(stat.S_IFMT(mode), "unknown kind")


def folder_depth(path: str, *, is_folder: bool) -> int:
    """How many folders deep a relative POSIX path is ("a/b.py" is 1, the folder "a/b" is 2)."""
    depth = path.strip("/").count("/") + 1
    return depth if is_folder else depth - 1


def check_depth(paths: Iterable[str], caps: Caps) -> None:
    """Refuse a tree whose files lie more than caps.max_depth folders deep."""
    for path in paths:
        if folder_depth(path, is_folder=False) > caps.max_depth:
            raise SnapshotError(f"The repository nests folders more than {caps.max_depth} deep; refused.")


def tree_entries(
    root: Path,
    *,
    skip: frozenset[str] = frozenset(),
    max_depth: int | None = None,
    unlisted: list[tuple[str, OSError]] | None = None,
) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Every entry under root, folders included (each before its contents), with its POSIX path
    relative to root.

    Links are never followed; folders named in `skip` are not entered; a folder that cannot be
    listed is passed over (and appended to `unlisted`, "" for the root). Iterative, so no nesting
    exhausts Python's stack; with `max_depth`, a folder deeper than that raises SnapshotError.
    """
    pending = [""]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(os.path.join(root, folder)) as listing:
                items = sorted(listing, key=_name)
        except OSError as error:
            if unlisted is not None:
                unlisted.append((folder.rstrip("/"), error))
            continue
        for item in items:
            relative = folder + item.name
            yield relative, item
            if item.name not in skip and _is_folder(item):
                if max_depth is not None and folder_depth(relative, is_folder=True) > max_depth:
                    raise SnapshotError(f"The repository nests folders more than {max_depth} deep; refused.")
                pending.append(relative + "/")


def _name(item: os.DirEntry[str]) -> str:
    return item.name


def _is_folder(item: os.DirEntry[str]) -> bool:
    try:
        return item.is_dir(follow_symlinks=False)
    except OSError:
        return False


def measure_tree(root: Path, caps: Caps) -> tuple[int, int]:
    """Total bytes and files under root (links counted, never followed); raises past the caps."""
    size = count = 0
    for _, item in tree_entries(root, skip=frozenset({".git"}), max_depth=caps.max_depth):
        if _is_folder(item):
            continue
        count += 1
        with contextlib.suppress(OSError):  # gone meanwhile, or in a folder listed but not entered
            size += item.stat(follow_symlinks=False).st_size
        if count > caps.max_files:
            raise SnapshotError(f"The repository has more than {caps.max_files:,} files.")
        if size > caps.max_bytes:
            raise SnapshotError(f"The repository is larger than {caps.max_bytes / 1024 / 1024:,.0f} MB.")
    return size, count


def content_digest(root: Path) -> str:
    """A digest of paths and contents, for snapshots that have no git commit.

    Names are hashed as the bytes they are on disk, a link as its target, anything but a regular
    file as its kind. The order and the entries are os.walk's (a link to a folder is left out, as
    os.walk lists it with the folders), so the digest of a tree recorded earlier stays the same.
    """
    digest = hashlib.sha256()
    entries = sorted(
        (os.fsencode(relative.rpartition("/")[0]), os.fsencode(item.name), item.path)
        for relative, item in tree_entries(root)
        if not _is_folder(item) and not (item.is_symlink() and os.path.isdir(item.path))
    )
    for folder, name, path in entries:
        digest.update((folder + b"/" + name if folder else name) + b"\0")
        for chunk in _content(path):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def _content(path: str) -> Iterator[bytes]:
    """A file's bytes, a link's target or a special file's kind: never following, never blocking."""
    try:
        descriptor = os.open(path, SAFE_OPEN)
    except OSError:  # a link (O_NOFOLLOW), or a socket, which cannot be opened at all
        mode = os.lstat(path).st_mode
        if stat.S_ISREG(mode):
            raise
        yield os.fsencode(os.readlink(path)) if stat.S_ISLNK(mode) else file_kind(mode).encode()
        return
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            yield file_kind(mode).encode()
            return
        while chunk := os.read(descriptor, CHUNK):
            yield chunk
    finally:
        os.close(descriptor)
