"""Local folders as sources (for the operator's own use): copied without following links.

Only folders, regular files and links are copied. A FIFO, socket or device (opening one could block,
reading one could never end), a file or folder that cannot be read, and a tracked path that runs
through a linked folder are left out and returned as Omitted, so the report can list them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from reproducibility.snapshots import (
    CHUNK,
    SAFE_OPEN,
    Acquired,
    Caps,
    Omitted,
    SnapshotError,
    content_digest,
    file_kind,
    folder_depth,
    measure_tree,
    shown_path,
    tree_entries,
)
from reproducibility.snapshots.git import hardened_git, head_commit

# What to copy: (relative POSIX path, mode, size) as lstat gave them, each folder before its contents.
Plan = list[tuple[str, int, int]]


def tracked_files(source: Path) -> list[str] | None:
    """Files git tracks in a work tree (None when it is not one)."""
    if not os.path.lexists(source / ".git"):
        return None
    try:
        listing = hardened_git("ls-files", "-z", cwd=source, timeout=60)
    except SnapshotError:
        return None
    return [name for name in listing.split("\0") if name and ".." not in Path(name).parts]


PORTAL_DATA_REFUSED = (
    "{path} is the portal's own data folder, lies inside it or contains it (CG_DATA_DIR, the snapshot or "
    "artifact folders); give the folder of the repository itself."
)


def check_outside_portal_data(source: Path, portal_data: Iterable[Path]) -> None:
    """Refuse a source inside one of the portal's data folders, or one that contains such a folder.

    Copying one would hand the portal's own state (other projects' snapshots, uploads, mail) to the
    report, and a source holding the snapshot folder nests one level deeper at every fetch, until
    "File name too long". Links are resolved on both sides, so a link to the data folder is no way round.
    """
    real = Path(os.path.realpath(source))
    for folder in portal_data:
        held = Path(os.path.realpath(folder))
        if real.is_relative_to(held) or held.is_relative_to(real):
            raise SnapshotError(PORTAL_DATA_REFUSED.format(path=shown_path(str(source))))


def copy_local(source: Path, dest: Path, caps: Caps, *, portal_data: Iterable[Path] = ()) -> Acquired:
    """Copy a local repository into `dest`; symlinks are copied as links, never followed.

    `portal_data` are the folders of the portal's own state: a source inside one, or holding one, is refused.
    """
    source = Path(source)
    if not source.is_absolute():
        raise SnapshotError("A local repository must be given as an absolute path.")
    check_outside_portal_data(source, portal_data)
    try:
        mode = os.lstat(source).st_mode
    except FileNotFoundError as error:
        raise SnapshotError(f"{shown_path(str(source))} is not a folder (it does not exist).") from error
    except OSError as error:
        raise SnapshotError(f"{shown_path(str(source))} cannot be read: {error.strerror}.") from error
    if not stat.S_ISDIR(mode):
        raise SnapshotError(f"{shown_path(str(source))} is not a folder.")
    tracked = tracked_files(source)
    # A git work tree: the snapshot is what git tracks, not build output or virtualenvs.
    plan, omitted = _plan_folder(source, caps) if tracked is None else _plan_tracked(source, tracked, caps)
    omitted += _copy(source, dest, plan, caps)
    size, count = measure_tree(dest, caps)
    # Once something is left out, the snapshot is no longer the commit: name it by its content.
    commit = (None if omitted else head_commit(source)) or content_digest(dest)
    return Acquired(commit=commit, size_bytes=size, file_count=count, omitted=tuple(omitted))


def _plan_folder(source: Path, caps: Caps) -> tuple[Plan, list[Omitted]]:
    """Everything under a plain folder but .git; refuses past the caps before anything is copied."""
    plan: Plan = []
    omitted: list[Omitted] = []
    unlisted: list[tuple[str, OSError]] = []
    for relative, item in tree_entries(source, skip=frozenset({".git"}), max_depth=caps.max_depth, unlisted=unlisted):
        if item.name == ".git":
            continue
        try:
            status = item.stat(follow_symlinks=False)
        except OSError as error:
            omitted.append(Omitted(shown_path(relative), f"unreadable: {error.strerror}"))
            continue
        _add(plan, omitted, relative, status)
    for folder, failure in unlisted:
        if not folder:
            raise SnapshotError(f"{shown_path(str(source))} cannot be read: {failure.strerror}.")
        omitted.append(Omitted(shown_path(folder), f"unreadable folder: {failure.strerror}"))
    _check_caps(plan, caps)
    return plan, omitted


def _plan_tracked(source: Path, tracked: list[str], caps: Caps) -> tuple[Plan, list[Omitted]]:
    """The tracked files of a work tree as they are on disk; deleted ones are simply absent."""
    if len(tracked) > caps.max_files:
        raise SnapshotError(f"The repository has more than {caps.max_files:,} files.")
    real_source = os.path.realpath(source)
    plain_folders: dict[str, bool] = {"": True}
    plan: Plan = []
    omitted: list[Omitted] = []
    for relative in tracked:
        if folder_depth(relative, is_folder=False) > caps.max_depth:
            raise SnapshotError(f"The repository nests folders more than {caps.max_depth} deep; refused.")
        parent = relative.rpartition("/")[0]
        if parent not in plain_folders:  # a tracked folder replaced by a link would lead out of the tree
            plain_folders[parent] = os.path.realpath(os.path.join(real_source, parent)) == os.path.join(
                real_source, parent
            )
        if not plain_folders[parent]:
            omitted.append(Omitted(shown_path(relative), "inside a linked folder: not followed"))
            continue
        try:
            status = os.lstat(source / relative)
        except FileNotFoundError:
            continue
        except OSError as error:
            omitted.append(Omitted(shown_path(relative), f"unreadable: {error.strerror}"))
            continue
        if not stat.S_ISDIR(status.st_mode):  # a folder where git tracks a file is a submodule: never fetched
            _add(plan, omitted, relative, status)
    _check_caps(plan, caps)
    return plan, omitted


def _add(plan: Plan, omitted: list[Omitted], relative: str, status: os.stat_result) -> None:
    mode = status.st_mode
    if stat.S_ISDIR(mode) or stat.S_ISREG(mode) or stat.S_ISLNK(mode):
        plan.append((relative, mode, 0 if stat.S_ISDIR(mode) else status.st_size))
    else:
        omitted.append(Omitted(shown_path(relative), f"not a regular file: {file_kind(mode)}"))


def _check_caps(plan: Plan, caps: Caps) -> None:
    if sum(not stat.S_ISDIR(mode) for _, mode, _ in plan) > caps.max_files:
        raise SnapshotError(f"The repository has more than {caps.max_files:,} files.")
    if sum(size for _, _, size in plan) > caps.max_bytes:
        raise SnapshotError(f"The repository is larger than {caps.max_bytes / 1024 / 1024:,.0f} MB.")


def _copy(source: Path, dest: Path, plan: Plan, caps: Caps) -> list[Omitted]:
    """Copy the plan into `dest`; what cannot be read is left out and returned. Failing to write
    the snapshot (a full disk) is the operator's problem, not the repository's: it is an error."""
    dest.mkdir(parents=True)
    made = {""}
    omitted: list[Omitted] = []
    room = caps.max_bytes
    for relative, mode, _ in plan:
        origin, target = os.path.join(source, relative), os.path.join(dest, relative)
        parent = relative.rpartition("/")[0]
        try:
            if parent not in made:
                os.makedirs(os.path.join(dest, parent), exist_ok=True)
                made.add(parent)
            if stat.S_ISDIR(mode):
                os.mkdir(target)
                made.add(relative)
            elif stat.S_ISLNK(mode):
                with _reading():
                    link = os.readlink(origin)
                os.symlink(link, target)
            else:
                room -= _copy_file(origin, target, room)
        except _LeftOut as left:
            omitted.append(Omitted(shown_path(relative), str(left)))
        except OSError as error:
            raise SnapshotError(f"The snapshot cannot be written: {error.strerror}.") from error
    return omitted


class _LeftOut(Exception):
    """The source entry cannot be read as what it was listed as; the message says why."""


@contextmanager
def _reading() -> Iterator[None]:
    """An error reading the source leaves the entry out (one writing the snapshot stays an error)."""
    try:
        yield
    except OSError as error:
        raise _LeftOut(f"unreadable: {error.strerror}") from error


def _copy_file(origin: str, target: str, room: int) -> int:
    """Copy one regular file, opened without following a link or blocking; returns its size."""
    with _reading():
        descriptor = os.open(origin, SAFE_OPEN)
    try:
        with _reading():
            mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):  # it became a FIFO or a link after it was listed
            raise _LeftOut(f"not a regular file: {file_kind(mode)}")
        written = 0
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        with open(os.open(target, flags, 0o644), "wb") as out:
            os.fchmod(out.fileno(), 0o644)  # readable by the web process whatever the umask
            while True:
                try:
                    with _reading():
                        chunk = os.read(descriptor, CHUNK)
                except _LeftOut:
                    os.unlink(target)  # no half file in the snapshot
                    raise
                if not chunk:
                    return written
                written += len(chunk)
                if written > room:
                    raise SnapshotError("The repository grew past the size cap while it was copied.")
                out.write(chunk)
    finally:
        os.close(descriptor)
