"""Entry points as real projects write them: programs, absl and tf.app, modes, notebooks, console
scripts, README commands; training through Keras, custom loops, TF1 sessions and Estimators."""

from __future__ import annotations

import pytest

from reproducibility.checks import Status
from tests.reproducibility.conftest import notebook

TF = "import tensorflow as tf\n"
MAIN = "\nif __name__ == '__main__':\n    main()\n"


@pytest.mark.parametrize(
    "files",
    [
        {"main.py": TF + "def main():\n    model.fit_generator(g)\n" + MAIN},
        {"run.py": TF + "def main(_):\n    model.train_on_batch(x, y)\ntf.app.run()\n"},
        {"trainer.py": "from absl import app\ndef main(argv):\n    opt.apply_gradients(zip(g, v))\napp.run(main)\n"},
        # TF1: the optimizer's minimize op run by a session, in a model class main.py imports
        {
            "main.py": TF + "from model import GAN\ndef main(_):\n    GAN().train()\ntf.app.run()\n",
            "model.py": TF + "class GAN:\n    def train(self):\n        op = tf.train.AdamOptimizer().minimize(loss)\n"
            "        self.sess.run(op)\n",
        },
        # Estimators
        {"run_classifier.py": TF + "def main(_):\n    estimator.train(input_fn=f, max_steps=10)\n" + MAIN},
        {"task.py": TF + "def main():\n    tf.estimator.train_and_evaluate(e, t, v)\n" + MAIN},
        # a tutorial: statements at module level
        {"tutorial.py": TF + "model = make()\nmodel.fit(x, y, epochs=2)\n"},
        # a notebook trains
        {"demo.ipynb": notebook(TF, "model.fit(x, y)\n")},
        # a console script declared in setup.py reaching the training module
        {
            "setup.py": "setup(entry_points={'console_scripts': ['train-it = pkg.cli:main']})\n",
            "pkg/__init__.py": "",
            "pkg/cli.py": "from pkg import loop\ndef main():\n    loop.run()\n",
            "pkg/loop.py": "def run():\n    model.fit(x)\n",
        },
        # the README's command names a script without a main guard
        {
            "README.md": "```\npython scripts/go.py --epochs 3\n```\n",
            "scripts/go.py": "def f():\n    model.fit(x)\nf()\n",
        },
        # a module named in a string and imported at run time
        {
            "train.py": "import runner\ndef main():\n    runner.submit('training.loop.run')\n" + MAIN,
            "runner.py": "",
            "training/__init__.py": "",
            "training/loop.py": "def run():\n    opt.apply_gradients(g)\n",
        },
    ],
)
def test_training_entry_points_real_projects_use_pass(status_of, files):
    assert status_of("training-entrypoint", files) == Status.PASS


def test_training_code_nothing_runs_is_partial(status_of):
    files = {"lib/model.py": "class M:\n    def go(self):\n        self.model.fit(x)\n"}
    assert status_of("training-entrypoint", files) == Status.PARTIAL


def test_training_only_in_tests_or_a_project_method_named_train_is_no_training(status_of):
    files = {
        "tests/test_fit.py": "def test_it():\n    model.fit(x)\n",
        "main.py": "def main():\n    thing.train()\n" + MAIN,
    }
    assert status_of("training-entrypoint", files) == Status.FAIL


def test_inference_only_release_fails_training(status_of):
    assert (
        status_of("training-entrypoint", {"sample.py": TF + "def main():\n    sess.run(out)\n" + MAIN}) == Status.FAIL
    )


@pytest.mark.parametrize(
    "files",
    [
        {"train.py": "def main():\n    model.fit(x, y, validation_data=(vx, vy))\n" + MAIN},
        {"eval.py": TF + "def main(_):\n    estimator.evaluate(input_fn=f)\ntf.app.run()\n"},
        {
            "main.py": "import argparse\np = argparse.ArgumentParser()\n"
            + "p.add_argument('--mode', choices=['train', 'test'])\n"
        },
        {
            "run.py": TF
            + "flags = tf.flags\nflags.DEFINE_bool('do_eval', False, 'eval')\ndef main(_):\n    pass\ntf.app.run()\n"
        },
        {"main.py": "def main():\n    if c.is_train:\n        t.train()\n    else:\n        t.test()\n" + MAIN},
        {"nb.ipynb": notebook(TF, "acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(y, 1), l), tf.float32))\n")},
        {"score.py": "from sklearn import metrics\ndef main():\n    metrics.f1_score(a, b)\n" + MAIN},
        {
            "run_metrics.py": "from metrics import fid\ndef main():\n    fid.compute()\n" + MAIN,
            "metrics/fid.py": "x = 1\n",
        },
    ],
)
def test_evaluation_idioms_pass(status_of, files):
    assert status_of("evaluation-entrypoint", files) == Status.PASS


def test_prediction_alone_is_partial(status_of):
    assert (
        status_of("evaluation-entrypoint", {"predict.py": "def main():\n    model.predict(x)\n" + MAIN})
        == Status.PARTIAL
    )


def test_no_evaluation_fails(status_of):
    assert status_of("evaluation-entrypoint", {"train.py": "def main():\n    model.fit(x)\n" + MAIN}) == Status.FAIL


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"README.md": "Download the pretrained weights: https://example.org/w.h5\n", "a.py": ""}, Status.PASS),
        ({"docs/README.md": "Model zoo: [d0](https://example.org/d0.tar.gz)\n", "a.py": ""}, Status.PASS),
        ({"a.py": "URL = 'https://example.org/releases/model_weights.h5'\n"}, Status.PASS),
        ({"download_model.py": "BASE = 'https://example.org/models/'\nFILES = ['model.ckpt.index']\n"}, Status.PASS),
        ({"train.py": TF + "model.fit(x)\nmodel.save_weights('w')\n"}, Status.PASS),
        ({"train.py": TF + "saver = tf.train.Saver()\nsaver.save(sess, 'ckpt/m')\n"}, Status.PASS),
        ({"README.md": "Pretrained models are available on request.\n", "a.py": ""}, Status.PARTIAL),
        ({"train.py": TF + "img.save('out.png')\n", "README.md": "# x\n"}, Status.FAIL),
    ],
)
def test_weights_published_or_saved(status_of, files, expected):
    assert status_of("weights-or-export", files) == expected


def test_a_monorepo_names_each_project_and_what_it_does(make_repo):
    from reproducibility.checks import REGISTRY
    from reproducibility.repo_view import RepoView

    project = {"README.md": "# p\n", "requirements.txt": "tensorflow==2.15\n"}
    files = {f"{name}/{path}": text for name in ("det", "cls") for path, text in project.items()}
    files["det/main.py"] = "def main():\n    model.fit(x)\n" + MAIN
    files["cls/main.py"] = "def main():\n    model.predict(x)\n" + MAIN
    result = REGISTRY["training-entrypoint"].run(RepoView(make_repo(files)))
    assert result.status == Status.PASS
    assert "2 projects in one repository" in result.reason
    assert "det/ trains (det/main.py)" in result.reason and "cls/ has no entry point that trains" in result.reason


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, ["cls/", "det/"]),
        # README in any case and with any extension; a README deeper down is no project's top
        ({"cls/README.md": None, "cls/Readme.rst": "x\n"}, ["cls/", "det/"]),
        ({"cls/README.md": None, "cls/docs/README.md": "x\n"}, []),
        # hidden folders and a single project are no monorepo
        ({"cls/README.md": None, ".cls/README.md": "x\n"}, []),
        ({"det/requirements.txt": None, "det/main.py": None, "det/README.md": None}, []),
    ],
)
def test_subprojects_are_top_level_folders_with_a_readme_code_and_a_manifest(make_repo, extra, expected):
    from reproducibility.repo_view import RepoView
    from reproducibility.subprojects import subprojects

    files: dict[str, str | None] = {
        f"{name}/{path}": text
        for name in ("det", "cls")
        for path, text in {"README.md": "# p\n", "requirements.txt": "tensorflow==2.15\n", "main.py": "x = 1\n"}.items()
    }
    files.update(extra)
    assert subprojects(RepoView(make_repo({p: t for p, t in files.items() if t is not None}))) == expected
