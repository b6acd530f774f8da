"""Dependencies: a manifest, pinned versions, declared TF/Python versions, every import declared."""

from __future__ import annotations

from reproducibility.checks import Evidence, check, failed, not_applicable, partial, passed
from reproducibility.manifests import PROVIDES, distribution_for, read_manifests
from reproducibility.repo_view import Location, RepoView


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
    if found.sources:
        return passed(f"Dependencies declared in {', '.join(found.sources)}.", *[Evidence(s, 1) for s in found.sources])
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
    if not found.declared and not found.lock_files:
        return not_applicable("No dependencies declared.")
    if found.lock_files:
        return passed(f"Lock file {', '.join(found.lock_files)} pins every version.", Evidence(found.lock_files[0], 1))
    unpinned = [d for d in found.declared if not d.pinned]
    if unpinned:
        return failed(
            f"{len(unpinned)} of {len(found.declared)} dependencies have no exact version.",
            *[d.location for d in unpinned[:10]],
        )
    if all(d.hashed for d in found.declared):
        return passed("Every dependency is pinned with hashes.", found.declared[0].location)
    return partial("Every dependency is pinned with ==, but without hashes or a lock file.", found.declared[0].location)


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
    missing: dict[str, Location] = {}
    for facts in view.python_files:
        for module, line in facts.imports.items():
            root = module.split(".")[0]
            if root in view.stdlib or root in own or root.startswith("_"):
                continue
            distribution = distribution_for(module)
            if distribution not in declared and distribution not in missing:
                missing[distribution] = Location(facts.path, line, facts.snippet(line))
    if missing:
        return failed(f"Imported but not declared: {', '.join(sorted(missing))}.", *list(missing.values())[:10])
    return passed("Every third-party import is declared.")
