"""Fixture repositories, built by the tests as files in a temporary folder."""

from __future__ import annotations

import ctypes
import json
import os
from collections.abc import Callable, Iterator
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

MIT_LICENCE = """MIT License

Copyright (c) 2026 The Good Project Authors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""  # the SPDX MIT text: the licence check recognises a licence by its whole text

GOOD_FILES: dict[str, str | bytes] = {
    "train.py": GOOD_TRAIN,
    "evaluate.py": "import tensorflow as tf\nmodel = tf.keras.models.load_model('model')\nmodel.evaluate([])\n",
    "data/download.py": "SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'\n",
    "requirements.txt": "tensorflow==2.21.0 --hash=sha256:abc\nnumpy==2.4.6 --hash=sha256:def\n",
    ".python-version": "3.11\n",
    "Dockerfile": "FROM python:3.11-slim@sha256:" + "a" * 64 + "\n",
    "README.md": GOOD_README,
    "LICENSE": MIT_LICENCE,
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


@pytest.fixture
def permissions_enforced() -> Iterator[None]:
    """chmod 000 keeps this test out even when it runs as root (as CI does): the thread's
    capabilities to override file permissions are set aside for the test and restored after."""
    if os.geteuid() != 0:
        yield
        return
    libc = ctypes.CDLL(None, use_errno=True)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, the calling thread
    data = (ctypes.c_uint32 * 6)()  # (effective, permitted, inheritable) for capabilities 0-31, then 32-63
    if libc.capget(header, data) != 0:
        pytest.skip("cannot read this thread's capabilities")
    saved = list(data)
    data[0] &= ~((1 << 1) | (1 << 2))  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
    if libc.capset(header, data) != 0:
        pytest.skip("cannot drop this thread's capabilities")
    try:
        yield
    finally:
        data[:] = saved
        libc.capset(header, data)


@pytest.fixture
def nest() -> Iterator[Callable[[Path, int], Path]]:
    """nest(root, depth) -> a file `x.py` under `depth` folders named "d", however deep (past what
    a path can name); removed after the test without recursing, as shutil.rmtree cannot."""
    made: list[Path] = []

    def build(root: Path, depth: int) -> Path:
        root.mkdir(parents=True, exist_ok=True)
        made.append(root / "d")
        folder = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        for _ in range(depth):
            os.mkdir("d", dir_fd=folder)
            inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=folder)
            os.close(folder)
            folder = inner
        os.close(os.open("x.py", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=folder))
        os.close(folder)
        return root

    yield build
    for top in made:
        _remove_nested(top)


def _remove_nested(top: Path) -> None:
    """Remove a tree of any depth, one folder at a time, holding one descriptor."""
    folder, names = os.open(top, os.O_RDONLY | os.O_DIRECTORY), []
    while True:
        with os.scandir(folder) as listing:
            entries = list(listing)
        inner = next((e.name for e in entries if e.is_dir(follow_symlinks=False)), None)
        if inner is not None:
            names.append(inner)
            deeper = os.open(inner, os.O_RDONLY | os.O_DIRECTORY, dir_fd=folder)
            os.close(folder)
            folder = deeper
            continue
        for entry in entries:
            os.unlink(entry.name, dir_fd=folder)
        parent = os.open("..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=folder)
        os.close(folder)
        folder = parent
        if not names:
            break
        os.rmdir(names.pop(), dir_fd=folder)
    os.close(folder)
    os.rmdir(top)
