"""Dependencies by mechanism: manifests in any folder and format (setup.py read by its syntax tree),
pins and lock files, TensorFlow and Python versions from manifests, Dockerfiles and README prose,
and imports resolved against the repository's own modules and an idiom table of distributions."""

from __future__ import annotations

import pytest

from reproducibility.checks import REGISTRY, Status, all_checks
from reproducibility.repo_view import RepoView

all_checks()
TF = "import tensorflow as tf\n"


def run(make_repo, check_id: str, files: dict):
    return REGISTRY[check_id].run(RepoView(make_repo(files)))


# --- dependency-manifest -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "files",
    [
        {"tools/requirements-gpu.txt": "numpy==2.0\n"},
        {"setup.py": "from setuptools import setup\nsetup(name='x', install_requires=['numpy>=1'])\n"},
        {"setup.py": "from setuptools import setup\nDEPS = ['numpy']\nsetup(install_requires=DEPS)\n"},
        {"setup.cfg": "[options]\ninstall_requires =\n    numpy\n"},
        {"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.11"\nnumpy = "^2.0"\n'},
        {"envs/environment-gpu.yml": "dependencies:\n  - numpy=2.0\n"},
        {"conda-cpu.yml": "name: x\ndependencies:\n  - numpy=2.0\n"},
        {"poetry.lock": '[[package]]\nname = "numpy"\nversion = "2.0"\n'},
    ],
    ids=["subfolder", "setup.py", "setup.py-name", "setup.cfg", "poetry", "conda", "conda-name", "lock"],
)
def test_a_manifest_in_any_folder_and_format_passes(make_repo, files):
    result = run(make_repo, "dependency-manifest", files)
    assert result.status == Status.PASS, result.reason


def test_install_commands_in_a_readme_are_no_manifest(make_repo):
    result = run(make_repo, "dependency-manifest", {"README.md": "```\npip install tensorflow==2.15\n```\n"})
    assert result.status == Status.FAIL and "instructions" in result.reason


def test_a_requirement_line_pip_would_refuse_is_partial(make_repo):
    result = run(make_repo, "dependency-manifest", {"requirements.txt": "numpy==2.0\ntensorflow gpu 1.4\n"})
    assert result.status == Status.PARTIAL and "not a requirement" in result.reason


def test_a_ci_workflow_named_conda_is_no_environment(make_repo):
    files = {".github/workflows/conda.yml": "on: push\njobs: {}\n", "conda.yml": "on: push\n"}
    assert run(make_repo, "dependency-manifest", files).status == Status.FAIL


# --- dependency-pinning ------------------------------------------------------------------------


def test_no_manifest_at_all_fails_pinning_rather_than_not_applying(make_repo):
    result = run(make_repo, "dependency-pinning", {"train.py": TF})
    assert result.status == Status.FAIL and "No manifest" in result.reason


@pytest.mark.parametrize(
    ("files", "status"),
    [
        ({"requirements.txt": "numpy==2.0 --hash=sha256:aa\n"}, Status.PASS),
        (
            {
                "requirements.txt": "numpy==2.0\n",
                "setup.py": "from setuptools import setup\nsetup(install_requires=['six==1.16'])\n",
            },
            Status.PARTIAL,
        ),
        ({"requirements.txt": "numpy~=2.0\n"}, Status.FAIL),
        (
            {
                "setup.py": "from setuptools import setup\n"
                "setup(install_requires=['numpy'], extras_require={'t': ['pytest==8']})\n"
            },
            Status.FAIL,
        ),
        ({"requirements.txt": "git+https://example.org/org/tool.git@" + "a" * 40 + "#egg=tool\n"}, Status.PARTIAL),
        ({"requirements.txt": "git+https://example.org/org/tool.git#egg=tool\n"}, Status.FAIL),
        ({"pyproject.toml": '[tool.poetry.dependencies]\nnumpy = "2.0.1"\n'}, Status.PARTIAL),
    ],
    ids=[
        "hashes",
        "all-exact",
        "compatible-release",
        "setup.py-unversioned",
        "vcs-at-commit",
        "vcs-branch",
        "poetry-bare",
    ],
)
def test_pins_are_read_from_every_manifest(make_repo, files, status):
    result = run(make_repo, "dependency-pinning", files)
    assert result.status == status, result.reason


# --- versions-declared -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "files",
    [
        {"README.md": "# Model\n\nThe code was tested with TensorFlow 1.11 and Python 3.6.\n"},
        {"README.md": "## Requirements\n\n* tensorflow-gpu 1.4\n* python 2.7\n"},
        {
            "README.md": "![python](https://img.shields.io/badge/python-3.7-blue.svg) ![tf](https://img.shields.io/badge/tensorflow-1.15-orange.svg)\n"
        },
        {"Dockerfile": "FROM tensorflow/tensorflow:2.15.0-gpu\n", ".python-version": "3.11.4\n"},
        {"docker/train.Dockerfile": "ARG BASE=python:3.8-slim\nFROM ${BASE}\nRUN pip install tensorflow==2.4.1\n"},
        {"requirements.txt": "tensorflow-gpu>=2.4,<2.5\n", "runtime.txt": "python-3.8.10\n"},
        {
            "requirements.txt": "tf-nightly==2.16.0.dev20240101\n",
            "setup.py": "from setuptools import setup\nsetup(python_requires='>=3.9')\n",
        },
        {
            "requirements.txt": "tensorflow==1.15\n",
            "setup.py": "from setuptools import setup\nsetup(classifiers=['Programming Language :: Python :: 3.7'])\n",
        },
        {
            "pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.10"\n'
            'dependencies = ["tensorflow~=2.13.0"]\n'
        },
        {"environment.yml": "dependencies:\n  - python=3.7\n  - tensorflow-gpu=1.15\n"},
        {"README.md": "Install:\n\n    conda create -n tf python=3.6\n    pip install tensorflow==1.15.0\n"},
    ],
    ids=[
        "prose",
        "list",
        "badges",
        "image-tag",
        "arg-image",
        "closed-range",
        "python-requires",
        "classifier",
        "pyproject",
        "conda",
        "commands",
    ],
)
def test_tensorflow_and_python_versions_are_found_wherever_they_are_written(make_repo, files):
    result = run(make_repo, "versions-declared", {"train.py": TF, **files})
    assert result.status == Status.PASS, result.reason


@pytest.mark.parametrize(
    "readme",
    [
        "Requires TensorFlow >= 2.0 and Python 3.8.\n",
        "Works with TensorFlow 2.x on Python 3.8.\n",
        "Starting with TensorFlow 2.1 the GPU build is included. Use Python 3.8.\n",
        "Use TensorFlow 2.3+ and Python 3.8.\n",
        "Tested on Python 3.8.\n\n1. Rewritten around the\n   TensorFlow 1.2 data iterator\n",
    ],
    ids=["open-bound", "major-only", "starting-with", "plus", "mention-in-passing"],
)
def test_an_open_or_passing_tensorflow_mention_is_no_release_line(make_repo, readme):
    result = run(make_repo, "versions-declared", {"train.py": TF, "README.md": readme})
    assert result.status == Status.PARTIAL and "Python (" in result.reason, result.reason


def test_python_3_alone_is_no_minor_version(make_repo):
    files = {"train.py": TF, "requirements.txt": "tensorflow==2.15.0\n", "README.md": "Needs Python 3.\n"}
    result = run(make_repo, "versions-declared", files)
    assert result.status == Status.PARTIAL and "no Python minor version" in result.reason


def test_an_open_lower_bound_in_a_manifest_names_no_release(make_repo):
    result = run(make_repo, "versions-declared", {"train.py": TF, "requirements.txt": "tensorflow>=2.0\n"})
    assert result.status == Status.FAIL and "tensorflow>=2.0" in result.reason


def test_standalone_keras_code_may_declare_the_keras_release(make_repo):
    files = {"train.py": "import keras\n", "requirements.txt": "keras==2.3.1\n", ".python-version": "3.7\n"}
    assert run(make_repo, "versions-declared", files).status == Status.PASS


def test_versions_do_not_apply_without_tensorflow(make_repo):
    assert run(make_repo, "versions-declared", {"t.py": "import numpy\n"}).status == Status.NOT_APPLICABLE


# --- imports-declared --------------------------------------------------------------------------


def test_a_sibling_module_in_a_subfolder_is_the_repositorys_own(make_repo):
    files = {
        "gan/train.py": "import ops\nfrom layers.conv import block\nimport numpy\n",
        "gan/ops.py": "",
        "gan/layers/conv.py": "",
        "requirements.txt": "numpy==2.0\n",
    }
    result = run(make_repo, "imports-declared", files)
    assert result.status == Status.PASS, result.reason


@pytest.mark.parametrize(
    ("source", "manifest"),
    [
        ("import keras\n", "tensorflow==2.15\n"),
        ("import tensorflow as tf\n", "tensorflow-gpu==1.15\n"),
        ("import tensorflow as tf\n", "tf-nightly\n"),
        ("import tensorflow as tf\n", "tensorflow-cpu==2.15\n"),
        (
            "import cv2\nimport sklearn.metrics\nfrom PIL import Image\nimport yaml\n",
            "opencv-python-headless\nscikit-learn\npillow\nPyYAML\n",
        ),
        ("import urllib2\nimport cPickle\nfrom google.colab import drive\n", "numpy\n"),
    ],
    ids=["keras-by-tensorflow", "tensorflow-gpu", "tf-nightly", "tensorflow-cpu", "renamed", "python2-and-colab"],
)
def test_imports_are_satisfied_by_the_distributions_that_provide_them(make_repo, source, manifest):
    result = run(make_repo, "imports-declared", {"t.py": source, "deps/requirements.txt": manifest})
    assert result.status == Status.PASS, result.reason


def test_setup_py_install_requires_is_read_by_its_syntax_tree(make_repo):
    setup = (
        "from setuptools import setup, find_packages\n"
        "tf = 'tensorflow'\n"
        "version = '>=2.0'\n"
        "setup(install_requires=[tf + version, 'numpy'], extras_require={'test': ['pytest']})\n"
    )
    files = {
        "setup.py": setup,
        "pkg/model.py": "import tensorflow\nimport numpy\n",
        "tests/test_m.py": "import pytest\n",
    }
    result = run(make_repo, "imports-declared", files)
    assert result.status == Status.PASS, result.reason


def test_a_dependency_of_a_dependency_is_not_a_declaration(make_repo):
    result = run(make_repo, "imports-declared", {"t.py": "import numpy\n", "requirements.txt": "tensorflow==2.15\n"})
    assert result.status == Status.FAIL and "numpy" in result.reason


def test_imports_without_any_manifest_fail(make_repo):
    result = run(make_repo, "imports-declared", {"t.py": "import numpy\n"})
    assert result.status == Status.FAIL and "no manifest" in result.reason
