"""Fixture repositories, built by the tests as files in a temporary folder."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

GOOD_TRAIN = """
import argparse
import os

import numpy as np
import tensorflow as tf

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    tf.keras.utils.set_random_seed(42)
    tf.config.experimental.enable_op_determinism()
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    ds = tf.data.Dataset.from_tensor_slices(np.zeros((8, 2))).shuffle(8, seed=1).batch(2).prefetch(tf.data.AUTOTUNE)
    with strategy.scope():
        model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
    model.fit(ds, epochs=args.epochs, callbacks=[
        tf.keras.callbacks.TensorBoard(log_dir="logs"),
        tf.keras.callbacks.BackupAndRestore(backup_dir="ckpt"),
    ])
    tf.saved_model.save(model, os.environ.get("AIP_MODEL_DIR", "model"))
    converter = tf.lite.TFLiteConverter.from_saved_model("model")

if __name__ == "__main__":
    main()
"""

GOOD_README = """# Good project

## Install

```sh
pip install -r requirements.txt
```

## Usage

```sh
python train.py --epochs 3
```

| metric | value |
| --- | --- |
| accuracy | 0.9 |

Pretrained weights: https://example.org/weights.tar.gz
"""

GOOD_FILES: dict[str, str | bytes] = {
    "train.py": GOOD_TRAIN,
    "evaluate.py": "import tensorflow as tf\nmodel = tf.keras.models.load_model('model')\nmodel.evaluate([])\n",
    "data/download.py": "SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'\n",
    "requirements.txt": "tensorflow==2.21.0 --hash=sha256:abc\nnumpy==2.4.6 --hash=sha256:def\n",
    ".python-version": "3.11\n",
    "Dockerfile": "FROM python:3.11-slim@sha256:" + "a" * 64 + "\n",
    "README.md": GOOD_README,
    "LICENSE": "Apache License, Version 2.0, January 2004\n",
    "CITATION.cff": "cff-version: 1.2.0\ntitle: Good\nauthors:\n  - name: A\n",
    "tests/test_train.py": "def test_nothing():\n    assert True\n",
    ".github/workflows/ci.yml": "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest\n",
}


def notebook(*cells: str, counts: list[int | None] | None = None, error: bool = False) -> str:
    return json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [
                {
                    "cell_type": "code",
                    "source": source,
                    "metadata": {},
                    "execution_count": (counts or [None] * len(cells))[i],
                    "outputs": [{"output_type": "error", "ename": "E", "evalue": "", "traceback": []}] if error else [],
                }
                for i, source in enumerate(cells)
            ],
        }
    )


@pytest.fixture
def make_repo(tmp_path) -> Callable[..., Path]:
    """make_repo({path: content}) -> a folder holding those files."""
    counter = iter(range(10_000))

    def build(files: dict[str, str | bytes], base: dict[str, str | bytes] | None = None) -> Path:
        root = tmp_path / f"repo{next(counter)}"
        for path, content in {**(base or {}), **files}.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
        root.mkdir(exist_ok=True)
        return root

    return build
