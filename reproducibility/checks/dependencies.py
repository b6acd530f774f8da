"""Dependencies: a manifest, pinned versions, declared TF/Python versions, every import declared."""

from __future__ import annotations

from packaging.utils import canonicalize_name

from reproducibility.checks import Evidence, Result, Status, check, failed, not_applicable, partial, passed
from reproducibility.declared_versions import declared_versions, tensorflow_declarations
from reproducibility.import_names import PYTHON2_STDLIB, is_environment_module, providers
from reproducibility.lock_files import LockFile, read_lock_files
from reproducibility.manifests import Declared, read_manifests
from reproducibility.repo_view import Location, RepoView

# What setup.py imports to build the package is the build backend's, not a runtime dependency.
BUILD_MODULES = frozenset({"setuptools", "distutils", "pkg_resources"})
_MODULE_SUFFIXES = (".py", ".pyx", ".pyi", ".so", ".pyd")


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
    sources = ", ".join(found.sources[:6]) + (f" and {len(found.sources) - 6} more" if len(found.sources) > 6 else "")
    if found.sources and unreadable:
        return partial(f"Dependencies declared in {sources}, but {broken}.", *unreadable)
    if found.sources:
        return passed(f"Dependencies declared in {sources}.", *[Evidence(s, 1) for s in found.sources[:10]])
    if unreadable:
        return failed(f"No manifest can be read: {broken}.", *unreadable)
    return failed(
        "No manifest: no requirements*.txt, setup.py install_requires, setup.cfg, pyproject.toml, Pipfile, "
        "conda environment file or lock file (install commands in a README are instructions, not a manifest)."
    )


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
        if found.sources:
            return failed(f"{', '.join(found.sources[:3])} declares no version of anything.")
        return failed("No manifest, so no version is pinned: every install resolves to whatever is newest.")
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
        examples = ", ".join(f"{d.name}{d.specifier or ' (no version)'}" for d in unpinned[:4])
        return failed(
            f"{len(unpinned)} of {len(declared)} dependencies have no exact version, e.g. {examples}.",
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
    """Declare the TensorFlow release and the Python version, e.g. `tensorflow==2.21.0` in requirements.txt
and `requires-python = ">=3.11,<3.12"` in pyproject.toml (or a .python-version file).""",
)
def versions(view: RepoView):
    if not view.uses_tensorflow and not tensorflow_declarations(view):
        return not_applicable("The code does not use TensorFlow or Keras.")
    found = declared_versions(view)
    evidence: list[Location | Evidence] = [d.location for d in (found.tensorflow, found.python) if d]
    if found.tensorflow and found.python:
        return passed(
            f"TensorFlow ({found.tensorflow.version}) and Python ({found.python.version}) are both declared.",
            *evidence,
        )
    tensorflow = "no TensorFlow release is named"
    if found.open_tensorflow and not found.tensorflow:
        loose = found.open_tensorflow
        tensorflow = (
            f"TensorFlow appears only as `{loose.version}` ({loose.location.path}:{loose.location.line}): no "
            "release line (an open lower bound, no version, or a mention in passing)"
        )
        evidence.append(loose.location)
    if found.tensorflow:
        return partial(
            f"TensorFlow ({found.tensorflow.version}) is declared, but no Python minor version (3.x alone does "
            "not say which wheels exist).",
            *evidence,
        )
    if found.python:
        return partial(f"Python ({found.python.version}) is declared, but {tensorflow}.", *evidence)
    return failed(f"Neither is declared: {tensorflow}, and no Python minor version is named.", *evidence)


@check(
    "imports-declared",
    "Every third-party import is a declared dependency",
    "Dependencies",
    2,
    """Add each imported package to your manifest, e.g. `import sklearn` needs `scikit-learn==1.9.1`.""",
)
def imports_declared(view: RepoView):
    if not view.python_files:
        return not_applicable("No Python code.")
    found = read_manifests(view)
    declared = found.names | {canonicalize_name(p.name) for lock in read_lock_files(view) for p in lock.packages}
    own = own_modules(view)
    first = view.first_imports  # each module once, where it is first imported
    missing: dict[str, tuple[str, Location]] = {}  # distribution -> (module, where it is first imported)
    for module, (facts, line) in first.items():
        root = module.split(".")[0]
        if root in view.stdlib or root in PYTHON2_STDLIB or root in own or root.startswith("_"):
            continue
        if is_environment_module(module) or (root in BUILD_MODULES and facts.path.endswith("setup.py")):
            continue
        options = providers(module)
        if options[0] not in missing and not any(p in declared for p in options):
            missing[options[0]] = (root, Location(facts.path, line, facts.snippet(line)))
    named = [f"{root} ({dist})" if canonicalize_name(root) != dist else dist for dist, (root, _) in missing.items()]
    listed = ", ".join(sorted(named)[:12]) + (f" and {len(named) - 12} more" if len(named) > 12 else "")
    if not found.sources:
        return failed(f"There is no manifest to declare the imports in ({listed or 'none found'}).")
    if missing:
        return failed(f"Imported but not declared: {listed}.", *[at for _, at in list(missing.values())[:10]])
    return passed("Every third-party import is declared in a manifest.")


def own_modules(view: RepoView) -> set[str]:
    """Every module or package name of the repository itself, in any folder: a script in a subfolder
    imports its sibling `ops.py` by bare name, and a folder of Python files is a package."""

    def collect() -> set[str]:
        names: set[str] = set()
        folders: set[str] = set()
        for entry in view.files:
            if not entry.name.endswith(_MODULE_SUFFIXES):
                continue
            names.add(entry.name.split(".", 1)[0])
            folder = entry.path[: -len(entry.name)]
            if folder not in folders:  # a folder's parts once, not once per file in it
                folders.add(folder)
                names.update(folder.split("/")[:-1])
        return names

    return view.memo("own-modules", collect)
