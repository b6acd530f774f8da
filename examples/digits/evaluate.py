"""Evaluate an exported model on the held-out digits (the same split as training for a given seed)."""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import tf_keras as keras
from digits.data import load_arrays, make_dataset


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", default=os.environ.get("AIP_MODEL_DIR", "output/model"))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("CG_SEED", "42")))
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    _, x_test, _, y_test = load_arrays(args.seed)
    model = keras.models.load_model(args.model_dir)
    loss, accuracy = model.evaluate(make_dataset(x_test, y_test, args.batch_size, args.seed, training=False), verbose=0)
    print(json.dumps({"test_loss": round(loss, 5), "test_accuracy": round(accuracy, 5)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
