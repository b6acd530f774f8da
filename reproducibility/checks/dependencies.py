"""Dependencies: a manifest, pinned versions, declared TF/Python versions, every import declared."""

from __future__ import annotations

from reproducibility.checks import Evidence, Result, Status, check, failed, not_applicable, partial, passed
from reproducibility.lock_files import LockFile, read_lock_files
from reproducibility.manifests import PROVIDES, Declared, distribution_for, read_manifests
from reproducibility.repo_view import Location, PythonFacts, RepoView


@check(
    "dependency-manifest",
    "Dependencies are declared in a manifest",
    "Dependencies",
    3,
    """Declare every dependency in a manifest, e.g. requirements.txt:

    tensorflow==2.21.0
    tf-keras==2.21.0""",
)
def manifest(view: RepoView):
    found = read_manifests(view)
    unreadable = [Evidence(m.path, m.line, m.snippet) for m in found.unreadable]
    broken = "; ".join(f"{m.path} does not parse ({m.snippet})" for m in found.unreadable[:3])
    if found.sources and unreadable:
        return partial(f"Dependencies declared in {', '.join(found.sources)}, but {broken}.", *unreadable)
    if found.sources:
        return passed(f"Dependencies declared in {', '.join(found.sources)}.", *[Evidence(s, 1) for s in found.sources])
    if unreadable:
        return failed(f"No manifest can be read: {broken}.", *unreadable)
    return failed("No requirements.txt, pyproject.toml, setup.cfg, Pipfile or environment.yml declares dependencies.")


@check(
    "dependency-pinning",
    "Dependency versions are pinned (lock file or hashes)",
    "Dependencies",
    3,
    """Pin exact versions, ideally with hashes in a lock file:

    pip-compile --generate-hashes -o requirements.lock requirements.in
    # or: uv lock / poetry lock""",
)
def pinning(view: RepoView):
    found = read_manifests(view)
    locks = read_lock_files(view)
    if not found.declared and not locks:
        return not_applicable("No dependencies declared.")
    usable = [lock for lock in locks if not lock.problem]
    unusable = [Evidence(lock.path, lock.line, lock.problem) for lock in locks if lock.problem]
    broken = "; ".join(f"{e.path} cannot be used ({e.snippet})" for e in unusable[:3])
    if usable:
        result = _locked(usable)
    elif found.declared:
        result = _declared(found.declared)
    else:
        return failed(f"No usable lock file: {broken}.", *unusable)
    if unusable:  # a lock file the tools would refuse is a finding, whatever else pins the versions
        status = failed if result.status == Status.FAIL else partial
        return status(f"{result.reason.rstrip('.')}; but {broken}.", *result.evidence, *unusable)
    return result


def _locked(locks: list[LockFile]) -> Result:
    """The worst of the lock files: every package at an exact version, each with a hash."""
    evidence = [Evidence(lock.path, 1, _packages(len(lock.packages))) for lock in locks]
    if unpinned := [(lock, name) for lock in locks for name in lock.unpinned]:
        names = ", ".join(f"{name} ({lock.path})" for lock, name in unpinned[:5])
        return failed(f"{len(unpinned)} locked package(s) have no exact version: {names}.", *evidence)
    if unhashed := [(lock, name) for lock in locks for name in lock.unhashed]:
        names = ", ".join(f"{name} ({lock.path})" for lock, name in unhashed[:5])
        return partial(
            f"Lock files pin every version, but {len(unhashed)} package(s) have no hash: {names}.", *evidence
        )
    packages = _packages(sum(len(lock.packages) for lock in locks))
    paths = ", ".join(lock.path for lock in locks)
    return passed(f"Lock file {paths} pins {packages} to exact versions (or commits), with hashes.", *evidence)


def _packages(count: int) -> str:
    return f"{count} package" + ("" if count == 1 else "s")


def _declared(declared: list[Declared]) -> Result:
    unpinned = [d for d in declared if not d.pinned]
    if unpinned:
        return failed(
            f"{len(unpinned)} of {len(declared)} dependencies have no exact version.",
            *[d.location for d in unpinned[:10]],
        )
    if all(d.hashed for d in declared):
        return passed("Every dependency is pinned with hashes.", declared[0].location)
    return partial("Every dependency is pinned with ==, but without hashes or a lock file.", declared[0].location)


@check(
    "versions-declared",
    "TensorFlow and Python versions are declared",
    "Dependencies",
    2,
    """Declare the TensorFlow version in your dependencies and the Python version, e.g. in pyproject.toml:

    requires-python = ">=3.11,<3.12"  # or a .python-version file""",
)
def versions(view: RepoView):
    found = read_manifests(view)
    tensorflow = [
        d for d in found.declared if d.name in {"tensorflow", "tensorflow-cpu", "tf-nightly", "keras", "tf-keras"}
    ]
    if not view.uses_tensorflow and not tensorflow:
        return not_applicable("The code does not use TensorFlow.")
    evidence: list[Location | Evidence] = [d.location for d in tensorflow[:1]]
    if found.python_version:
        evidence.append(found.python_version)
    if tensorflow and any(d.pinned for d in tensorflow) and found.python_version:
        return passed("TensorFlow's version and Python's version are both declared.", *evidence)
    missing = []
    if not tensorflow or not any(d.pinned for d in tensorflow):
        missing.append("an exact TensorFlow version")
    if not found.python_version:
        missing.append("the Python version")
    if len(missing) == 2:
        return failed(f"Missing: {' and '.join(missing)}.")
    return partial(f"Missing: {missing[0]}.", *evidence)


@check(
    "imports-declared",
    "Every third-party import is a declared dependency",
    "Dependencies",
    2,
    """Add each imported package to your manifest, e.g. `import sklearn` needs `scikit-learn==1.9.1`.""",
)
def imports_declared(view: RepoView):
    found = read_manifests(view)
    if not view.python_files:
        return not_applicable("No Python code.")
    if not found.sources:
        return failed("There is no manifest to declare imports in.")
    declared = set(found.names)
    for name in list(declared):
        declared |= PROVIDES.get(name, set())
    own = view.top_level_names
    first: dict[str, tuple[PythonFacts, int]] = {}  # each module once, where it is first imported
    for facts in view.python_files:
        for module, line in facts.imports.items():
            if module not in first:
                first[module] = (facts, line)
    missing: dict[str, Location] = {}
    for module, (facts, line) in first.items():
        root = module.split(".")[0]
        if root in view.stdlib or root in own or root.startswith("_"):
            continue
        distribution = distribution_for(module)
        if distribution not in declared and distribution not in missing:
            missing[distribution] = Location(facts.path, line, facts.snippet(line))
    if missing:
        return failed(f"Imported but not declared: {', '.join(sorted(missing))}.", *list(missing.values())[:10])
    return passed("Every third-party import is declared.")
