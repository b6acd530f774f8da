"""Declared dependencies, read by real parsers from every manifest format a Python project uses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from reproducibility.repo_view import Location, RepoView

REQUIREMENT_FILES = ("requirements*.txt", "requirements/*.txt", "requirements*.in", "requirements/*.in")


@dataclass(frozen=True)
class Declared:
    name: str  # canonical distribution name
    pinned: bool  # an exact version (==, ===)
    hashed: bool
    location: Location


@dataclass
class Manifests:
    declared: list[Declared]
    python_version: Location | None
    sources: list[str]
    unreadable: list[Location] = field(default_factory=list)  # manifests that do not parse, with the reason

    @property
    def names(self) -> set[str]:
        return {d.name for d in self.declared}


def _requirement(text: str, location: Location, hashed: bool) -> Declared | None:
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return None
    pinned = any(spec.operator in ("==", "===") and "*" not in spec.version for spec in requirement.specifier)
    return Declared(canonicalize_name(requirement.name), pinned, hashed, location)


def requirement_lines(text: str, path: str) -> list[Declared]:
    """The requirements of a requirements file (pip's format: `\\` continuations, ` #` comments,
    `--hash` options), each at the line it starts on."""
    found = []
    logical: list[tuple[int, str]] = []
    pending = ""
    start = 1
    for number, line in enumerate(text.splitlines(), start=1):
        start = number if not pending else start
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append((start, pending + line))
        pending = ""
    if pending:
        logical.append((start, pending))
    for number, line in logical:
        line = line.split(" #")[0].strip()
        if not line or line.startswith(("#", "-", "git+", "http")):
            continue
        hashed = "--hash=" in line
        spec = line.split(" --")[0].split(";")[0].strip() if hashed else line.split(";")[0].strip()
        declared = _requirement(spec, Location(path, number, line[:120]), hashed)
        if declared:
            found.append(declared)
    return found


def _line_of(view: RepoView, path: str, needle: str) -> int:
    text = view.text(path) or ""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return 1


def _table(value: object) -> dict[str, Any]:
    """A parsed table, or an empty one when the file holds something else there (hostile or wrong)."""
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def read_manifests(view: RepoView) -> Manifests:
    """Every declared dependency of the repository, and where the Python version is declared."""
    return view.memo("manifests", lambda: _read(view))


def _read(view: RepoView) -> Manifests:
    found = Manifests([], None, [])
    for entry in view.glob(*REQUIREMENT_FILES):
        found.declared.extend(requirement_lines(view.text(entry.path) or "", entry.path))
        found.sources.append(entry.path)
    for entry in view.named("pyproject.toml"):
        _pyproject(view, entry.path, found)
    for entry in view.named("setup.cfg"):
        _setup_cfg(view, entry.path, found)
    for entry in view.named("setup.py"):
        facts = view.python(entry.path)
        if facts and "install_requires" in " ".join(k for key in facts.keywords.values() for k in key):
            found.sources.append(entry.path)
        if facts and any("python_requires" in line for line in facts.lines):
            found.python_version = Location(
                entry.path, _line_of(view, entry.path, "python_requires"), "python_requires"
            )
    for entry in view.named("Pipfile"):
        _pipfile(view, entry.path, found)
    for entry in view.named("environment.yml", "environment.yaml"):
        _environment(view, entry.path, found)
    for name in (".python-version", "runtime.txt"):
        for entry in view.named(name):
            if (view.text(entry.path) or "").strip():
                found.python_version = Location(entry.path, 1, (view.text(entry.path) or "").strip()[:40])
    return found


def _unreadable(view: RepoView, path: str, found: Manifests) -> None:
    problem = view.problems.get(path)
    if problem is not None:
        found.unreadable.append(Location(path, problem.line or 1, problem.reason))


def _pyproject(view: RepoView, path: str, found: Manifests) -> None:
    data = view.toml(path)
    if data is None:
        return _unreadable(view, path, found)
    project = _table(data.get("project"))
    for spec in _list(project.get("dependencies")):
        if isinstance(spec, str) and (d := _requirement(spec, Location(path, _line_of(view, path, spec)), False)):
            found.declared.append(d)
    if project.get("requires-python"):
        found.python_version = Location(path, _line_of(view, path, "requires-python"), "requires-python")
    poetry = _table(_table(data.get("tool")).get("poetry"))
    for name, spec in _table(poetry.get("dependencies")).items():
        if name.lower() == "python":
            found.python_version = Location(path, _line_of(view, path, "python ="), "python")
            continue
        version = spec if isinstance(spec, str) else _table(spec).get("version", "")
        pinned = isinstance(version, str) and bool(re.fullmatch(r"=?=?\d[\w.]*", version.strip()))
        found.declared.append(
            Declared(canonicalize_name(name), pinned, False, Location(path, _line_of(view, path, name)))
        )
    if project or poetry:
        found.sources.append(path)


def _setup_cfg(view: RepoView, path: str, found: Manifests) -> None:
    parser = view.ini(path)
    if parser is None:
        return _unreadable(view, path, found)
    if parser.has_option("options", "install_requires"):
        for spec in parser.get("options", "install_requires").splitlines():
            spec = spec.strip()
            if spec and (d := _requirement(spec, Location(path, _line_of(view, path, spec)), False)):
                found.declared.append(d)
        found.sources.append(path)
    if parser.has_option("options", "python_requires"):
        found.python_version = Location(path, _line_of(view, path, "python_requires"), "python_requires")


def _pipfile(view: RepoView, path: str, found: Manifests) -> None:
    data = view.toml(path)
    if data is None:
        return _unreadable(view, path, found)
    for section in ("packages", "dev-packages"):
        for name, spec in _table(data.get(section)).items():
            version = spec if isinstance(spec, str) else _table(spec).get("version", "")
            pinned = isinstance(version, str) and version.startswith("==") and "*" not in version
            location = Location(path, _line_of(view, path, name))
            found.declared.append(Declared(canonicalize_name(name), pinned, False, location))
    if _table(data.get("requires")).get("python_version"):
        found.python_version = Location(path, _line_of(view, path, "python_version"), "python_version")
    found.sources.append(path)


# A conda match spec: [channel::]name, then nothing, an operator and a version, or `=version=build`.
CONDA_SPEC = re.compile(r"(?:[\w.-]+::)?(?P<name>[A-Za-z0-9_][\w.-]*)\s*(?P<version>.*)")
# Pinned: `=1.26.4`, `==1.26.4`, `1.26.4` (space), optionally a build; no range, wildcard or alternative.
CONDA_EXACT = re.compile(r"(?:==?|\s*)\s*v?\d[\w.+!]*(?:\s*=\s*[\w.+!]+|\s+[\w.+!]+)?")


def _environment(view: RepoView, path: str, found: Manifests) -> None:
    data = view.yaml(path)
    if data is None:
        return _unreadable(view, path, found)
    if not isinstance(data, dict):
        found.unreadable.append(Location(path, 1, "not a conda environment: the top level is not a mapping"))
        return
    for dep in _list(data.get("dependencies")):
        if isinstance(dep, str) and (spec := CONDA_SPEC.fullmatch(dep.strip())):
            location = Location(path, _line_of(view, path, dep), dep)
            if spec["name"] == "python":
                found.python_version = location
                continue
            pinned = bool(CONDA_EXACT.fullmatch(spec["version"].strip()))
            found.declared.append(Declared(canonicalize_name(spec["name"]), pinned, False, location))
        elif isinstance(dep, dict):
            for pip_spec in _list(dep.get("pip")):
                if isinstance(pip_spec, str) and (
                    d := _requirement(pip_spec, Location(path, _line_of(view, path, pip_spec)), False)
                ):
                    found.declared.append(d)
    found.sources.append(path)


# Import names whose distribution is named differently.
IMPORT_TO_DISTRIBUTION = {
    "sklearn": "scikit-learn",
    "yaml": "pyyaml",
    "cv2": "opencv-python",
    "PIL": "pillow",
    "tf_keras": "tf-keras",
    "google.protobuf": "protobuf",
    "absl": "absl-py",
    "bs4": "beautifulsoup4",
    "skimage": "scikit-image",
    "tensorflow_datasets": "tensorflow-datasets",
    "tensorflow_hub": "tensorflow-hub",
    "dateutil": "python-dateutil",
    "attr": "attrs",
    "jwt": "pyjwt",
    "gin": "gin-config",
    "hydra": "hydra-core",
}
# Distributions that provide other names too (tensorflow brings keras with it, etc.).
PROVIDES = {
    "tensorflow": {"tensorflow", "keras", "tensorboard", "numpy", "absl-py", "protobuf"},
    "tensorflow-cpu": {"tensorflow", "keras", "tensorboard", "numpy", "absl-py", "protobuf"},
    "tf-keras": {"tf-keras"},
    "scikit-learn": {"scikit-learn", "numpy", "scipy"},
    "pandas": {"pandas", "numpy"},
}


def distribution_for(module: str) -> str:
    for prefix, distribution in IMPORT_TO_DISTRIBUTION.items():
        if module == prefix or module.startswith(prefix + "."):
            return distribution
    return canonicalize_name(module.split(".")[0])
