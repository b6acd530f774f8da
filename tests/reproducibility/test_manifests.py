"""Manifests read by real parsers: conda specs as conda means them, hostile shapes ignored, and a
manifest that does not parse named with its reason."""

from __future__ import annotations

import pytest

from reproducibility.checks import REGISTRY, Status, all_checks
from reproducibility.manifests import read_manifests, requirement_lines
from reproducibility.repo_view import RepoView
from reproducibility.scoring import score_tree

all_checks()

ENVIRONMENT = """name: digits
channels: [conda-forge]
dependencies:
  - python=3.11
  - numpy=1.26.4
  - conda-forge::scipy=1.13.1=py311h64a7726_0
  - scikit-learn 1.5.2
  - pip
  - pip:
    - tensorflow==2.21.0
    - tf-keras==2.21.0
"""


def run(make_repo, check_id, files):
    return REGISTRY[check_id].run(RepoView(make_repo(files)))


def test_an_environment_file_gives_conda_and_pip_dependencies_and_the_python_version(make_repo):
    found = read_manifests(RepoView(make_repo({"environment.yml": ENVIRONMENT})))
    pins = {d.name: d.pinned for d in found.declared}
    assert pins == {
        "numpy": True,
        "scipy": True,
        "scikit-learn": True,
        "pip": False,
        "tensorflow": True,
        "tf-keras": True,
    }
    assert found.python_version and found.python_version.line == 4
    assert found.sources == ["environment.yml"]


@pytest.mark.parametrize("spec", ["numpy>=1.20", "numpy", "numpy=1.26.*", "numpy>=1.2,<2", "numpy=1.2|1.3", "numpy<2"])
def test_a_conda_range_is_not_a_pin(make_repo, spec):
    result = run(make_repo, "dependency-pinning", {"environment.yml": f"dependencies:\n  - {spec}\n"})
    assert result.status == Status.FAIL, (spec, result.reason)


def test_an_environment_file_that_does_not_parse_is_named_with_its_reason(make_repo):
    result = run(make_repo, "dependency-manifest", {"environment.yml": "dependencies:\n  - numpy\n  - [unclosed\n"})
    assert result.status == Status.FAIL and "environment.yml does not parse" in result.reason, result.reason
    assert result.evidence[0].path == "environment.yml" and result.evidence[0].snippet.startswith("invalid YAML")


def test_a_broken_manifest_beside_a_good_one_is_partial(make_repo):
    result = run(make_repo, "dependency-manifest", {"requirements.txt": "numpy==2.0\n", "pyproject.toml": "[project\n"})
    assert result.status == Status.PARTIAL and "pyproject.toml does not parse" in result.reason, result.reason


def test_manifests_of_the_wrong_shape_crash_nothing(make_repo):
    scored = score_tree(
        make_repo(
            {
                "t.py": "import numpy\n",
                "pyproject.toml": 'project = "x"\n[tool]\npoetry = 5\n',
                "sub/pyproject.toml": "[project]\ndependencies = 5\nrequires-python = '>=3.11'\n"
                "[tool.poetry]\ndependencies = ['numpy']\n",
                "other/pyproject.toml": "[tool.poetry.dependencies]\nnumpy = {version = 1}\n",
                "Pipfile": "packages = ['numpy']\nrequires = 'x'\n",
                "environment.yml": "dependencies: numpy\n",
                "e2/environment.yml": "- a list\n",
                "e3/environment.yml": "dependencies:\n  - {pip: numpy}\n  - 5\n",
            }
        )
    )
    statuses = {o.check.id: o.result.status for o in scored.outcomes}
    assert Status.ERROR not in statuses.values(), statuses


def test_requirement_lines_keep_the_line_each_requirement_starts_on():
    text = "numpy==1.26.4 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n# comment\nscipy==1.13.1  # inline\n"
    found = requirement_lines(text, "requirements.txt")
    assert [(d.name, d.pinned, d.hashed, d.location.line) for d in found] == [
        ("numpy", True, True, 1),
        ("scipy", True, False, 5),
    ]
