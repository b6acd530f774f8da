"""Declared dependencies, read by real parsers from every manifest format a Python project uses."""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from reproducibility.repo_view import Location, RepoView

LOCK_FILES = ("poetry.lock", "uv.lock", "Pipfile.lock", "conda-lock.yml", "pdm.lock", "requirements.lock")
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
    lock_files: list[str]
    python_version: Location | None
    sources: list[str]

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


def _requirements_txt(view: RepoView, path: str) -> list[Declared]:
    text = view.text(path) or ""
    found = []
    logical = text.replace("\\\n", " ").splitlines()
    for number, line in enumerate(logical, start=1):
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


def read_manifests(view: RepoView) -> Manifests:
    """Every declared dependency of the repository, and whether a lock file or Python version is declared."""
    return view.memo("manifests", lambda: _read(view))


def _read(view: RepoView) -> Manifests:
    declared: list[Declared] = []
    sources: list[str] = []
    python_version: Location | None = None
    for entry in view.glob(*REQUIREMENT_FILES):
        declared.extend(_requirements_txt(view, entry.path))
        sources.append(entry.path)
    for entry in view.named("pyproject.toml"):
        data = view.toml(entry.path) or {}
        project = data.get("project", {}) if isinstance(data.get("project"), dict) else {}
        for spec in project.get("dependencies", []) or []:
            if isinstance(spec, str) and (
                d := _requirement(spec, Location(entry.path, _line_of(view, entry.path, spec)), False)
            ):
                declared.append(d)
        if project.get("requires-python"):
            python_version = Location(entry.path, _line_of(view, entry.path, "requires-python"), "requires-python")
        poetry = data.get("tool", {}).get("poetry", {}) if isinstance(data.get("tool"), dict) else {}
        for name, spec in (poetry.get("dependencies") or {}).items():
            if name.lower() == "python":
                python_version = Location(entry.path, _line_of(view, entry.path, "python ="), "python")
                continue
            version = spec if isinstance(spec, str) else (spec.get("version", "") if isinstance(spec, dict) else "")
            pinned = bool(re.fullmatch(r"=?=?\d[\w.]*", version.strip()))
            declared.append(
                Declared(
                    canonicalize_name(name),
                    pinned,
                    False,
                    Location(entry.path, _line_of(view, entry.path, name)),
                )
            )
        if project or poetry:
            sources.append(entry.path)
    for entry in view.named("setup.cfg"):
        parser = view.ini(entry.path)
        if parser and parser.has_option("options", "install_requires"):
            for spec in parser.get("options", "install_requires").splitlines():
                if spec.strip() and (
                    d := _requirement(
                        spec.strip(), Location(entry.path, _line_of(view, entry.path, spec.strip())), False
                    )
                ):
                    declared.append(d)
            sources.append(entry.path)
        if parser and parser.has_option("options", "python_requires"):
            python_version = Location(entry.path, _line_of(view, entry.path, "python_requires"), "python_requires")
    for entry in view.named("setup.py"):
        facts = view.python(entry.path)
        if facts and "install_requires" in " ".join(k for key in facts.keywords.values() for k in key):
            sources.append(entry.path)
        if facts and any("python_requires" in line for line in facts.lines):
            python_version = Location(entry.path, _line_of(view, entry.path, "python_requires"), "python_requires")
    for entry in view.named("Pipfile"):
        data = view.toml(entry.path) or {}
        for name, spec in (data.get("packages") or {}).items():
            version = spec if isinstance(spec, str) else ""
            declared.append(
                Declared(
                    canonicalize_name(name),
                    version.startswith("=="),
                    False,
                    Location(entry.path, _line_of(view, entry.path, name)),
                )
            )
        if (data.get("requires") or {}).get("python_version"):
            python_version = Location(entry.path, _line_of(view, entry.path, "python_version"), "python_version")
        sources.append(entry.path)
    for entry in view.named("environment.yml", "environment.yaml"):
        data = view.yaml(entry.path)
        if isinstance(data, dict):
            for dep in data.get("dependencies") or []:
                if isinstance(dep, str):
                    name = re.split(r"[=<>! ]", dep, maxsplit=1)[0]
                    if name == "python":
                        python_version = Location(entry.path, _line_of(view, entry.path, dep), dep)
                        continue
                    pinned = bool(re.search(r"=\d", dep))
                    declared.append(
                        Declared(
                            canonicalize_name(name),
                            pinned,
                            False,
                            Location(entry.path, _line_of(view, entry.path, dep), dep),
                        )
                    )
                elif isinstance(dep, dict):
                    for spec in dep.get("pip") or []:
                        if isinstance(spec, str) and (
                            d := _requirement(spec, Location(entry.path, _line_of(view, entry.path, spec)), False)
                        ):
                            declared.append(d)
            sources.append(entry.path)
    for name in (".python-version", "runtime.txt"):
        for entry in view.named(name):
            if (view.text(entry.path) or "").strip():
                python_version = Location(entry.path, 1, (view.text(entry.path) or "").strip()[:40])
    locks = [e.path for e in view.named(*LOCK_FILES)]
    return Manifests(declared, locks, python_version, sources)


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
