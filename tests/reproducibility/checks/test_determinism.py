"""Seeds for the generators the code uses; op determinism."""

from __future__ import annotations

import pytest

from reproducibility.checks import Status

TF = "import tensorflow as tf\n"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"t.py": "import keras\nkeras.utils.set_random_seed(1)\n"}, Status.PASS),
        ({"t.py": TF + "tf.set_random_seed(1)\n"}, Status.PASS),  # TF1, nothing else random used
        ({"t.py": "import tensorflow.compat.v1 as tf\ntf.set_random_seed(1)\n"}, Status.PASS),
        ({"t.py": TF + "cfg = tf.estimator.RunConfig(tf_random_seed=1)\n"}, Status.PASS),
        ({"t.py": TF + "import numpy as np\ntf.random.set_seed(1)\nx = np.random.rand(3)\n"}, Status.PARTIAL),
        # a seeded generator of its own leaves the global one the code draws from unseeded
        (
            {
                "t.py": TF
                + "import numpy as np\ntf.set_random_seed(1)\nr = np.random.RandomState(1)\nnp.random.uniform()\n"
            },
            Status.PARTIAL,
        ),
        ({"t.py": TF + "ds = ds.shuffle(10, seed=3)\n"}, Status.PARTIAL),  # op level only
        (
            {"t.py": TF + "x = 1\n", "tests/test_t.py": TF + "tf.random.set_seed(1)\n"},
            Status.FAIL,
        ),  # tests seed no training
        ({"t.py": TF + "# tf.random.set_seed(1)\ns = 'np.random.seed(1)'\n"}, Status.FAIL),
    ],
)
def test_global_seed(status_of, files, expected):
    assert status_of("global-seed", files) == expected


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"t.py": TF + "tf.config.experimental.enable_op_determinism()\n"}, Status.PASS),
        ({"t.py": TF + "import os\nos.environ['TF_DETERMINISTIC_OPS'] = '1'\n"}, Status.PARTIAL),
        ({"t.py": TF, "Dockerfile": "FROM x\nENV TF_DETERMINISTIC_OPS=1\n"}, Status.PARTIAL),
        ({"t.py": TF}, Status.FAIL),
    ],
)
def test_op_determinism(status_of, files, expected):
    assert status_of("op-determinism", files) == expected
