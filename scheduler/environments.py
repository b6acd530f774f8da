"""The Python environment a run gets: the repository's declared dependencies, installed by uv into an
isolated environment per distinct set of resolved requirements, cached by the hash of that set.

The environment sits on top of the worker's own packages (a .pth file after its own site-packages),
so a requirement the worker already satisfies at the same version (TensorFlow, above all) is reused
instead of downloaded again; everything else is installed into the environment, which shadows the
worker's. A repository that declares nothing, or only what the worker has, runs on the worker's
Python directly. An install that fails is evidence about the repository (InstallFailed says what
the installer said), never an error of the portal.

The manifest read: requirements.lock, requirements.txt, requirements.in, then pyproject.toml's
static [project] dependencies (read as data: no build backend runs). A file whose every line is
an exact pin is installed as it is (its hashes checked); anything else is resolved first, preferring
the versions the worker has.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from scheduler import environment_cache
from scheduler.contract import JobSpec

MANIFESTS = ("requirements.lock", "requirements.txt", "requirements.in", "pyproject.toml")
COMPLETE = environment_cache.COMPLETE
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# The repository itself is on PYTHONPATH already: "-e ." and "." name nothing more to install.
THE_REPOSITORY = {"-e .", "-e ./", ".", "./"}


class InstallFailed(ValueError):
    """The repository's dependencies could not be resolved or installed (what the installer said)."""

    def __init__(self, summary: str, log: str = "", manifest: str = "") -> None:
        super().__init__(f"the repository's dependencies could not be installed: {summary}")
        self.summary = summary
        self.log = log
        self.manifest = manifest


@dataclass(frozen=True)
class Environment:
    """Where a run's Python is, and what went into it (the "installs" evidence)."""

    key: str
    python: str
    manifest: str = ""
    requirements: int = 0  # resolved requirements, in all
    from_worker: int = 0  # of which the worker's own packages satisfy
    installed: list[str] = field(default_factory=list)  # pins installed into the environment
    cached: bool = False
    seconds: float = 0.0

    def as_evidence(self) -> dict[str, object]:
        return {"status": "installed", **asdict(self)}


EVIDENCE_FILE = "environment.json"


def for_run(spec: JobSpec) -> JobSpec:
    """The spec with its environment's Python (local runs); the evidence is kept beside its artifacts.

    Raises InstallFailed (a ValueError: the runner fails the job with it, having started nothing).
    """
    if spec.pool.backend != "local" or not spec.source_path or not Path(spec.source_path).is_dir():
        return spec
    try:
        environment = prepare_environment(Path(spec.source_path))
    except InstallFailed as error:
        record(spec, {"status": "failed", "summary": error.summary, "log": error.log, "manifest": error.manifest})
        raise
    record(spec, environment.as_evidence())
    return dataclasses.replace(spec, python=environment.python)


def record(spec: JobSpec, evidence: dict[str, object]) -> None:
    spec.artifacts.root.mkdir(parents=True, exist_ok=True)
    (spec.artifacts.root / EVIDENCE_FILE).write_text(json.dumps(evidence))


def evidence(artifacts_root: Path) -> dict[str, Any] | None:
    """What a run's environment step recorded, or None (a run from before environments, or Kubernetes)."""
    try:
        return json.loads((Path(artifacts_root) / EVIDENCE_FILE).read_text())
    except (OSError, ValueError):
        return None


def environments_root() -> Path:
    return Path(getattr(settings, "CG_ENVIRONMENTS_ROOT", "") or Path(settings.DATA_DIR) / "environments")


def declared_requirements(source: Path) -> tuple[str, str] | None:
    """(manifest file name, requirement lines) the repository declares at its root, or None."""
    for name in MANIFESTS:
        path = source / name
        if not path.is_file() or path.is_symlink():
            continue
        if name == "pyproject.toml":
            try:
                project = tomllib.loads(path.read_text(errors="replace")).get("project", {})
            except tomllib.TOMLDecodeError:
                return None
            dependencies = project.get("dependencies") if isinstance(project, dict) else None
            if not isinstance(dependencies, list) or not dependencies:
                return None
            return name, "\n".join(str(item) for item in dependencies) + "\n"
        return name, path.read_text(errors="replace")
    return None


def prepare_environment(source: Path) -> Environment:
    """The environment for a run of the repository at `source`: cached, or installed now."""
    started = time.monotonic()
    declared = declared_requirements(Path(source))
    if declared is None:
        return Environment(key="worker", python=sys.executable, cached=True)
    manifest, text = declared
    lines = _requirement_lines(text, manifest)
    root = environments_root()
    root.mkdir(parents=True, exist_ok=True)
    pins, hashed = _pinned(lines)
    worker = _worker_packages()
    if pins is None:
        pins = _resolved(lines, manifest, root, worker)
    missing = [pin for pin in pins if worker.get(_pin_name(pin)) != _pin_version(pin)]
    reused = len(pins) - len(missing)
    key = _key(pins, missing)
    if not missing:
        return Environment(key, sys.executable, manifest, len(pins), reused, [], True, time.monotonic() - started)
    folder = root / key
    with _locked(environment_cache.lock_path(root, key)):
        cached = (folder / COMPLETE).exists()
        if not cached:
            _install(folder, missing, hashed, manifest)
        environment_cache.mark_used(folder)  # under the lock: eviction cannot take it in between
    if not cached:
        evict_unused(root)
    python = str(folder / "bin" / "python")
    installed = [pin.split()[0] for pin in missing]
    return Environment(key, python, manifest, len(pins), reused, installed, cached, time.monotonic() - started)


def evict_unused(root: Path | None = None) -> list[str]:
    """Evict the least recently used environments past CG_ENVIRONMENTS_MAX_COUNT or
    CG_ENVIRONMENTS_MAX_MB, never one a live run uses; the keys evicted."""
    return environment_cache.evict_least_recently_used(
        root or environments_root(),
        max_count=int(getattr(settings, "CG_ENVIRONMENTS_MAX_COUNT", 50)),
        max_bytes=int(getattr(settings, "CG_ENVIRONMENTS_MAX_MB", 20_000)) * 1024 * 1024,
        in_use=keys_in_use,
    )


def keys_in_use() -> set[str]:
    """The environments of runs admitted, launching or running on local pools (as they recorded)."""
    from scheduler.contract import job_artifact_paths
    from scheduler.models import AcceleratorPool, TrainingJob

    live = TrainingJob.objects.filter(
        state__in=TrainingJob.ACTIVE_STATES, pool__backend=AcceleratorPool.Backend.LOCAL
    ).values_list("pk", flat=True)
    recorded = (evidence(job_artifact_paths(job_id).root) for job_id in live)
    return {str(record["key"]) for record in recorded if record and record.get("key")}


def _requirement_lines(text: str, manifest: str) -> list[str]:
    """The file's requirements, continuation lines joined and comments dropped; options refused."""
    lines = []
    for raw in text.replace("\\\n", " ").splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        if line in THE_REPOSITORY:
            continue
        # Only requirements (and their hashes) reach the installer: options such as --index-url,
        # --find-links, -e or -r would let a repository choose where code comes from.
        if line.startswith("-"):
            raise InstallFailed(
                f"{manifest}: the line {line[:80]!r} is not installed here: only requirements (with their "
                "hashes) are; the package index is the portal's.",
                manifest=manifest,
            )
        lines.append(line)
    return lines


def _pinned(lines: list[str]) -> tuple[list[str] | None, bool]:
    """The lines as they are when every one is an exact `name==version` pin (a lock), else None."""
    pins = []
    for line in lines:
        requirement_text = line.split(" --hash", 1)[0].strip()
        try:
            requirement = Requirement(requirement_text)
        except InvalidRequirement:
            return None, False
        specifiers = list(requirement.specifier)
        if requirement.url or len(specifiers) != 1 or specifiers[0].operator != "==" or "*" in specifiers[0].version:
            return None, False
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue  # not for this platform: neither reused nor installed
        pins.append(line)
    return pins, bool(pins) and all("--hash" in pin for pin in pins)


def _pin_name(pin: str) -> str:
    return canonicalize_name(Requirement(pin.split(" --hash", 1)[0].strip()).name)


def _pin_version(pin: str) -> str:
    return next(iter(Requirement(pin.split(" --hash", 1)[0].strip()).specifier)).version


def _worker_packages() -> dict[str, str]:
    return {canonicalize_name(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}


def _key(pins: list[str], missing: list[str]) -> str:
    """The hash of the resolved set, the Python it is for and what the worker supplies of it."""
    identity = {
        "python": sys.version_info[:3],
        "platform": sysconfig.get_platform(),
        "index": _index_url(),
        "pins": sorted(pins),
        "installed": sorted(missing),
        "worker": sysconfig.get_paths()["purelib"],
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]


def _resolved(lines: list[str], manifest: str, root: Path, worker: dict[str, str]) -> list[str]:
    """The resolution of these lines, remembered by their digest so a second run resolves nothing."""
    identity = {"lines": lines, "python": sys.version_info[:3], "index": _index_url(), "worker": worker}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    memo = root / "resolved" / f"{digest}.json"
    with contextlib.suppress(OSError, ValueError):
        return list(json.loads(memo.read_text()))
    pins = _resolve(lines, manifest, root, worker)
    memo.parent.mkdir(parents=True, exist_ok=True)
    temporary = memo.with_name(f".{memo.name}.{os.getpid()}")
    temporary.write_text(json.dumps(pins))
    os.replace(temporary, memo)
    return pins


def _resolve(lines: list[str], manifest: str, root: Path, worker: dict[str, str]) -> list[str]:
    """Exact pins for requirements that are not all pinned, preferring the worker's versions."""
    work = root / "resolving" / f"{os.getpid()}-{time.monotonic_ns()}"
    work.mkdir(parents=True)
    try:
        (work / "requirements.in").write_text("\n".join(lines) + "\n")
        # uv prefers the versions already in its output file: the worker's, so TensorFlow is reused.
        (work / "resolved.txt").write_text("".join(f"{name}=={version}\n" for name, version in sorted(worker.items())))
        _uv(
            ["pip", "compile", "requirements.in", "-o", "resolved.txt", "--no-header", "--no-annotate"],
            cwd=work,
            manifest=manifest,
        )
        return [line.strip() for line in (work / "resolved.txt").read_text().splitlines() if "==" in line]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _install(folder: Path, pins: list[str], hashed: bool, manifest: str) -> None:
    """A fresh environment at `folder` with `pins` installed over the worker's packages."""
    shutil.rmtree(folder, ignore_errors=True)
    try:
        _uv(["venv", "--python", sys.executable, str(folder)], cwd=folder.parent, manifest=manifest)
        site = Path(
            subprocess.run(
                [str(folder / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
        worker_paths = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
        (site / "_computegrant_worker.pth").write_text("".join(f"{path}\n" for path in worker_paths))
        (folder / "requirements.txt").write_text("\n".join(pins) + "\n")
        python = str(folder / "bin" / "python")
        arguments = ["pip", "install", "--python", python, "--no-deps", "-r", "requirements.txt"]
        _uv([*arguments, *(["--require-hashes"] if hashed else [])], cwd=folder, manifest=manifest)
        (folder / COMPLETE).write_text(json.dumps({"pins": pins, "at": time.time()}))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _index_url() -> str:
    return str(getattr(settings, "CG_PACKAGE_INDEX_URL", "") or "https://pypi.org/simple")


def _uv(arguments: list[str], *, cwd: Path, manifest: str) -> str:
    import uv

    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "SSL_CERT_FILE", "TMPDIR") if key in os.environ}
    env.update(
        {
            "UV_INDEX_URL": _index_url(),
            "UV_CACHE_DIR": str(environments_root() / "uv-cache"),
            "UV_NO_CONFIG": "1",  # a repository's uv.toml or pyproject [tool.uv] never picks the index
            "UV_PYTHON_DOWNLOADS": "never",
            "NO_COLOR": "1",
        }
    )
    timeout = int(getattr(settings, "CG_ENVIRONMENT_INSTALL_SECONDS", 120))
    try:
        done = subprocess.run(
            [uv.find_uv_bin(), *arguments],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as error:
        raise InstallFailed(
            f"{manifest}: installing took longer than {timeout} s and was stopped.", manifest=manifest
        ) from error
    if done.returncode != 0:
        log = ANSI.sub("", done.stderr).strip()
        raise InstallFailed(f"{manifest}: {_summary(log)}", log="\n".join(log.splitlines()[-30:]), manifest=manifest)
    return done.stdout


def _summary(log: str) -> str:
    """The installer's reason in one line: its `cause:` or `error:` line, or its last line."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for prefix in ("cause:", "Caused by:", "error:"):
        found = [line for line in lines if line.startswith(prefix)]
        if found:
            return found[-1 if prefix == "Caused by:" else 0].split(":", 1)[1].strip()
    return lines[-1] if lines else "the installer failed without saying why"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One install of a key at a time: a second run of the same set waits, then finds it cached."""
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
