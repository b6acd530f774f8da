"""Lock files, read by their own formats' parsers: what they lock, at which versions, with hashes.

A lock file earns credit only for what it holds: every package with an exact version (or a
commit), and a hash for each one downloaded. A file that does not parse, or parses into something
that is not a lock file, is a finding with its reason, never a crash and never a pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from reproducibility.manifests import requirement_lines
from reproducibility.repo_view import RepoView

LOCK_FILES = ("poetry.lock", "uv.lock", "Pipfile.lock", "conda-lock.yml", "pdm.lock", "requirements.lock")
COMMIT = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class LockedPackage:
    name: str
    pinned: bool  # an exact version, or a commit
    hashed: bool  # at least one hash of what is downloaded
    local: bool = False  # the project itself or a folder of the repository: nothing to download or hash


@dataclass(frozen=True)
class LockFile:
    path: str
    packages: tuple[LockedPackage, ...] = ()
    problem: str = ""  # why it is not a usable lock file; empty when it is
    line: int = 1  # where the problem is, when the parser says

    @property
    def unpinned(self) -> list[str]:
        return [p.name for p in self.packages if not p.pinned and not p.local]

    @property
    def unhashed(self) -> list[str]:
        return [p.name for p in self.packages if not p.hashed and not p.local]


def read_lock_files(view: RepoView) -> list[LockFile]:
    """Every lock file of the repository, in file order, each read and parsed once."""
    return view.memo("lock-files", lambda: [read_lock_file(view, entry.path) for entry in view.named(*LOCK_FILES)])


def read_lock_file(view: RepoView, path: str) -> LockFile:
    """Parse one lock file, chosen by its name; each file is read and parsed once (by the view)."""
    name = path.rsplit("/", 1)[-1].lower()
    reader, kind = READERS[name]
    data = {"toml": view.toml, "json": view.json, "yaml": view.yaml, "text": view.text}[kind](path)
    if data is None:
        problem = view.problems.get(path)
        if problem is not None:
            return LockFile(path, problem=problem.reason, line=problem.line or 1)
        return LockFile(path, problem="empty" if kind in ("yaml", "text") else f"not {kind.upper()}")
    try:
        packages = tuple(reader(data))
    except LockFormatError as error:
        return LockFile(path, problem=str(error))
    if not packages:
        return LockFile(path, problem="locks no package")
    return LockFile(path, packages)


class LockFormatError(ValueError):
    """The file parses, but not into this kind of lock file."""


def _table(data: Any, key: str, what: str) -> Any:
    if not isinstance(data, dict):
        raise LockFormatError(f"not a {what}: the top level is not a table")
    return data.get(key)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _entries(value: Any, what: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        raise LockFormatError(f"{what} is not a list of tables")
    return value


def _name(entry: dict[str, Any], what: str) -> str:
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise LockFormatError(f"a {what} without a name")
    return name


def _has_hash(files: Any) -> bool:
    """Any {file/url, hash} entry with a non-empty hash, in a list (or one table)."""
    entries = files if isinstance(files, list) else [files]
    return any(isinstance(f, dict) and isinstance(f.get("hash"), str) and ":" in f["hash"] for f in entries)


def _exact(version: Any) -> bool:
    return isinstance(version, str) and bool(re.fullmatch(r"v?\d[\w.+!-]*", version.strip()))


def poetry(data: Any) -> Iterable[LockedPackage]:
    """poetry.lock: [[package]] with name, version and `files` hashes (lock 2.0), or the hashes in
    [metadata.files] (lock 1.x); sources of type directory are local, git ones pinned by commit."""
    old_hashes = _mapping(_mapping(_table(data, "metadata", "poetry.lock")).get("files"))
    for entry in _entries(_table(data, "package", "poetry.lock"), "[[package]]"):
        name = _name(entry, "[[package]]")
        source = _mapping(entry.get("source"))
        kind = source.get("type")
        if kind == "directory":
            yield LockedPackage(name, True, True, local=True)
        elif kind == "git":
            yield LockedPackage(name, bool(COMMIT.fullmatch(str(source.get("resolved_reference", "")))), True)
        else:
            hashed = _has_hash(entry.get("files")) or _has_hash(old_hashes.get(name))
            yield LockedPackage(name, _exact(entry.get("version")), hashed)


def uv(data: Any) -> Iterable[LockedPackage]:
    """uv.lock: [[package]] with name, version, source, and hashes on its sdist and wheels; the
    project itself and folders (editable, virtual, directory, path) are local; git pinned by commit."""
    for entry in _entries(_table(data, "package", "uv.lock"), "[[package]]"):
        name = _name(entry, "[[package]]")
        source = _mapping(entry.get("source"))
        if source.keys() & {"editable", "virtual", "directory", "path"}:
            yield LockedPackage(name, True, True, local=True)
        elif "git" in source:
            commit = str(source["git"]).rpartition("#")[2]
            yield LockedPackage(name, bool(COMMIT.fullmatch(commit)), True)
        else:
            hashed = _has_hash(entry.get("sdist")) or _has_hash(entry.get("wheels"))
            yield LockedPackage(name, _exact(entry.get("version")), hashed)


def pdm(data: Any) -> Iterable[LockedPackage]:
    """pdm.lock: [[package]] with name, version and `files` hashes (or [metadata.files] keyed
    "name version" in older locks); path or editable packages are local, git pinned by revision."""
    old_hashes = _mapping(_mapping(_table(data, "metadata", "pdm.lock")).get("files"))
    for entry in _entries(_table(data, "package", "pdm.lock"), "[[package]]"):
        name = _name(entry, "[[package]]")
        if entry.get("path") or entry.get("editable"):
            yield LockedPackage(name, True, True, local=True)
        elif entry.get("git"):
            yield LockedPackage(name, bool(COMMIT.fullmatch(str(entry.get("revision", "")))), True)
        else:
            key = f"{name} {entry.get('version')}"
            old = old_hashes.get(key)
            yield LockedPackage(name, _exact(entry.get("version")), _has_hash(entry.get("files")) or _has_hash(old))


def pipfile_lock(data: Any) -> Iterable[LockedPackage]:
    """Pipfile.lock (JSON): "default" and "develop", each name -> {"version": "==1.2", "hashes": [...]};
    path or editable entries are local, git ones pinned by a commit `ref`."""
    if not isinstance(data, dict) or not any(key in data for key in ("default", "develop", "_meta")):
        raise LockFormatError("not a Pipfile.lock: no default, develop or _meta")
    for section in ("default", "develop"):
        packages = data.get(section) or {}
        if not isinstance(packages, dict):
            raise LockFormatError(f'"{section}" is not an object')
        for name, entry in packages.items():
            if not isinstance(entry, dict):
                raise LockFormatError(f'"{section}"/"{name}" is not an object')
            if entry.get("path") or entry.get("editable"):
                yield LockedPackage(name, True, True, local=True)
            elif entry.get("git"):
                yield LockedPackage(name, bool(COMMIT.fullmatch(str(entry.get("ref", "")))), True)
            else:
                version = entry.get("version")
                pinned = isinstance(version, str) and version.startswith("==") and _exact(version[2:].lstrip("="))
                hashes = entry.get("hashes")
                hashed = isinstance(hashes, list) and any(isinstance(h, str) and ":" in h for h in hashes)
                yield LockedPackage(name, pinned, hashed)


def conda_lock(data: Any) -> Iterable[LockedPackage]:
    """conda-lock.yml: `package`, a list of {name, version, manager, url, hash: {md5, sha256}}."""
    for entry in _entries(_table(data, "package", "conda-lock.yml"), "package"):
        name = _name(entry, "package")
        digest = entry.get("hash")
        hashed = isinstance(digest, dict) and any(isinstance(v, str) and v for v in digest.values())
        yield LockedPackage(name, _exact(str(entry.get("version", ""))), hashed)


def requirements_lock(text: Any) -> Iterable[LockedPackage]:
    """requirements.lock (rye, pip-compile): requirement lines, `==` pins and `--hash`es."""
    for declared in requirement_lines(text, ""):
        yield LockedPackage(declared.name, declared.pinned, declared.hashed)


READERS: dict[str, tuple[Callable[[Any], Iterable[LockedPackage]], str]] = {
    "poetry.lock": (poetry, "toml"),
    "uv.lock": (uv, "toml"),
    "pdm.lock": (pdm, "toml"),
    "pipfile.lock": (pipfile_lock, "json"),
    "conda-lock.yml": (conda_lock, "yaml"),
    "requirements.lock": (requirements_lock, "text"),
}
