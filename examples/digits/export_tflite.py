"""Convert the exported SavedModel to a quantised TFLite model for on-device use."""

from __future__ import annotations

import argparse
import os
import sys

import tensorflow as tf


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", default=os.environ.get("AIP_MODEL_DIR", "output/model"))
    parser.add_argument("--output", default="output/digits.tflite")
    args = parser.parse_args(argv)
    converter = tf.lite.TFLiteConverter.from_saved_model(args.model_dir)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    with open(args.output, "wb") as out:
        out.write(converter.convert())
    print(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
