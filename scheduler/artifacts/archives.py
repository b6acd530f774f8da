"""Streamed tar.gz archives of an artifact folder, for downloads.

Built chunk by chunk (tar headers from `tarfile`, gzip from `zlib`), so a multi-gigabyte model
needs neither a temporary file nor memory beyond one chunk. Symlinks and special files are left
out: an applicant's folder must not lead the download to other files on the server.
"""

from __future__ import annotations

import os
import stat
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path

CHUNK_BYTES = 256 * 1024
_BLOCK = tarfile.BLOCKSIZE
_RECORD = tarfile.RECORDSIZE


class ArchiveError(Exception):
    """The folder to archive does not exist or is not a folder."""


def archive_members(folder: Path) -> Iterator[tuple[Path, str, os.stat_result]]:
    """Regular files and folders under `folder` with their archive names; symlinks skipped."""
    for current, dirs, files in os.walk(folder, followlinks=False):
        dirs.sort()
        for name in sorted(dirs) + sorted(files):
            path = Path(current, name)
            info = path.lstat()
            if stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode):
                yield path, path.relative_to(folder).as_posix(), info


def stream_tar_gz(folder: Path | str, root_name: str) -> Iterator[bytes]:
    """Yield a gzip-compressed tar of `folder`, its members under `root_name/`."""
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir():
        raise ArchiveError(f"Nothing to download: {folder.name}/ does not exist.")
    chunks = _chunks(folder, root_name.strip("/") or "artifacts")
    return (chunk for chunk in chunks if chunk)  # the compressor often has nothing to give yet


def _chunks(folder: Path, root_name: str) -> Iterator[bytes]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # 16+: gzip framing
    written = 0

    def emit(data: bytes) -> bytes:
        nonlocal written
        written += len(data)
        return compressor.compress(data)

    yield emit(_header(root_name, folder.stat(), directory=True))
    for path, name, info in archive_members(folder):
        is_dir = stat.S_ISDIR(info.st_mode)
        yield emit(_header(f"{root_name}/{name}", info, directory=is_dir))
        if is_dir:
            continue
        remaining = info.st_size
        try:
            with path.open("rb") as handle:
                while remaining > 0:
                    data = handle.read(min(CHUNK_BYTES, remaining))
                    if not data:
                        break
                    remaining -= len(data)
                    yield emit(data)
        except OSError:
            pass  # vanished or unreadable mid-download: the header promised bytes, pad below
        # A file that shrank while streaming (a running job's log) is padded to its header size.
        if remaining:
            yield emit(b"\0" * remaining)
        if info.st_size % _BLOCK:
            yield emit(b"\0" * (_BLOCK - info.st_size % _BLOCK))
    end = b"\0" * (2 * _BLOCK)
    padding = (-(written + len(end))) % _RECORD
    yield emit(end + b"\0" * padding)
    yield compressor.flush()


def _header(name: str, info: os.stat_result, directory: bool) -> bytes:
    member = tarfile.TarInfo(name)
    member.mtime = int(info.st_mtime)
    member.mode = 0o755 if directory else 0o644
    member.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    member.size = 0 if directory else info.st_size
    return member.tobuf(format=tarfile.PAX_FORMAT)
