"""Uploaded .zip and .tar.gz archives: every member validated before anything is written."""

from __future__ import annotations

import os
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from reproducibility.snapshots import (
    CHUNK,
    Acquired,
    Caps,
    SnapshotError,
    content_digest,
    file_kind,
    folder_depth,
    is_utf8,
    measure_tree,
    shown_path,
)


def _safe_name(name: str, caps: Caps, *, is_folder: bool = False) -> PurePosixPath:
    if not is_utf8(name):  # tarfile keeps such bytes as surrogate escapes
        raise SnapshotError(f"The archive member '{shown_path(name)}' has a name that is not valid UTF-8; refused.")
    if folder_depth(name.replace("\\", "/"), is_folder=is_folder) > caps.max_depth:
        raise SnapshotError(f"The archive member {name!r} nests folders more than {caps.max_depth} deep; refused.")
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise SnapshotError(f"The archive member {name!r} has an absolute path.")
    if ".." in path.parts:
        raise SnapshotError(f"The archive member {name!r} points outside the archive (..).")
    return path


def _extract_zip(archive: Path, dest: Path, caps: Caps) -> None:
    try:
        bundle = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as error:
        raise SnapshotError(f"Not a valid zip archive: {error}.") from error
    except UnicodeDecodeError as error:  # a member flagged UTF-8 whose name is not
        name = error.object.decode("utf-8", "backslashreplace")
        raise SnapshotError(f"The archive member '{name}' has a name that is not valid UTF-8; refused.") from error
    with bundle:
        members = bundle.infolist()
        if len(members) > caps.max_files:
            raise SnapshotError(f"The archive has more than {caps.max_files:,} members.")
        declared = 0
        for info in members:
            _safe_name(info.filename, caps, is_folder=info.is_dir())
            if stat.S_ISLNK(info.external_attr >> 16):
                raise SnapshotError(f"The archive member {info.filename!r} is a symbolic link; links are refused.")
            declared += info.file_size
            if info.compress_size and info.file_size / info.compress_size > caps.max_ratio and info.file_size > CHUNK:
                raise SnapshotError(f"The archive member {info.filename!r} is compressed suspiciously well (zip bomb).")
        if declared > caps.max_bytes:
            raise SnapshotError(f"The archive expands to more than {caps.max_bytes / 1024 / 1024:,.0f} MB.")
        written = 0
        for info in members:
            target = dest / _safe_name(info.filename, caps)
            try:
                written += _write_member(bundle, info, target, caps.max_bytes - written)
            except OSError as error:  # e.g. a file and a folder of the same name
                raise SnapshotError(
                    f"The archive member {info.filename!r} cannot be written: {error.strerror}."
                ) from error


def _write_member(bundle: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, room: int) -> int:
    if info.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    # Count what is really written: sizes in the directory can lie.
    with bundle.open(info) as source, open(target, "wb") as out:
        while chunk := source.read(CHUNK):
            written += len(chunk)
            if written > room:
                raise SnapshotError("The archive expands past the size cap (zip bomb?).")
            out.write(chunk)
    return written


def _extract_tar(archive: Path, dest: Path, caps: Caps) -> None:
    try:
        bundle = tarfile.open(archive, mode="r:*")  # noqa: SIM115 - closed by the `with` below
    except (tarfile.TarError, OSError) as error:
        raise SnapshotError(f"Not a valid tar archive: {error}.") from error
    with bundle:
        members = []
        total = 0
        try:
            for member in bundle:
                _safe_name(member.name, caps, is_folder=member.isdir())
                # Python's "data" filter refuses absolute names, links out of the tree and device files.
                try:
                    member = tarfile.data_filter(member, str(dest))
                except tarfile.FilterError as error:
                    raise SnapshotError(f"The archive member {error.tarinfo.name!r} is refused: {error}.") from error
                members.append(member)
                total += member.size
                if len(members) > caps.max_files:
                    raise SnapshotError(f"The archive has more than {caps.max_files:,} members.")
                if total > caps.max_bytes:
                    raise SnapshotError(f"The archive expands to more than {caps.max_bytes / 1024 / 1024:,.0f} MB.")
        except (tarfile.TarError, EOFError, OSError) as error:
            raise SnapshotError(f"The archive is damaged: {error}.") from error
        try:
            bundle.extractall(dest, members=members, filter="data")
        except OSError as error:  # e.g. a file and a folder of the same name
            where = os.path.relpath(error.filename, dest) if error.filename else "a member"
            raise SnapshotError(f"The archive cannot be extracted at {where!r}: {error.strerror}.") from error
        except tarfile.TarError as error:
            raise SnapshotError(f"The archive cannot be extracted: {error}.") from error


def extract_archive(archive: Path, dest: Path, caps: Caps) -> Acquired:
    """Validate and extract `archive` into `dest`; a single top folder is unwrapped."""
    name = archive.name.lower()
    try:
        mode = os.stat(archive).st_mode
    except OSError as error:
        raise SnapshotError(f"The archive cannot be read: {error.strerror}.") from error
    if not stat.S_ISREG(mode):  # opening a FIFO would wait for a writer
        raise SnapshotError(f"The archive is not a regular file but a {file_kind(mode)}.")
    dest.mkdir(parents=True)
    if name.endswith(".zip"):
        _extract_zip(archive, dest, caps)
    elif name.endswith((".tar.gz", ".tgz", ".tar")):
        _extract_tar(archive, dest, caps)
    else:
        raise SnapshotError("Archives must be .zip or .tar.gz.")
    entries = list(dest.iterdir())
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        inner = entries[0].rename(dest / ".unwrapping")  # its children may share its name
        for child in list(inner.iterdir()):
            child.rename(dest / child.name)
        inner.rmdir()
    size, count = measure_tree(dest, caps)
    return Acquired(commit=content_digest(dest), size_bytes=size, file_count=count)
