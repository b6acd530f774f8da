"""Declared dependencies, read by real parsers from every manifest format a Python project uses:
requirements files in any folder, setup.py (by its syntax tree, never run), setup.cfg,
pyproject.toml ([project], Poetry, PDM, dependency groups), Pipfile, conda environment files and
lock files. Each dependency keeps its version specifier, so pins and release lines can be read."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from reproducibility.repo_view import Location, RepoView
from reproducibility.setup_py import read_setup_py

LOCK_NAMES = ("poetry.lock", "uv.lock", "Pipfile.lock", "conda-lock.yml", "pdm.lock", "requirements.lock")
COMMIT = re.compile(r"@[0-9a-f]{40}\b|#[0-9a-f]{40}\b")
# A requirement pip reads from a URL or a folder rather than by name.
_LOCAL_OR_URL = re.compile(r"^(?:\.{1,2}(?:/|$)|/|[\w.-]+\.(?:whl|tar\.gz|zip)$|[a-z+]+://)", re.I)
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9_.\-]+)")
_VCS_NAME = re.compile(r"/([A-Za-z0-9_.\-]+?)(?:\.git)?(?:@[^#/]*)?(?:#.*)?$")


@dataclass(frozen=True)
class Declared:
    name: str  # canonical distribution name
    pinned: bool  # an exact version (==, ===; a VCS URL at a commit)
    hashed: bool
    location: Location
    specifier: str = ""  # as written, e.g. ">=2.4,<2.5" or conda's "=2.6"


@dataclass
class Manifests:
    declared: list[Declared]
    python_version: Location | None  # the first declaration of the Python version (see declared_versions)
    sources: list[str]
    unreadable: list[Location] = field(default_factory=list)  # manifests that do not parse, with the reason
    python_specs: list[tuple[str, Location]] = field(default_factory=list)  # every Python version as written

    @property
    def names(self) -> set[str]:
        return {d.name for d in self.declared}

    def python(self, spec: str, location: Location) -> None:
        self.python_specs.append((spec, location))
        if self.python_version is None:
            self.python_version = location


def _requirement(text: str, location: Location, hashed: bool) -> Declared | None:
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return None
    pinned = any(spec.operator in ("==", "===") and "*" not in spec.version for spec in requirement.specifier)
    if requirement.url:
        pinned = bool(COMMIT.search(requirement.url))
    return Declared(canonicalize_name(requirement.name), pinned, hashed, location, str(requirement.specifier))


def requirement_lines(text: str, path: str) -> list[Declared]:
    """The requirements of a requirements file (pip's format: `\\` continuations, ` #` comments,
    `--hash` options, VCS URLs with #egg=), each at the line it starts on."""
    return _requirement_file(text, path)[0]


def _requirement_file(text: str, path: str) -> tuple[list[Declared], list[Location]]:
    """(requirements, lines pip would refuse)."""
    found, invalid = [], []
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
        line = re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip()
        if not line:
            continue
        location = Location(path, number, line[:120])
        if line.startswith("-e ") or line.startswith("--editable"):
            line = line.split(None, 1)[1].strip() if " " in line else ""
        elif line.startswith("-"):
            continue  # options: -r, -c, --index-url, --hash on its own line ...
        if not line or (_LOCAL_OR_URL.match(line) and not _EGG.search(line) and "://" not in line):
            continue  # the project itself or a folder of the repository
        if "://" in line and " @ " not in line:
            if declared := _vcs(line, location):
                found.append(declared)
            continue
        hashed = "--hash=" in line
        spec = line.split(" --")[0].split(";")[0].strip() if hashed else line.split(";")[0].strip()
        declared = _requirement(spec, location, hashed)
        if declared:
            found.append(declared)
        else:
            invalid.append(Location(path, number, f"not a requirement: {line[:80]}"))
    return found, invalid


def _vcs(line: str, location: Location) -> Declared | None:
    """`git+https://host/org/repo.git@<commit>#egg=name`: named by its egg, else by its repository."""
    url = line.split()[0]
    match = _EGG.search(url) or _VCS_NAME.search(url.split("#", 1)[0])
    if not match:
        return None
    return Declared(canonicalize_name(match.group(1)), bool(COMMIT.search(url)), False, location, "")


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


def is_requirements_file(path: str) -> bool:
    """requirements*.txt / *requirements*.txt / *.in in any folder, and .txt / .in in a requirements/ folder."""
    name = path.rsplit("/", 1)[-1].lower()
    if name.endswith((".txt", ".in")) and "requirements" in name:
        return True
    folder = path.lower().rsplit("/", 2)
    return len(folder) >= 2 and folder[-2] in ("requirements", "reqs") and name.endswith((".txt", ".in"))


def is_conda_environment(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].lower()
    return name.endswith((".yml", ".yaml")) and ("environment" in name or name.startswith("conda"))


_REQUIREMENT_SUFFIXES = frozenset({".txt", ".in"})
_YAML_SUFFIXES = frozenset({".yml", ".yaml"})


def _read(view: RepoView) -> Manifests:
    found = Manifests([], None, [])
    for entry in view.files:
        path = entry.path
        # Every requirements file ends in .txt or .in: the entry's suffix rules out the rest at
        # once (a name starting with a dot has none, so it is asked in full).
        if (entry.suffix in _REQUIREMENT_SUFFIXES or entry.name.startswith(".")) and is_requirements_file(path):
            declared, invalid = _requirement_file(view.text(path) or "", path)
            found.declared.extend(declared)
            found.unreadable.extend(invalid[:1])
            found.sources.append(path)
    for entry in view.named("pyproject.toml"):
        _pyproject(view, entry.path, found)
    for entry in view.named("setup.cfg"):
        _setup_cfg(view, entry.path, found)
    for entry in view.named("setup.py"):
        _setup_py(view, entry.path, found)
    for entry in view.named("Pipfile"):
        _pipfile(view, entry.path, found)
    for entry in view.files:
        if entry.suffix not in _YAML_SUFFIXES:  # every conda environment is YAML: its suffix says so at once
            continue
        if is_conda_environment(entry.path) and not entry.path.startswith((".github/", ".gitlab/", ".circleci/")):
            _environment(view, entry.path, found)
    for entry in view.named(*LOCK_NAMES):
        if entry.name.lower() != "requirements.lock" or entry.path not in found.sources:
            found.sources.append(entry.path)
    for name in (".python-version", "runtime.txt"):
        for entry in view.named(name):
            written = (view.text(entry.path) or "").strip()
            if written:
                found.python(written.splitlines()[0], Location(entry.path, 1, written[:40]))
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
    tool = _table(data.get("tool"))
    specs = list(_list(project.get("dependencies")))
    for group in _table(project.get("optional-dependencies")).values():
        specs.extend(_list(group))
    for group in _table(data.get("dependency-groups")).values():
        specs.extend(_list(group))
    for group in _table(_table(tool.get("pdm")).get("dev-dependencies")).values():
        specs.extend(_list(group))
    for spec in specs:
        if isinstance(spec, str) and (d := _requirement(spec, Location(path, _line_of(view, path, spec)), False)):
            found.declared.append(d)
    if isinstance(requires := project.get("requires-python"), str):
        found.python(requires, Location(path, _line_of(view, path, "requires-python"), requires))
    poetry = _table(tool.get("poetry"))
    tables = [_table(poetry.get("dependencies")), _table(poetry.get("dev-dependencies"))]
    tables += [_table(_table(group).get("dependencies")) for group in _table(poetry.get("group")).values()]
    for table in tables:
        for name, spec in table.items():
            version = spec if isinstance(spec, str) else _table(spec).get("version", "")
            version = version if isinstance(version, str) else ""
            location = Location(path, _line_of(view, path, f"{name} ="), f"{name} = {version}"[:80])
            if name.lower() == "python":
                found.python(version, location)
                continue
            pinned = bool(re.fullmatch(r"=?=?\s*\d[\w.]*", version.strip()))
            found.declared.append(Declared(canonicalize_name(name), pinned, False, location, version.strip()))
    if "dependencies" in project or "optional-dependencies" in project or poetry.get("dependencies") or specs:
        found.sources.append(path)
    for classifier in _list(project.get("classifiers")) + _list(poetry.get("classifiers")):
        _classifier(classifier, view, path, found)


def _classifier(classifier: object, view: RepoView, path: str, found: Manifests) -> None:
    """`Programming Language :: Python :: 3.7` names a Python version; `:: 3` alone does not."""
    if isinstance(classifier, str) and (
        match := re.fullmatch(r"Programming Language :: Python :: (\d+\.\d+)", classifier.strip())
    ):
        found.python(match.group(1), Location(path, _line_of(view, path, classifier.strip()), classifier.strip()))


def _setup_cfg(view: RepoView, path: str, found: Manifests) -> None:
    parser = view.ini(path)
    if parser is None:
        return _unreadable(view, path, found)
    declares = False
    if parser.has_option("options", "install_requires"):
        _cfg_requirements(view, path, parser.get("options", "install_requires"), found)
        declares = True
    if parser.has_section("options.extras_require"):
        for _, value in parser.items("options.extras_require"):
            _cfg_requirements(view, path, value, found)
        declares = True
    if declares:
        found.sources.append(path)
    if parser.has_option("options", "python_requires"):
        written = parser.get("options", "python_requires").strip()
        found.python(written, Location(path, _line_of(view, path, "python_requires"), written))
    if parser.has_option("metadata", "classifiers"):
        for classifier in parser.get("metadata", "classifiers").splitlines():
            _classifier(classifier, view, path, found)


def _cfg_requirements(view: RepoView, path: str, value: str, found: Manifests) -> None:
    for spec in value.splitlines():
        spec = spec.split("#", 1)[0].strip()
        if spec and (d := _requirement(spec, Location(path, _line_of(view, path, spec), spec), False)):
            found.declared.append(d)


def _setup_py(view: RepoView, path: str, found: Manifests) -> None:
    """setup(install_requires=..., extras_require=..., python_requires=..., classifiers=...)."""
    text = view.text(path)
    if text is None:
        return
    setup = read_setup_py(view, path)
    if setup is None:
        if "install_requires" in text:  # a setup.py the tools cannot run on Python 3
            _unreadable(view, path, found)
        return
    for spec, line in setup.requirements:
        if d := _requirement(spec, Location(path, line, spec), False):
            found.declared.append(d)
    if setup.declares_requirements:
        found.sources.append(path)
    if setup.python_requires:
        written, line = setup.python_requires
        found.python(written, Location(path, line, f"python_requires={written}"))
    for classifier, line in setup.classifiers:
        if match := re.fullmatch(r"Programming Language :: Python :: (\d+\.\d+)", classifier.strip()):
            found.python(match.group(1), Location(path, line, classifier.strip()))


def _pipfile(view: RepoView, path: str, found: Manifests) -> None:
    data = view.toml(path)
    if data is None:
        return _unreadable(view, path, found)
    for section in ("packages", "dev-packages"):
        for name, spec in _table(data.get(section)).items():
            version = spec if isinstance(spec, str) else _table(spec).get("version", "")
            version = version if isinstance(version, str) else ""
            pinned = version.startswith("==") and "*" not in version
            location = Location(path, _line_of(view, path, name), f"{name} = {version}"[:80])
            found.declared.append(Declared(canonicalize_name(name), pinned, False, location, version))
    requires = _table(data.get("requires"))
    for key in ("python_version", "python_full_version"):
        if isinstance(written := requires.get(key), str):
            found.python(written, Location(path, _line_of(view, path, key), written))
            break
    found.sources.append(path)


# A conda match spec: [channel::]name, then nothing, an operator and a version, or `=version=build`.
CONDA_SPEC = re.compile(r"(?:[\w.-]+::)?(?P<name>[A-Za-z0-9_][\w.-]*)\s*(?P<version>.*)")
# Pinned: `=1.26.4`, `==1.26.4`, `1.26.4` (space), optionally a build; no range, wildcard or alternative.
CONDA_EXACT = re.compile(r"(?:==?|\s*)\s*v?\d[\w.+!]*(?:\s*=\s*[\w.+!]+|\s+[\w.+!]+)?")


def _environment(view: RepoView, path: str, found: Manifests) -> None:
    named = "environment" in path.rsplit("/", 1)[-1].lower()
    data = view.yaml(path)
    if data is None:
        return _unreadable(view, path, found) if named else None
    if not isinstance(data, dict):
        if named:
            found.unreadable.append(Location(path, 1, "not a conda environment: the top level is not a mapping"))
        return
    if not named and not isinstance(data.get("dependencies"), list):
        return  # a conda*.yml that is no environment (a CI workflow, a build recipe)
    for dep in _list(data.get("dependencies")):
        if isinstance(dep, str) and (spec := CONDA_SPEC.fullmatch(dep.strip())):
            location = Location(path, _line_of(view, path, dep), dep)
            version = spec["version"].strip()
            if spec["name"] == "python":
                found.python(version, location)
                continue
            pinned = bool(CONDA_EXACT.fullmatch(version))
            found.declared.append(Declared(canonicalize_name(spec["name"]), pinned, False, location, version))
        elif isinstance(dep, dict):
            for pip_spec in _list(dep.get("pip")):
                if isinstance(pip_spec, str):
                    location = Location(path, _line_of(view, path, pip_spec), pip_spec)
                    found.declared.extend(replace(d, location=location) for d in _requirement_file(pip_spec, path)[0])
    found.sources.append(path)
