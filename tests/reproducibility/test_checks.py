"""Every check has a case it passes and a case it fails; AST analysis is not fooled by text."""

from __future__ import annotations

import pytest

from reproducibility.checks import REGISTRY, Status, all_checks
from reproducibility.repo_view import RepoView
from tests.reproducibility.conftest import GOOD_FILES, MIT_LICENCE, notebook

TF = "import tensorflow as tf\n"
all_checks()


def run(make_repo, check_id: str, files: dict) -> tuple[Status, str]:
    result = REGISTRY[check_id].run(RepoView(make_repo(files)))
    return result.status, result.reason


CASES: dict[str, tuple[dict, dict]] = {
    "dependency-manifest": ({"requirements.txt": "numpy==2.0\n"}, {"train.py": "import numpy\n"}),
    "dependency-pinning": (
        {"requirements.txt": "numpy==2.0 --hash=sha256:aa\n"},
        {"requirements.txt": "numpy>=2\n"},
    ),
    "versions-declared": (
        {"train.py": TF, "requirements.txt": "tensorflow==2.21.0\n", ".python-version": "3.11\n"},
        {"train.py": TF, "requirements.txt": "tensorflow\n"},
    ),
    "imports-declared": (
        {
            "train.py": "import sklearn\nimport os\nimport mymod\n",
            "mymod.py": "",
            "requirements.txt": "scikit-learn==1\n",
        },
        {"train.py": "import yaml\n", "requirements.txt": "numpy==1\n"},
    ),
    "container": (
        {"Dockerfile": "FROM python:3.11@sha256:" + "b" * 64 + "\n"},
        {"Dockerfile": "FROM python:latest\n"},
    ),
    "training-entrypoint": (
        {"train.py": "def main():\n    model.fit(x)\nif __name__ == '__main__':\n    main()\n"},
        {"model.py": "def build():\n    return 1\n"},
    ),
    "evaluation-entrypoint": ({"evaluate.py": "print(1)\n"}, {"train.py": "print(1)\n"}),
    "weights-or-export": (
        {"train.py": TF + "tf.saved_model.save(m, 'x')\n"},
        {"train.py": TF + "print(1)\n"},
    ),
    "readme": ({"README.md": GOOD_FILES["README.md"]}, {"notes.txt": "nothing\n"}),
    "licence": (
        {"LICENSE": MIT_LICENCE},
        {"README.md": "# x\n"},
    ),
    "citation": ({"CITATION.cff": "title: T\nauthors:\n  - name: A\n"}, {"README.md": "# x\n"}),
    "global-seed": (
        {
            "t.py": "import random, numpy as np, tensorflow as tf\n"
            "random.seed(1)\nnp.random.seed(1)\ntf.random.set_seed(1)\n"
        },
        {"t.py": TF + "# tf.keras.utils.set_random_seed(1)\nx = 'tf.random.set_seed(1)'\n"},
    ),
    "op-determinism": (
        {"t.py": TF + "tf.config.experimental.enable_op_determinism()\n"},
        {"t.py": TF + "x = 1\n"},
    ),
    "tf-data-pipeline": (
        {"t.py": TF + "ds = tf.data.Dataset.range(3).shuffle(3, seed=1).prefetch(tf.data.AUTOTUNE)\n"},
        {"t.py": TF + "model.fit(x, y)\n"},
    ),
    "tensorboard-logging": (
        {"t.py": "from keras.callbacks import TensorBoard\nimport tensorflow as tf\ncb = TensorBoard()\n"},
        {"t.py": TF + "model.fit(x)\n"},
    ),
    "checkpoints": (
        {"t.py": "from tensorflow.keras import callbacks as cb\ncb.ModelCheckpoint('c')\n"},
        {"t.py": TF + "model.fit(x)\n"},
    ),
    "savedmodel-export": ({"t.py": TF + "model.export('out')\n"}, {"t.py": TF + "model.fit(x)\n"}),
    "distribution-strategy": (
        {"t.py": TF + "s = tf.distribute.MirroredStrategy()\nwith s.scope():\n    pass\n"},
        {"t.py": TF + "model.fit(x)\n"},
    ),
    "tf2-idioms": (
        {"t.py": TF + "model.fit(x)\n"},
        {"t.py": "import tensorflow.compat.v1 as tf\nx = tf.placeholder(tf.float32)\nsess = tf.Session()\n"},
    ),
    "tflite-export": (
        {"t.py": TF + "tf.lite.TFLiteConverter.from_saved_model('m')\n"},
        {"t.py": TF + "pass\n"},
    ),
    "data-provenance": (
        {"t.py": "import tensorflow_datasets as tfds\nds = tfds.load('mnist:3.0.1')\n"},
        {"t.py": "import numpy\nx = numpy.load('x.npy')\n"},
    ),
    "no-absolute-paths": ({"t.py": "path = 'data/x.csv'\n"}, {"t.py": "path = '/home/alice/data/x.csv'\n"}),
    "python-parses": ({"t.py": "x = 1\n"}, {"t.py": "def broken(:\n"}),
    "hyperparameters-configurable": (
        {"t.py": "from absl import flags\nflags.DEFINE_integer('epochs', 3, 'epochs')\n"},
        {"t.py": "model.fit(x, epochs=10, batch_size=32)\n"},
    ),
    "tests-and-ci": (
        {"tests/test_a.py": "def test():\n    pass\n", ".gitlab-ci.yml": "test:\n  script: pytest\n"},
        {"t.py": "x = 1\n"},
    ),
    "notebook-hygiene": (
        {"nb.ipynb": notebook("x = 1", "y = 2", counts=[1, 2])},
        {"nb.ipynb": notebook("x = 1", "y = 2", counts=[2, 1])},
    ),
    "repository-hygiene": ({"t.py": "x = 1\n"}, {"t.pyc": b"\x00\x01"}),
    "unsafe-deserialisation": (
        {"t.py": "import yaml\nyaml.load(s, Loader=yaml.SafeLoader)\n"},
        {"t.py": "import pickle\nimport keras\npickle.load(f)\nkeras.models.load_model('m', safe_mode=False)\n"},
    ),
    "no-secrets": ({"t.py": "key = os.environ['KEY']\n"}, {"config.py": "AWS = 'AKIAIOSFODNN7EXAMPLE'\n"}),
}


def test_every_registered_check_has_a_passing_and_a_failing_case():
    assert set(CASES) == set(REGISTRY)
    assert len(REGISTRY) >= 25


@pytest.mark.parametrize("check_id", sorted(CASES))
def test_the_check_passes_its_good_case(make_repo, check_id):
    status, reason = run(make_repo, check_id, CASES[check_id][0])
    assert status == Status.PASS, reason


@pytest.mark.parametrize("check_id", sorted(CASES))
def test_the_check_fails_its_bad_case(make_repo, check_id):
    status, reason = run(make_repo, check_id, CASES[check_id][1])
    assert status == Status.FAIL, reason


def test_seeds_in_comments_and_strings_do_not_count(make_repo):
    status, _ = run(make_repo, "global-seed", {"t.py": TF + "# random.seed(1)\n'''np.random.seed(1)'''\n"})
    assert status == Status.FAIL


def test_only_some_seeds_is_partial(make_repo):
    files = {"t.py": "import random\nimport numpy as np\nrandom.seed(3)\nx = np.random.rand(2)\n"}
    status, reason = run(make_repo, "global-seed", files)
    assert status == Status.PARTIAL and "NumPy" in reason


@pytest.mark.parametrize(
    "source",
    [
        "import tensorflow as tf\ntf.keras.callbacks.TensorBoard()\n",
        "from tensorflow.keras import callbacks as cb\ncb.TensorBoard()\n",
        "from keras.callbacks import TensorBoard\nTensorBoard()\n",
        "import tf_keras\ntf_keras.callbacks.TensorBoard()\n",
        "import tensorflow as tf\nimport tensorflow.summary as s\ns.create_file_writer('logs')\n",
    ],
)
def test_aliased_imports_are_resolved(make_repo, source):
    status, reason = run(make_repo, "tensorboard-logging", {"t.py": source})
    assert status == Status.PASS, reason


def test_notebook_code_cells_count_and_magics_are_ignored(make_repo):
    nb = notebook("%pip install tensorflow", "import tensorflow as tf\ntf.random.set_seed(1)")
    status, _ = run(make_repo, "op-determinism", {"nb.ipynb": nb})
    assert status == Status.FAIL  # the notebook imports TF, so the check applies
    assert run(make_repo, "global-seed", {"nb.ipynb": nb})[0] == Status.PASS  # TF is all it draws from


def test_notebook_with_an_error_output_is_unclean(make_repo):
    status, reason = run(make_repo, "notebook-hygiene", {"nb.ipynb": notebook("1/0", counts=[1], error=True)})
    assert status == Status.FAIL and "problem" in reason


def test_tensorflow_checks_do_not_apply_to_code_without_tensorflow(make_repo):
    for check_id in ("op-determinism", "tf-data-pipeline", "tf2-idioms", "checkpoints"):
        assert run(make_repo, check_id, {"t.py": "import numpy\n"})[0] == Status.NOT_APPLICABLE


@pytest.mark.parametrize(
    "secret",
    [
        "AKIAIOSFODNN7EXAMPLE",
        "-----BEGIN RSA PRIVATE KEY-----",
        "ghp_" + "a" * 36,
        "xoxb-1234567890-abcdef",
        "AIza" + "b" * 35,
    ],
)
def test_every_kind_of_secret_is_found(make_repo, secret):
    status, reason = run(make_repo, "no-secrets", {"t.py": "x = 1\n", "notes/deploy.md": f"use {secret} here\n"})
    assert status == Status.FAIL, reason


def test_a_fallback_import_does_not_hide_unsafe_loading(make_repo):
    source = "try:\n    import cPickle as pickle\nexcept ImportError:\n    import pickle\npickle.loads(data)\n"
    assert run(make_repo, "unsafe-deserialisation", {"t.py": source})[0] == Status.FAIL


def test_pinned_without_hashes_is_partial(make_repo):
    assert run(make_repo, "dependency-pinning", {"requirements.txt": "numpy==2.0\n"})[0] == Status.PARTIAL


@pytest.mark.parametrize(
    "manifest",
    [
        {"pyproject.toml": '[project]\nname="x"\nrequires-python=">=3.11"\ndependencies=["tensorflow==2.21.0"]\n'},
        {"setup.cfg": "[options]\npython_requires = >=3.11\ninstall_requires =\n    tensorflow==2.21.0\n"},
        {"Pipfile": '[packages]\ntensorflow = "==2.21.0"\n[requires]\npython_version = "3.11"\n'},
        {"environment.yml": "dependencies:\n  - python=3.11\n  - pip:\n    - tensorflow==2.21.0\n"},
    ],
)
def test_every_manifest_format_is_read(make_repo, manifest):
    status, reason = run(make_repo, "versions-declared", {"t.py": TF, **manifest})
    assert status == Status.PASS, reason
