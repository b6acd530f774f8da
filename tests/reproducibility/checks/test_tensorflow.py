"""TensorFlow practice in TF1, Estimator and TF2 spellings; which save is a SavedModel."""

from __future__ import annotations

import pytest

from reproducibility.checks import Status
from tests.reproducibility.conftest import notebook

TF = "import tensorflow as tf\n"
V1 = "import tensorflow.compat.v1 as tf\n"
MAIN = "\nif __name__ == '__main__':\n    main()\n"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"t.py": TF + "ds = tf.data.Dataset.range(3).shuffle(3, seed=1).prefetch(2)\n"}, Status.PASS),
        # an unseeded shuffle in a program that sets the global seed is deterministic
        (
            {
                "t.py": TF
                + "def main():\n    tf.random.set_seed(1)\n    d = tf.data.Dataset.range(3).shuffle(3).prefetch(1)\n"
                + MAIN
            },
            Status.PASS,
        ),
        ({"t.py": TF + "ds = tf.data.TFRecordDataset(f).shuffle(3).prefetch(1)\n"}, Status.PARTIAL),
        # the seed is set by another program: the shuffling one is not seeded
        (
            {
                "a.py": TF + "def main():\n    tf.random.set_seed(1)\n" + MAIN,
                "b.py": TF + "def main():\n    d = tf.data.Dataset.range(3).shuffle(3).prefetch(1)\n" + MAIN,
            },
            Status.PARTIAL,
        ),
        ({"t.py": TF + "ds = tf.data.Dataset.range(3)\n"}, Status.PARTIAL),  # no prefetch
        ({"t.py": TF + "sess.run(op, feed_dict={x: batch})\n"}, Status.FAIL),
    ],
)
def test_tf_data_pipeline(status_of, files, expected):
    assert status_of("tf-data-pipeline", files) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (TF + "cb = tf.keras.callbacks.TensorBoard('logs')\n", Status.PASS),
        (TF + "w = tf.summary.FileWriter('logs', sess.graph)\n", Status.PASS),
        (V1 + "w = tf.summary.FileWriter('logs')\n", Status.PASS),
        (TF + "w = tf.contrib.summary.create_file_writer('logs')\n", Status.PASS),
        (TF + "e = tf.estimator.Estimator(model_fn=f, model_dir='m')\n", Status.PASS),
        (TF + "sv = tf.train.Supervisor(logdir='l')\n", Status.PASS),
        (TF + "tf.summary.histogram('w', w)\n", Status.FAIL),  # an op nothing writes
        (TF + "model.fit(x)\n", Status.FAIL),
    ],
)
def test_tensorboard_logging(status_of, source, expected):
    assert status_of("tensorboard-logging", {"t.py": source}) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (TF + "cb = tf.keras.callbacks.ModelCheckpoint('c')\n", Status.PASS),
        (TF + "m = tf.train.CheckpointManager(ckpt, 'd', 3)\n", Status.PASS),
        (TF + "saver = tf.train.Saver()\nsaver.save(sess, 'ckpt/m', global_step=s)\n", Status.PASS),
        (TF + "c = tf.estimator.RunConfig(save_checkpoints_steps=100)\n", Status.PASS),
        (TF + "for e in range(3):\n    model.fit(x)\n    model.save_weights('w')\n", Status.PASS),
        (
            TF
            + "class C(tf.keras.callbacks.Callback):\n"
            + "    def on_epoch_end(self, e, logs):\n        self.model.save_weights('w')\n",
            Status.PASS,
        ),
        (TF + "model.fit(x)\nmodel.save_weights('w')\n", Status.PARTIAL),
        (TF + "model.fit(x)\n", Status.FAIL),
    ],
)
def test_checkpoints(status_of, source, expected):
    assert status_of("checkpoints", {"t.py": source}) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (TF + "tf.saved_model.save(model, 'export')\n", Status.PASS),
        (TF + "estimator.export_saved_model('export', serving_input_fn)\n", Status.PASS),
        (TF + "model.export('export')\n", Status.PASS),
        (TF + "model = tf.keras.Sequential()\nmodel.save('export/1')\n", Status.PASS),  # a directory in tf.keras
        (TF + "out = 'export/model'\nmodel = tf.keras.Model()\nmodel.save(out)\n", Status.PASS),  # a name bound to one
        (TF + "model = tf.keras.Model()\nmodel.save(args.out)\n", Status.PARTIAL),  # unknown format
        (TF + "model = tf.keras.Model()\nmodel.save('model.h5')\n", Status.FAIL),
        (TF + "model = tf.keras.Model()\nmodel.save(f'{d}/model.keras')\n", Status.FAIL),
        (TF + "path = 'm.hdf5'\nmodel = tf.keras.Model()\nmodel.save(path)\n", Status.FAIL),
        ("import keras\nmodel = keras.Model()\nmodel.save('export')\n", Status.FAIL),  # standalone Keras: HDF5
        (
            TF + "class Net:\n    def save(self, d, step):\n        self.saver.save(self.sess, d)\nnet.save(d, 1)\n",
            Status.FAIL,
        ),
        (TF + "import PIL\nimage.save('x.png')\n", Status.FAIL),
    ],
)
def test_savedmodel_export(status_of, source, expected):
    assert status_of("savedmodel-export", {"t.py": source}) == expected


def test_a_save_in_a_notebook_resolves_a_path_bound_in_an_earlier_cell(status_of):

    files = {"nb.ipynb": notebook(TF + "path = 'model.keras'\n", "model = tf.keras.Model()\nmodel.save(path)\n")}
    assert status_of("savedmodel-export", files) == Status.FAIL


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (TF + "s = tf.distribute.MirroredStrategy()\nwith s.scope():\n    m = f()\n", Status.PASS),
        (TF + "e = tf.estimator.tpu.TPUEstimator(model_fn=f)\n", Status.PASS),
        (TF + "c = tf.estimator.RunConfig(train_distribute=s)\n", Status.PASS),
        ("import horovod.tensorflow as hvd\nhvd.init()\n" + TF, Status.PASS),
        (TF + "r = tf.distribute.cluster_resolver.TPUClusterResolver()\n", Status.PARTIAL),
        (TF + "for i in range(n):\n    with tf.device('/gpu:%d' % i):\n        tower()\n", Status.PARTIAL),
        (TF + "model.fit(x)\n", Status.FAIL),
    ],
)
def test_distribution_strategy(status_of, source, expected):
    assert status_of("distribution-strategy", {"t.py": source}) == expected


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"t.py": TF + "model.fit(x)\n"}, Status.PASS),
        ({"t.py": TF + "tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.INFO)\n"}, Status.PARTIAL),
        ({"t.py": V1 + "tf.disable_v2_behavior()\n"}, Status.FAIL),
        ({"t.py": TF + "tf = tf.compat.v1\nx = tf.placeholder(tf.float32)\n"}, Status.FAIL),
        ({"t.py": "from keras import backend as K\ns = K.get_session()\n"}, Status.FAIL),
        # tf reaches model.py only through `from ops import *`
        (
            {
                "ops.py": TF + "def conv(x):\n    return x\n",
                "model.py": "from ops import *\nx = tf.placeholder(tf.float32)\n",
            },
            Status.FAIL,
        ),
        ({"nb.ipynb": notebook(TF, "s = tf.Session()\n")}, Status.FAIL),
    ],
)
def test_tf2_idioms(status_of, files, expected):
    assert status_of("tf2-idioms", files) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (TF + "c = tf.lite.TFLiteConverter.from_keras_model(m)\n", Status.PASS),
        ("import tensorflow.compat.v1 as tf\nc = tf.lite.TFLiteConverter.from_session(s, i, o)\n", Status.PASS),
        (TF + "model.fit(x)\n", Status.FAIL),
    ],
)
def test_tflite_export(status_of, source, expected):
    assert status_of("tflite-export", {"t.py": source}) == expected


def test_a_python_generator_s_shuffle_is_no_dataset_s(status_of):
    source = (
        TF + "import random\nrng = random.Random(3)\nrng.shuffle(items)\n"
        "ds = tf.data.Dataset.range(3).shuffle(3, seed=1).prefetch(1)\n"
    )
    assert status_of("tf-data-pipeline", {"t.py": source}) == Status.PASS
    assert status_of("tf-data-pipeline", {"t.py": source.replace("seed=1", "")}) == Status.PARTIAL
