"""Quality: code that parses as IPython runs it, hyperparameters from configuration, tests run by CI,
notebooks saved in order, a clean tree."""

from __future__ import annotations

import json
import os

import pytest

from reproducibility.checks import REGISTRY, Status
from reproducibility.checks.quality import python_parses
from reproducibility.ipython import ipython_as_python
from reproducibility.repo_view import RepoView

TF = "import tensorflow as tf\n"


def code_cell(source: str, count: int | None = None, outputs: list | None = None) -> dict:
    return {"cell_type": "code", "source": source, "metadata": {}, "execution_count": count, "outputs": outputs or []}


def notebook(*cells: dict, padding: int = 0) -> str:
    """A notebook of these cells; `padding` bytes of saved output make it as large as real ones get."""
    if padding:
        cells = (*cells, {"cell_type": "markdown", "source": "x" * padding, "metadata": {}})
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": list(cells)})


ERROR = {"output_type": "error", "ename": "ValueError", "evalue": "", "traceback": []}
BIG = 3 * 1024 * 1024  # over the view's parse cap


# --- python-parses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"t.py": "x = 1\n"}, Status.PASS),
        ({"t.py": "print 'hello'\n"}, Status.FAIL),  # Python 2
        ({"t.py": "try:\n    pass\nexcept Exception, e:\n    pass\n"}, Status.FAIL),
        ({"t.py": "\ufeffimport os\nx = 1\n"}, Status.PASS),  # a UTF-8 byte-order mark, which Python accepts
        ({"t.py": "x = 1\uff0c 2\n"}, Status.FAIL),  # a full-width comma
        ({"README.md": "# no code\n"}, Status.NOT_APPLICABLE),
    ],
)
def test_python_files_parse_as_python_3(status_of, files, expected):
    assert status_of("python-parses", files) == expected


@pytest.mark.parametrize(
    "source",
    [
        "%matplotlib inline\nimport os",
        "if True:\n    %pip install -q extra\nx = 1",  # a magic as a block's only statement
        "!python train.py \\\n  --epochs=3 \\\n  --lr=0.1\nx = 1",  # a shell escape continued by backslashes
        "%%bash\nfor f in *.csv; do echo $f; done",  # a cell in another language
        "%%writefile model.proto\nsyntax = 'proto3';",
        "%%capture\nif True:\n  !pip install tf-keras",  # a cell magic whose body is Python
        " # indented like a pasted block\n !ls\n x = 1",  # IPython removes the first line's indentation
        "pip install spleeter",  # automagic
        "files = !ls\nx = %env HOME",
        "len?",
    ],
)
def test_ipython_syntax_in_notebook_cells_is_read_as_ipython_reads_it(status_of, source):
    assert python_parses(ipython_as_python(source))
    assert status_of("python-parses", {"nb.ipynb": notebook(code_cell(source))}) == Status.PASS


def test_automagic_never_hides_python():
    assert ipython_as_python("cd = 1\nls -x") == "cd = 1\nls -x"  # an assignment, a subtraction
    opened = "env = load(\n    name,\n)"  # a statement over several lines: its first line alone does not parse
    assert ipython_as_python(opened) == opened


@pytest.mark.parametrize(
    "files",
    [
        {"nb.ipynb": notebook(code_cell("print 'a'"))},
        {"nb.ipynb": notebook(code_cell("def f(:\n    pass"))},
        {"nb.ipynb": "{not json"},
        {"nb.ipynb": notebook(code_cell("print 'a'"), padding=BIG)},  # too large for the view: read here
        {  # nbformat 3 keeps cells in worksheets and code in "input"
            "nb.ipynb": json.dumps(
                {"nbformat": 3, "worksheets": [{"cells": [{"cell_type": "code", "input": "print 'a'"}]}]}
            )
        },
    ],
)
def test_notebooks_that_do_not_parse_fail(status_of, files):
    assert status_of("python-parses", files) == Status.FAIL


def test_a_large_or_old_notebook_that_parses_passes(status_of):
    old = {"nbformat": 3, "worksheets": [{"cells": [{"cell_type": "code", "input": "x = 1"}]}]}
    assert status_of("python-parses", {"a.ipynb": notebook(code_cell("x = 1"), padding=BIG)}) == Status.PASS
    assert status_of("python-parses", {"b.ipynb": json.dumps(old)}) == Status.PASS


# --- hyperparameters-configurable ----------------------------------------------------------------

FIT = TF + "model.fit(x, epochs=10, batch_size=32)\n"


@pytest.mark.parametrize(
    "source",
    [
        "import argparse\np = argparse.ArgumentParser()\np.add_argument('--lr', type=float, default=0.1)\n",
        "import argparse\np = argparse.ArgumentParser()\np.add_argument(\n    '--batch-size',\n    type=int)\n",
        "from absl import flags\nflags.DEFINE_float('learning_rate', 0.1, 'Step size.')\n",
        TF + "tf.app.flags.DEFINE_integer('num_epochs', 5, 'Epochs.')\n",
        TF + "tf.flags.DEFINE_integer('hidden_units', 5, 'Units.')\n",
        TF + "flags = tf.app.flags\nflags.DEFINE_float('dropout', 0.5, 'Dropout.')\n",
        "import tensorflow.compat.v1 as tf\ntf.flags.DEFINE_integer('max_steps', 5, 'Steps.')\n",
        "import optparse\np = optparse.OptionParser()\np.add_option('--momentum', type=float)\n",
        "import click\n@click.command()\n@click.option('--lr')\ndef main(lr):\n    pass\n",
        "import typer\napp = typer.Typer()\n",
        "import fire\ndef main(lr=0.1):\n    pass\nfire.Fire(main)\n",
        "import hydra\n@hydra.main(config_path='conf')\ndef main(cfg):\n    pass\n",
        "import gin\n@gin.configurable\ndef train(lr=0.1):\n    pass\n",
        "from ml_collections import config_flags\nconfig_flags.DEFINE_config_file('config')\n",
        "from omegaconf import OmegaConf\ncfg = OmegaConf.load('experiment.yaml')\n",
        "import yaml\nwith open(path) as f:\n    config = yaml.safe_load(f)\n",
        "import json\nparams = json.load(open('hparams.json'))\n",
        "from model import ModelConfig\nconfig = ModelConfig.from_json_file(args.config_file)\n",
    ],
)
def test_flags_and_config_files_make_hyperparameters_configurable(status_of, source):
    assert status_of("hyperparameters-configurable", {"train.py": source}) == Status.PASS


def test_flags_of_a_wrapper_of_the_projects_own_count(status_of):
    files = {
        "lib/args.py": "import argparse\nPARSER = argparse.ArgumentParser()\ndef arg(*a, **k):\n"
        "    PARSER.add_argument(*a, **k)\n",
        "train.py": "import lib.args as a\na.arg('--epochs', type=int, default=3)\n",
    }
    assert status_of("hyperparameters-configurable", files) == Status.PASS


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"config.py": "LEARNING_RATE = 1e-3\nBATCH_SIZE = 32\n", "train.py": FIT}, Status.PARTIAL),
        ({"core/cfg.py": "__C.TRAIN.LR_INIT = 1e-3\n", "train.py": FIT}, Status.PARTIAL),
        ({"model.py": "class TrainConfig:\n    batch_size = 32\n", "train.py": FIT}, Status.PARTIAL),
        # every ending of a config class's name, the ones holding no shorter word too (Hyperparameters)
        ({"model.py": "class Hyperparameters:\n    batch_size = 32\n", "train.py": FIT}, Status.PARTIAL),
        ({"model.py": "class GANOptions(object):\n    lr = 2e-4\n", "train.py": FIT}, Status.PARTIAL),
        # a class inside a function or a class body is no module-level place to edit
        ({"model.py": "def f():\n    class TrainConfig:\n        lr = 1\n", "train.py": FIT}, Status.FAIL),
        ({"model.py": "class A:\n    lr = 1\nclass ConfigError(Exception):\n    pass\n", "train.py": FIT}, Status.FAIL),
        ({"train.py": "from easydict import EasyDict\nopt = EasyDict(beta1=0.9, beta2=0.99)\n"}, Status.PARTIAL),
        ({"configs/base.yaml": "lr: 0.1\n", "train.py": FIT}, Status.PARTIAL),  # a config file no code reads
        # fields declared empty, and a function's local variables, are no constants gathered to edit
        ({"model.py": "class BertConfig:\n    hidden_size = None\n    def f(self):\n        lr = 1\n"}, Status.FAIL),
        # flags for paths and modes only: the hyperparameters stay literals
        (
            {"train.py": "import argparse\np = argparse.ArgumentParser()\np.add_argument('--data_dir')\n" + FIT},
            Status.FAIL,
        ),
        ({"docs/conf.py": "project = 'x'\nhtml_theme = 'alabaster'\n", "train.py": FIT}, Status.FAIL),
        ({"setup.cfg": "[metadata]\nname = x\n", "train.py": FIT}, Status.FAIL),
        (
            {"train.py": FIT, "tests/test_cli.py": "from absl import flags\nflags.DEFINE_float('lr', 1, '')\n"},
            Status.FAIL,
        ),
        ({"README.md": "# x\n"}, Status.NOT_APPLICABLE),
    ],
)
def test_constants_gathered_to_edit_are_partial_and_literals_fail(status_of, files, expected):
    assert status_of("hyperparameters-configurable", files) == expected


# --- tests-and-ci --------------------------------------------------------------------------------

TESTS = {"tests/test_model.py": "def test_model():\n    assert True\n"}


@pytest.mark.parametrize(
    "ci",
    [
        {".github/workflows/ci.yml": "jobs:\n  t:\n    steps:\n      - run: python -m pytest\n"},
        {".travis.yml": "script: py.test tests/\n"},
        {".gitlab-ci.yml": "test:\n  script: nosetests -v\n"},
        {".circleci/config.yml": "jobs:\n  test:\n    steps:\n      - run: python -m unittest discover\n"},
        {"azure-pipelines.yml": "steps:\n- script: tox\n"},
        {"appveyor.yml": "test_script:\n  - nox\n"},
        {"Jenkinsfile": "pipeline { stages { stage('t') { steps { sh 'make test' } } } }\n"},
        {".travis.yml": "script:\n  - python setup.py test\n"},
        {".travis.yml": "script: bash ci/run.sh\n", "ci/run.sh": "set -e\npytest -x\n"},  # through a script
        {".travis.yml": "script: make ci\n", "Makefile": "ci:\n\tpython -m pytest\n"},  # through the Makefile
        {".github/workflows/t.yaml": "jobs:\n  t:\n    steps:\n      - run: python tests/test_model.py\n"},
    ],
)
def test_ci_that_runs_the_tests_passes(status_of, ci):
    assert status_of("tests-and-ci", {**TESTS, **ci}) == Status.PASS


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (TESTS, Status.PARTIAL),  # tests, no CI
        ({"model_test.py": "def test():\n    pass\n"}, Status.PARTIAL),
        ({**TESTS, ".travis.yml": "script: flake8 .\n"}, Status.PARTIAL),  # CI that only lints
        ({".github/workflows/ci.yml": "jobs:\n  t:\n    steps:\n      - run: pytest\n"}, Status.PARTIAL),  # no tests
        ({".github/ISSUE_TEMPLATE.md": "x\n", "test.py": "print(1)\n"}, Status.FAIL),  # test.py is no test file
        ({"train.py": "x = 1\n"}, Status.FAIL),
    ],
)
def test_tests_without_ci_or_ci_without_tests_is_partial(status_of, files, expected):
    assert status_of("tests-and-ci", files) == expected


# --- notebook-hygiene ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ([code_cell("a", 1), code_cell("b", 2), code_cell("c", 5)], Status.PASS),
        ([code_cell("a"), code_cell("b")], Status.PASS),  # never run
        ([code_cell("a", 0), code_cell("b", 3), code_cell("c", 0), code_cell("d", 4)], Status.PASS),  # Colab's 0
        ([code_cell("a", 2), code_cell("b", 1)], Status.FAIL),
        ([code_cell("a", 1), code_cell("b", 1)], Status.FAIL),  # one count twice: a cell run again
        ([code_cell("a", 1, [ERROR])], Status.FAIL),
    ],
)
def test_notebooks_ran_in_order_without_saved_errors(status_of, cells, expected):
    assert status_of("notebook-hygiene", {"nb.ipynb": notebook(*cells)}) == expected


def test_invalid_large_and_old_notebooks_are_judged_too(status_of):
    late = notebook(code_cell("a", 2), code_cell("b", 1), padding=BIG)
    old = {"nbformat": 3, "worksheets": [{"cells": [{"cell_type": "code", "input": "1/0", "outputs": [
        {"output_type": "pyerr", "ename": "ZeroDivisionError"}]}]}]}  # fmt: skip
    assert status_of("notebook-hygiene", {"nb.ipynb": "{not json"}) == Status.FAIL
    assert status_of("notebook-hygiene", {"nb.ipynb": late}) == Status.FAIL
    assert status_of("notebook-hygiene", {"nb.ipynb": notebook(code_cell("a", 1), padding=BIG)}) == Status.PASS
    assert status_of("notebook-hygiene", {"nb.ipynb": json.dumps(old)}) == Status.FAIL
    assert status_of("notebook-hygiene", {"t.py": "x = 1\n"}) == Status.NOT_APPLICABLE


# --- repository-hygiene --------------------------------------------------------------------------


def test_large_compiled_and_escaping_files_fail(status_of, make_repo, tmp_path):
    assert status_of("repository-hygiene", {"t.py": "x = 1\n", "weights.bin": b"\0" * 1024}) == Status.PASS
    assert status_of("repository-hygiene", {"weights.bin": b"\0" * (10 * 1024 * 1024 + 1)}) == Status.FAIL
    assert status_of("repository-hygiene", {"__pycache__/t.cpython-311.pyc": b"\0"}) == Status.FAIL
    root = make_repo({"t.py": "x = 1\n"})
    os.symlink(root / "t.py", root / "inside.py")
    assert REGISTRY["repository-hygiene"].run(RepoView(root)).status == Status.PASS
    os.symlink(tmp_path, root / "outside")
    assert REGISTRY["repository-hygiene"].run(RepoView(root)).status == Status.FAIL
