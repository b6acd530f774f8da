"""TensorFlow practice: input pipelines, logging, checkpoints, export, distribution, TF2, TFLite."""

from __future__ import annotations

from reproducibility.checks import check, failed, not_applicable, partial, passed
from reproducibility.repo_view import Location, RepoView


def _literal(view: RepoView, name: str, keyword: str) -> list[tuple[Location, object]]:
    found = []
    for facts in view.python_files:
        for key, literal in facts.keywords.items():
            call, _, line = key.rpartition(":")
            if call == name and keyword in literal:
                found.append((Location(facts.path, int(line), facts.snippet(int(line))), literal[keyword]))
    return found


def _calls_with_keyword(view: RepoView, method: str, keyword: str) -> tuple[Location | None, list[Location]]:
    """Calls of `.method(...)`: the first that passes `keyword=`, and every one that does not."""
    first_with: Location | None = None
    without: list[Location] = []
    for facts in view.python_files:
        for line in facts.calls.get(method, []):
            literal = facts.keywords.get(f"{method}:{line}")
            # A seed passed as a variable is not a literal keyword: look at the source line.
            has = (literal is not None and keyword in literal) or f"{keyword}=" in facts.snippet(line)
            if not has:
                without.append(Location(facts.path, line, facts.snippet(line)))
            elif first_with is None:
                first_with = Location(facts.path, line, facts.snippet(line))
    return first_with, without


@check(
    "tf-data-pipeline",
    "A tf.data input pipeline with prefetch and seeded shuffles",
    "TensorFlow",
    2,
    """Feed training through tf.data, shuffle with a seed and prefetch:

    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(10_000, seed=seed).batch(64).prefetch(tf.data.AUTOTUNE)""",
)
def tf_data(view: RepoView):
    if not view.uses_tensorflow:
        return not_applicable("The code does not use TensorFlow.")
    dataset = view.find_use("tensorflow.data")
    if not dataset:
        return failed("Training does not use tf.data.")
    prefetch = view.first_call(".prefetch")
    seeded, unseeded = _calls_with_keyword(view, ".shuffle", "seed")
    problems = []
    if not prefetch:
        problems.append("no prefetch")
    if unseeded:
        problems.append(f"{len(unseeded)} shuffle(s) without a seed")
    if not problems:
        return passed("tf.data with prefetch and seeded shuffles.", dataset, *filter(None, (prefetch, seeded)))
    return partial(f"tf.data is used, but: {'; '.join(problems)}.", dataset, *unseeded[:3])


@check(
    "tensorboard-logging",
    "Training logs to TensorBoard",
    "TensorFlow",
    2,
    """Log metrics for reviewers:
callbacks=[tf.keras.callbacks.TensorBoard(log_dir=os.environ["AIP_TENSORBOARD_LOG_DIR"])]""",
)
def tensorboard(view: RepoView):
    if not view.uses_tensorflow:
        return not_applicable("The code does not use TensorFlow.")
    found = view.find_use("keras.callbacks.TensorBoard", "tensorflow.summary")
    if found:
        return passed("Metrics are written for TensorBoard.", found)
    return failed("No TensorBoard callback and no tf.summary: reviewers cannot see training curves.")


@check(
    "checkpoints",
    "Checkpoints during training",
    "TensorFlow",
    2,
    """Save progress so a preempted run resumes:

    callbacks=[tf.keras.callbacks.BackupAndRestore(backup_dir=os.environ["AIP_CHECKPOINT_DIR"])]""",
)
def checkpoints(view: RepoView):
    if not view.uses_tensorflow:
        return not_applicable("The code does not use TensorFlow.")
    found = view.find_use(
        "keras.callbacks.ModelCheckpoint",
        "keras.callbacks.BackupAndRestore",
        "tensorflow.train.Checkpoint",
        "tensorflow.train.CheckpointManager",
    )
    if found:
        return passed("Training writes checkpoints.", found)
    return failed("No ModelCheckpoint, BackupAndRestore or tf.train.Checkpoint.")


@check(
    "savedmodel-export",
    "The trained model is exported as a SavedModel",
    "TensorFlow",
    2,
    """Export for serving and inspection: model.export(path) or tf.saved_model.save(model, path).""",
)
def savedmodel(view: RepoView):
    if not view.uses_tensorflow:
        return not_applicable("The code does not use TensorFlow.")
    found = view.find_use("tensorflow.saved_model.save", "keras.Model.export")
    if found:
        return passed("The model is exported as a SavedModel.", found)
    export = view.first_call(".export")
    if export:
        return passed("The model is exported (model.export).", export)
    saves = view.calls(".save")
    keras_format = [loc for loc in saves if ".keras" in loc.snippet or ".h5" in loc.snippet]
    if saves and len(keras_format) < len(saves):
        return passed("The model is saved (model.save to a directory: a SavedModel in tf_keras).", saves[0])
    if saves:
        return partial("The model is saved as a .keras/.h5 file, not as a SavedModel.", saves[0])
    return failed("The trained model is never exported.")


@check(
    "distribution-strategy",
    "Ready for distributed training",
    "TensorFlow",
    2,
    """Build the model under a strategy so it runs on many workers:

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = build_model()""",
)
def distribution(view: RepoView):
    if not view.uses_tensorflow:
        return not_applicable("The code does not use TensorFlow.")
    strategy = view.find_use("tensorflow.distribute")
    scope = view.first_call(".scope")
    if strategy and scope:
        return passed("A tf.distribute strategy builds the model in its scope.", strategy, scope)
    if strategy:
        return partial("tf.distribute is used but no strategy.scope() was found.", strategy)
    return failed("No tf.distribute strategy: the code runs on one device only.")


@check(
    "tf2-idioms",
    "TensorFlow 2 idioms (no tf.compat.v1, Session, placeholder)",
    "TensorFlow",
    2,
    """Port TF1 code to TF2: eager execution and tf.function instead of Session and placeholder
(https://www.tensorflow.org/guide/migrate).""",
)
def tf2(view: RepoView):
    if not view.uses_tensorflow:
        return not_applicable("The code does not use TensorFlow.")
    legacy = view.find_all(
        "tensorflow.compat.v1",
        "tensorflow.Session",
        "tensorflow.placeholder",
        "tensorflow.contrib",
        "tensorflow.global_variables_initializer",
    )
    if legacy:
        return failed("TF1-style code: " + ", ".join(sorted({loc.snippet[:60] for loc in legacy})[:3]), *legacy[:10])
    return passed("No TF1-only APIs.")


@check(
    "tflite-export",
    "TFLite export or quantisation",
    "TensorFlow",
    1,
    """Offer an on-device model: converter = tf.lite.TFLiteConverter.from_saved_model(path);
converter.optimizations = [tf.lite.Optimize.DEFAULT]""",
)
def tflite(view: RepoView):
    if not view.uses_tensorflow:
        return not_applicable("The code does not use TensorFlow.")
    found = view.find_use("tensorflow.lite", "tensorflow_model_optimization")
    if found:
        return passed("A TFLite conversion or quantisation step exists.", found)
    return failed("No TFLite export or quantisation.")
