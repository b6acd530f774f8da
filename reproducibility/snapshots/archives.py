"""Uploaded .zip and .tar.gz archives: every member validated before anything is written."""

from __future__ import annotations

import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from reproducibility.snapshots import Acquired, Caps, SnapshotError, content_digest, measure_tree

CHUNK = 1024 * 1024


def _safe_name(name: str) -> PurePosixPath:
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
    with bundle:
        members = bundle.infolist()
        if len(members) > caps.max_files:
            raise SnapshotError(f"The archive has more than {caps.max_files:,} members.")
        declared = 0
        for info in members:
            _safe_name(info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise SnapshotError(f"The archive member {info.filename!r} is a symbolic link; links are refused.")
            declared += info.file_size
            if info.compress_size and info.file_size / info.compress_size > caps.max_ratio and info.file_size > CHUNK:
                raise SnapshotError(f"The archive member {info.filename!r} is compressed suspiciously well (zip bomb).")
        if declared > caps.max_bytes:
            raise SnapshotError(f"The archive expands to more than {caps.max_bytes / 1024 / 1024:,.0f} MB.")
        written = 0
        for info in members:
            target = dest / _safe_name(info.filename)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            # Count what is really written: sizes in the directory can lie.
            with bundle.open(info) as source, open(target, "wb") as out:
                while chunk := source.read(CHUNK):
                    written += len(chunk)
                    if written > caps.max_bytes:
                        raise SnapshotError("The archive expands past the size cap (zip bomb?).")
                    out.write(chunk)


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
                _safe_name(member.name)
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
        bundle.extractall(dest, members=members, filter="data")


def extract_archive(archive: Path, dest: Path, caps: Caps) -> Acquired:
    """Validate and extract `archive` into `dest`; a single top folder is unwrapped."""
    name = archive.name.lower()
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
