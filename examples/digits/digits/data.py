"""The data: scikit-learn's bundled 8x8 digits (1,797 images), split deterministically, as tf.data."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

NUM_CLASSES = 10
IMAGE_SIZE = 64  # 8 x 8 pixels, flattened


def load_arrays(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train and test arrays; the split depends only on the seed."""
    digits = load_digits()
    images = (digits.data / 16.0).astype("float32")
    labels = digits.target.astype("int64")
    return train_test_split(images, labels, test_size=0.2, random_state=seed, stratify=labels)


def make_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int, training: bool) -> tf.data.Dataset:
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    if training:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).repeat()
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
