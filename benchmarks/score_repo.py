"""Scoring speed on a generated repository of 5,000 Python files plus notebooks.

Prints files/s, MB/s and the ratio of scoring time to the floor measured in the same run (read
every file and ast.parse every Python file once). Goal: ratio at most 1.5. Last line: JSON.
Times are this process's CPU seconds (both single-threaded), so other processes' load on the machine
moves them less than wall time; the ratio of each interleaved round cancels the machine's speed.
"""

from __future__ import annotations

import ast
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from reproducibility.scoring import score_tree

PY_FILES, NOTEBOOKS = 5000, 50
ROUNDS = 7

MODULE = '''"""Module {i}."""
import os
import numpy as np
import tensorflow as tf
from tensorflow.keras import layers as L


class Block{i}(tf.keras.layers.Layer):
    def __init__(self, units={units}):
        super().__init__()
        self.dense = L.Dense(units)

    def call(self, x):
        return tf.nn.relu(self.dense(x))


def make_dataset_{i}(path=os.environ.get("DATA", "data")):
    ds = tf.data.Dataset.range({units}).shuffle(100, seed={i}).batch(8)
    return ds.prefetch(tf.data.AUTOTUNE)


def train_{i}(model, ds, epochs=3):
    values = [np.float32(v) * {i} for v in range(20)]
    history = model.fit(ds, epochs=epochs)
    return history, sum(values)
'''


def generate(root: Path) -> None:
    for i in range(PY_FILES):
        folder = root / "pkg" / f"sub{i // 100}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"module_{i}.py").write_text(MODULE.format(i=i, units=16 + i % 48))
    cells = [
        {
            "cell_type": "code",
            "source": MODULE.format(i=n, units=8),
            "metadata": {},
            "outputs": [],
            "execution_count": n + 1,
        }
        for n in range(5)
    ]
    for n in range(NOTEBOOKS):
        (root / f"notebook_{n}.ipynb").write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4}))
    (root / "requirements.txt").write_text("tensorflow==2.21.0\nnumpy==2.4.6\n")
    (root / "README.md").write_text("# Generated\n\n## Install\n\npip install -r requirements.txt\n")


def floor(root: Path) -> float:
    """Read every file once and parse every Python file (and notebook cell) once: the least work possible."""
    start = time.process_time()
    for directory, _, names in os.walk(root):
        for name in names:
            data = (Path(directory) / name).read_bytes()
            if name.endswith(".py"):
                ast.parse(data.decode())
            elif name.endswith(".ipynb"):
                for cell in json.loads(data)["cells"]:
                    ast.parse(cell["source"])
    return time.process_time() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        generate(root)
        files = sum(len(names) for _, _, names in os.walk(root))
        megabytes = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 1024 / 1024
        floors, scores = [], []
        for _ in range(ROUNDS):  # interleaved, so both see the same cache state and the same machine load
            floors.append(floor(root))
            start = time.process_time()
            scored = score_tree(root)
            scores.append(time.process_time() - start)
        floor_s, score_s = statistics.median(floors), statistics.median(scores)
        # Machines here vary in speed from minute to minute: a round's floor and scoring run back to
        # back, so each round's own ratio cancels the machine's speed, and their median is the figure.
        ratio = statistics.median(score / floor for score, floor in zip(scores, floors, strict=True))
    print(f"{files} files, {megabytes:.1f} MB; score {scored.score} ({scored.level})")
    print(f"floor (read + parse once): {floor_s:.2f} s; scoring: {score_s:.2f} s")
    print(
        f"{files / score_s:,.0f} files/s, {megabytes / score_s:.1f} MB/s, "
        f"ratio to floor {ratio:.2f} (median of {ROUNDS} rounds)"
    )
    print(
        json.dumps(
            {
                "benchmark": "score_repo",
                "files": files,
                "python_files": PY_FILES,
                "notebooks": NOTEBOOKS,
                "seconds": round(score_s, 3),
                "floor_seconds": round(floor_s, 3),
                "ratio": round(ratio, 3),
                "ratios": [round(score / floor, 3) for score, floor in zip(scores, floors, strict=True)],
                "files_per_second": round(files / score_s),
                "mb_per_second": round(megabytes / score_s, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
