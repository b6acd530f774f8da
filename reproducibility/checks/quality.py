"""Quality: code that parses, configuration instead of constants, tests run by CI, clean notebooks and trees."""

from __future__ import annotations

import re

from reproducibility.checks import Evidence, check, failed, not_applicable, partial, passed
from reproducibility.repo_view import Location, RepoView

LARGE_FILE = 10 * 1024 * 1024
CONFIG_FILES = re.compile(r"(^|/)(conf|config|configs|hparams)[^/]*\.(ya?ml|json|gin|toml)$|\.gin$")
CONFIG_ENDINGS = (".yml", ".yaml", ".json", ".gin", ".toml")  # how every CONFIG_FILES match ends, tested first
TEST_FILE = re.compile(r"(^|/)(test_[^/]*|[^/]*_test)\.py$")


@check(
    "python-parses",
    "All Python code and notebooks parse",
    "Quality",
    2,
    """Fix the syntax errors listed; every file should pass `python -m py_compile`.""",
)
def parses(view: RepoView):
    if not any(e.suffix in (".py", ".ipynb") for e in view.files):
        return not_applicable("No Python code.")
    view.python_files  # parse everything once  # noqa: B018
    broken = [
        p for p in view.problems.values() if p.reason.startswith(("syntax error", "unparsable", "not a notebook"))
    ]
    if broken:
        return failed(
            f"{len(broken)} file(s) do not parse.", *[Evidence(p.path, p.line, p.reason) for p in broken[:10]]
        )
    return passed("Every Python file and notebook parses.")


@check(
    "hyperparameters-configurable",
    "Hyperparameters come from configuration, not constants",
    "Quality",
    2,
    """Expose hyperparameters as flags or a config file, e.g.
parser.add_argument("--learning-rate", type=float, default=1e-3)  # or absl flags, hydra, gin""",
)
def hyperparameters(view: RepoView):
    if not view.python_files:
        return not_applicable("No Python code.")
    mechanism = view.find_use(
        "argparse.ArgumentParser",
        "absl.flags",
        "hydra.main",
        "gin.configurable",
        "gin.parse_config_file",
        "click.option",
        "typer",
        "ml_collections",
        "omegaconf",
    )
    if mechanism:
        return passed("Hyperparameters are configurable.", mechanism)
    config_files = [e for e in view.files if e.path.endswith(CONFIG_ENDINGS) and CONFIG_FILES.search(e.path)]
    if config_files:
        return partial(
            "Config files exist, but no flags or config loader was found in code.",
            Evidence(config_files[0].path, 1),
        )
    hard_coded = [
        Location(f.path, int(key.rpartition(":")[2]), f.snippet(int(key.rpartition(":")[2])))
        for f in view.python_files
        for key, literal in f.keywords.items()
        if key.startswith(".fit:") and ({"epochs", "batch_size"} & set(literal))
    ]
    return failed("Hyperparameters are hard-coded.", *hard_coded[:5])


@check(
    "tests-and-ci",
    "Tests, and CI that runs them",
    "Quality",
    2,
    """Add tests (tests/test_*.py) and a CI workflow that runs them, e.g. .github/workflows/test.yml with
`run: python -m pytest`.""",
)
def tests_and_ci(view: RepoView):
    tests = [
        e
        for e in view.files
        if e.name.endswith(".py") and ("test_" in e.name or "_test" in e.name) and TEST_FILE.search(e.path)
    ]
    ci_files = [
        e
        for e in view.files
        if e.path.startswith(".github/workflows/")
        or e.name in (".gitlab-ci.yml", ".travis.yml", "azure-pipelines.yml", "Jenkinsfile", ".circleci/config.yml")
    ]
    runs_tests = [e for e in ci_files if re.search(r"pytest|unittest|tox|nox|make test", view.text(e.path) or "")]
    if tests and runs_tests:
        return passed(f"{len(tests)} test file(s), run by {runs_tests[0].path}.", Evidence(runs_tests[0].path, 1))
    if tests:
        return partial(f"{len(tests)} test file(s), but no CI runs them.", Evidence(tests[0].path, 1))
    if ci_files:
        return partial("CI is configured, but there are no tests.", Evidence(ci_files[0].path, 1))
    return failed("No tests and no CI.")


@check(
    "notebook-hygiene",
    "Notebooks are clean: run in order, no errors, small",
    "Quality",
    1,
    """Restart and run notebooks top to bottom before committing, or strip outputs (nbstripout).""",
)
def notebooks(view: RepoView):
    paths = [e.path for e in view.files if e.suffix == ".ipynb"]
    if not paths:
        return not_applicable("No notebooks.")
    issues: list[Evidence] = []
    for path in paths:
        notebook = view.notebook(path)
        if notebook is None:
            issues.append(Evidence(path, 0, "not a valid notebook"))
            continue
        counts = [
            c.get("execution_count") for c in notebook["cells"] if isinstance(c, dict) and c.get("cell_type") == "code"
        ]
        ran = [n for n in counts if isinstance(n, int)]
        if ran and ran != sorted(ran):
            issues.append(Evidence(path, 0, "cells were run out of order"))
        for index, cell in enumerate(notebook["cells"]):
            outputs = cell.get("outputs", []) if isinstance(cell, dict) else []
            if any(isinstance(o, dict) and o.get("output_type") == "error" for o in outputs):
                issues.append(Evidence(f"{path}#cell-{index}", 0, "the saved output is an error"))
                break
    if issues:
        return failed(f"{len(issues)} notebook problem(s).", *issues[:10])
    return passed(f"{len(paths)} notebook(s) run in order without errors.")


@check(
    "repository-hygiene",
    "No large binaries, compiled files or unreadable files in the repository",
    "Quality",
    1,
    """Keep data and weights out of git (use releases, Git LFS or a download script); add __pycache__/ and
*.pyc to .gitignore.""",
)
def hygiene(view: RepoView):
    issues = [Evidence(e.path, 0, f"{e.size / 1024 / 1024:.1f} MB") for e in view.files if e.size > LARGE_FILE]
    issues += [Evidence(e.path, 0, "compiled Python") for e in view.files if e.suffix in (".pyc", ".pyo")]
    issues += [
        Evidence(e.path, 0, "symbolic link pointing outside the repository")
        for e in view.files
        if e.is_symlink and not _link_inside(view, e.path)
    ]
    if issues:
        return failed(f"{len(issues)} file(s) do not belong in the repository.", *issues[:10])
    return passed("No large binaries, compiled files or links out of the tree.")


def _link_inside(view: RepoView, path: str) -> bool:
    target = (view.root / path).resolve()
    return target == view.root or view.root in target.parents
