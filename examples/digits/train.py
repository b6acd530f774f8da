"""Train the digits classifier on one or many workers (MultiWorkerMirroredStrategy).

The job contract (set by ComputeGrant, and by Vertex AI for the same names):
  TF_CONFIG                 the cluster and this worker's index (absent: train alone)
  AIP_MODEL_DIR             where the chief exports the SavedModel
  AIP_TENSORBOARD_LOG_DIR   TensorBoard summaries
  AIP_CHECKPOINT_DIR        BackupAndRestore state, so a preempted run resumes
  CG_SEED                   the seed
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tf_keras under MWMS (see digits/model.py)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf
import tf_keras as keras
from digits.data import load_arrays, make_dataset
from digits.model import build_model


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--steps-per-epoch", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64, help="global batch size")
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--hidden-units", type=int, default=64)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=int(os.environ.get("CG_SEED", "42")))
    parser.add_argument("--model-dir", default=os.environ.get("AIP_MODEL_DIR", "output/model"))
    parser.add_argument("--log-dir", default=os.environ.get("AIP_TENSORBOARD_LOG_DIR", "output/logs"))
    parser.add_argument("--checkpoint-dir", default=os.environ.get("AIP_CHECKPOINT_DIR", "output/checkpoints"))
    return parser.parse_args(argv)


def task_info() -> tuple[str, int, int]:
    """This worker's type and index, and the number of workers, from TF_CONFIG."""
    config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    workers = len(config.get("cluster", {}).get("worker", [])) or 1
    task = config.get("task", {})
    return task.get("type", "worker"), int(task.get("index", 0)), workers


class ProgressLines(keras.callbacks.Callback):
    """One JSON line per event on stdout, for the runner's logs and its progress bar."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index
        self.first_step_seen = False

    def emit(self, **fields: object) -> None:
        print(json.dumps({"worker": self.index, "time": round(time.time(), 3), **fields}), flush=True)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if not self.first_step_seen:
            self.first_step_seen = True
            self.emit(event="first_step")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.emit(event="epoch", epoch=epoch + 1, **{k: round(float(v), 5) for k, v in (logs or {}).items()})


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()
    task_type, index, workers = task_info()
    is_chief = task_type in ("chief", "worker") and index == 0

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    x_train, x_test, y_train, y_test = load_arrays(args.seed)
    train = make_dataset(x_train, y_train, args.batch_size, args.seed, training=True)
    test = make_dataset(x_test, y_test, args.batch_size, args.seed, training=False)
    with strategy.scope():
        model = build_model(args.hidden_units, args.dropout, args.learning_rate)

    # Only the chief's logs and model are kept; the others write to scratch space (MWMS needs
    # every worker to write, or the collective save deadlocks).
    scratch = tempfile.mkdtemp(prefix=f"worker-{index}-")
    log_dir = args.log_dir if is_chief else os.path.join(scratch, "logs")
    callbacks = [
        keras.callbacks.BackupAndRestore(backup_dir=args.checkpoint_dir),
        keras.callbacks.TensorBoard(log_dir=log_dir, update_freq="epoch"),
        ProgressLines(index),
    ]
    history = model.fit(
        train,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        validation_data=test,
        callbacks=callbacks,
        verbose=0,
    )
    # save_format="tf": a SavedModel, said in the code (the path alone does not tell a reader).
    model.save(args.model_dir if is_chief else os.path.join(scratch, "model"), save_format="tf")
    final = {k: round(float(v[-1]), 5) for k, v in history.history.items()}
    print(json.dumps({"worker": index, "event": "done", "workers": workers, "chief": is_chief, **final}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
