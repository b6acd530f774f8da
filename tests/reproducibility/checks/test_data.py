"""Data: where the data comes from (the weakest source decides), and no paths of the author's machine."""

from __future__ import annotations

import json

import pytest

from reproducibility.checks import Status

TF = "import tensorflow as tf\n"
HASH = "0123456789abcdef" * 4  # a sha256, as hex


def notebook(*sources: str, padding: int = 0) -> str:
    cells = [
        {"cell_type": "code", "source": s, "metadata": {}, "execution_count": None, "outputs": []} for s in sources
    ]
    if padding:
        cells.append({"cell_type": "markdown", "source": "x" * padding, "metadata": {}})
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})


# --- data-provenance -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "files",
    [
        {"t.py": TF + "(x, y), _ = tf.keras.datasets.mnist.load_data()\n"},
        {"t.py": "from tensorflow.keras.datasets import cifar10\ncifar10.load_data()\n"},
        {"t.py": "import keras\nkeras.datasets.imdb.load_data()\n"},
        {"t.py": "from sklearn.datasets import load_digits\nx = load_digits()\n"},
        {"t.py": "from sklearn import datasets\nx = datasets.fetch_openml('mnist_784', version=1)\n"},
        {"t.py": "from tensorflow.examples.tutorials.mnist import input_data\ninput_data.read_data_sets('m')\n"},
        {"t.py": "import gym\nenv = gym.make('CartPole-v1')\n"},  # a versioned environment of a package
        {"t.py": "import tensorflow_datasets as tfds\nds = tfds.load('mnist:3.0.1')\n"},
        {"t.py": "import tensorflow_datasets as tfds\nb = tfds.builder(name='imagenet2012:5.1.0')\n"},
        {"t.py": "import seqio\nsource = seqio.TfdsDataSource(tfds_name='c4/en:3.0.1')\n"},
        {"t.py": TF + f"p = tf.keras.utils.get_file('d.zip', 'https://e.org/d.zip', file_hash='{HASH}')\n"},
        {"t.py": "from keras.utils import get_file\np = get_file('d.zip', URL, md5_hash=DIGEST)\n"},
        {  # a download checked with hashlib
            "t.py": "import hashlib, urllib.request\nurllib.request.urlretrieve(URL, 'd.zip')\n"
            "assert hashlib.sha256(open('d.zip', 'rb').read()).hexdigest() == EXPECTED\n"
        },
        {"scripts/download_data.sh": "wget https://e.org/d.tgz\necho 'abc  d.tgz' | sha256sum -c\n", "t.py": "x = 1\n"},
        {"README.md": f"Get the [dataset](https://e.org/d.zip) (sha256 `{HASH}`).\n", "t.py": "x = 1\n"},
        {"data/train.csv": "a,b\n1,2\n", "t.py": "import pandas\nx = pandas.read_csv('./data/train.csv')\n"},
    ],
)
def test_bundled_versioned_verified_or_committed_data_passes(status_of, files):
    assert status_of("data-provenance", files) == Status.PASS


@pytest.mark.parametrize(
    "files",
    [
        {"t.py": "import tensorflow_datasets as tfds\nds = tfds.load('mnist')\n"},
        {"t.py": "import tensorflow_datasets as tfds\nds = tfds.builder(FLAGS.dataset)\n"},  # a name from a flag
        {"t.py": TF + "p = tf.keras.utils.get_file('facades.tar.gz', origin=URL, extract=True)\n"},
        {"t.py": "import urllib.request\nurllib.request.urlretrieve('https://e.org/d.zip', 'd.zip')\n"},
        {"t.py": "from six.moves import urllib\nurllib.request.urlretrieve(URL, 'd.zip')\n"},
        {"t.py": "import nltk\nnltk.download('punkt')\n"},
        {"t.py": "import os\nos.system('git clone https://github.com/org/segmentation-data ./data')\n"},
        {"tools/download-dataset.py": "import requests\nr = requests.get(URL)\n", "t.py": "x = 1\n"},
        {"scripts/get_coco.sh": "curl -OL https://e.org/val2017.zip\n", "t.py": "x = 1\n"},
        {"nb.ipynb": notebook("!wget https://e.org/VOCtrainval.tar -O data/voc.tar")},
        {"nb.ipynb": notebook("!python prepare/download_glue_data.py --tasks all")},
        {
            "README.md": "## Data\n\nDownload the [dataset](https://drive.example.org/d/abc) and unzip it.\n",
            "t.py": "x=1\n",
        },
        {"README.md": "## Preparing the data\n\nhttps://drive.example.org/file/abc\n", "t.py": "x = 1\n"},
        {"README.rst": "Trained on `the corpus <https://e.org/corpus>`_.\n", "t.py": "x = 1\n"},
        # the weakest source decides: a bundled data set beside an unverified download
        {
            "t.py": TF
            + "tf.keras.datasets.mnist.load_data()\nimport urllib.request\nurllib.request.urlretrieve(U, 'x')\n"
        },
    ],
)
def test_unverified_downloads_and_unversioned_names_are_partial(status_of, files):
    assert status_of("data-provenance", files) == Status.PARTIAL


@pytest.mark.parametrize(
    "files",
    [
        {"t.py": "import numpy\nx = numpy.load('x.npy')\n"},
        {"t.py": "from sklearn.datasets import load_files\nx = load_files('my_folder')\n"},  # the author's files
        {"t.py": TF + "w = tf.keras.utils.get_file('resnet50_weights.h5', WEIGHTS_URL)\n"},  # weights, not data
        {"download_model.sh": "wget https://e.org/model.ckpt\n", "t.py": "x = 1\n"},
        {"nb.ipynb": notebook("!git clone https://github.com/org/project\n%cd project")},  # code, not data
        {
            "README.md": "[![build](https://img.shields.io/badge/x.svg)](https://ci.example.org)\n"
            "See the [paper](https://arxiv.org/abs/1234.5678) and [pretrained weights](https://e.org/w.h5).\n",
            "t.py": "x = 1\n",
        },
        {"t.py": "x = 1\n", "tests/test_io.py": "import urllib.request\nurllib.request.urlretrieve(URL, 'f')\n"},
        {"data/__init__.py": "", "data/loader.py": "x = 1\n", "t.py": "root = './data/'\n"},  # a package of code
    ],
)
def test_nothing_about_the_data_fails(status_of, files):
    assert status_of("data-provenance", files) == Status.FAIL


def test_provenance_does_not_apply_without_code(status_of):
    assert status_of("data-provenance", {"README.md": "# x\n"}) == Status.NOT_APPLICABLE


# --- no-absolute-paths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "literal",
    [
        "/home/alice/data/train.csv",
        "/Users/bob/Desktop/x.png",
        "/mnt/nas/imagenet",
        "/media/paul/Disk/VOC/",
        "/data/coco/",
        "/datasets/celeba/",
        "/scratch/run1/",
        "/nfs/group/x",
        "/gpfs/project/x",
        "/root/.keras/x",
        "/content/drive/MyDrive/x",
        "C:\\\\Users\\\\me\\\\data",
        "D:/data/train",
    ],
)
def test_a_path_of_the_authors_machine_fails(status_of, literal):
    assert status_of("no-absolute-paths", {"t.py": f'path = "{literal}"\n'}) == Status.FAIL


@pytest.mark.parametrize(
    "files",
    [
        {"t.py": "import argparse\np = argparse.ArgumentParser()\np.add_argument('--d', default='/home/me/d')\n"},
        {"t.py": "user = 'me'\npath = f'/home/{user}/data'\n"},
        {"nb.ipynb": notebook("DATASET_DIR = '/media/me/VOC/'")},
        {"nb.ipynb": notebook("DATASET_DIR = '/media/me/VOC/'", padding=3 * 1024 * 1024)},  # a large notebook
        {"t.py": "paths = [\n    '/home/me/a',\n    '/home/me/b',\n]\n"},
    ],
)
def test_paths_in_flags_f_strings_lists_and_notebooks_fail(status_of, files):
    assert status_of("no-absolute-paths", files) == Status.FAIL


@pytest.mark.parametrize(
    "source",
    [
        "path = 'data/x.csv'\n",
        "tmp = '/tmp/run'\nlib = '/usr/lib/x'\n",
        "# data lives in /home/me/data\nx = 1\n",
        'def load():\n    """Reads /home/me/data by default."""\n',
        "'/home/me/notes'\n",  # a bare string statement documents, it never runs
        "url = 'https://example.org/data/x'\n",
    ],
)
def test_relative_system_and_documented_paths_pass(status_of, source):
    assert status_of("no-absolute-paths", {"t.py": source}) == Status.PASS


def test_absolute_paths_do_not_apply_without_code(status_of):
    assert status_of("no-absolute-paths", {"README.md": "/home/me\n"}) == Status.NOT_APPLICABLE
