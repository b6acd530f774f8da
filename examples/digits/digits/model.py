"""A small multilayer perceptron in tf_keras (Keras 2): Keras 3's fit fails under MWMS in TF 2.21."""

from __future__ import annotations

import tf_keras as keras

from digits.data import IMAGE_SIZE, NUM_CLASSES


def build_model(hidden_units: int, dropout: float, learning_rate: float) -> keras.Model:
    model = keras.Sequential(
        [
            keras.layers.Input(shape=(IMAGE_SIZE,), name="pixels"),
            keras.layers.Dense(hidden_units, activation="relu"),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
