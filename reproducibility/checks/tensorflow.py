"""TensorFlow practice: input pipelines, logging, checkpoints, export, distribution, TF2, TFLite.

Names arrive canonical (python_facts.canonical): tf.compat.v1.summary.FileWriter is
tensorflow.summary.FileWriter, tf.keras.callbacks.X and keras.callbacks.X are one name.
"""

from __future__ import annotations

import re

from reproducibility.checks import check, failed, not_applicable, partial, passed
from reproducibility.checks.determinism import global_seed_sites
from reproducibility.checks.idioms import entry_points, first_anywhere, training_line
from reproducibility.checks.saving import (
    CHECKPOINT_NAMES,
    ESTIMATOR_NAMES,
    classify_saves,
    savedmodel_exports,
)
from reproducibility.repo_view import Location, RepoView, is_test_path


def _calls_with_keyword(view: RepoView, method: str, keyword: str) -> tuple[Location | None, list[Location]]:
    """Calls of `.method(...)`: the first that passes `keyword=` (or a second positional
    argument, which for shuffle is the seed), and every one that does not."""
    first_with: Location | None = None
    without: list[Location] = []
    datasets = {path.split("#", 1)[0] for path in view.paths_using(*TF_DATA)}
    for facts in view.calling(method):
        if facts.owner not in datasets:
            continue  # random.Random(seed).shuffle(list) in a file without tf.data is no dataset's shuffle
        for line in facts.calls[method]:
            key = f"{method}:{line}"
            literal = facts.keywords.get(key, {})
            receiver, _, positional = facts.call_arguments.get(key, ("", None, 0))
            if receiver.rsplit(".", 1)[-1].lower() in PYTHON_SHUFFLERS:
                continue
            if keyword not in literal and positional < 2:
                without.append(Location(facts.path, line, facts.snippet(line)))
            elif first_with is None:
                first_with = Location(facts.path, line, facts.snippet(line))
    return first_with, without


TF_DATA = ("tensorflow.data", "tensorflow_datasets", "tensorflow.contrib.data")
# Receivers of shuffle() that are Python's or NumPy's generators, not datasets: rng.shuffle(items).
PYTHON_SHUFFLERS = frozenset({"rng", "random", "rand", "rs", "np", "numpy", "random_state", "generator"})


@check(
    "tf-data-pipeline",
    "A tf.data input pipeline with prefetch and seeded shuffles",
    "TensorFlow",
    2,
    """Feed training through tf.data, shuffle with a seed (or set a global seed) and prefetch:

    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(10_000, seed=seed).batch(64).prefetch(tf.data.AUTOTUNE)""",
)
def tf_data(view: RepoView):
    if not view.uses_tensorflow:
        return not_applicable("The code does not use TensorFlow.")
    dataset = view.find_outside_tests(*TF_DATA)
    if not dataset:
        return failed("Training is fed without tf.data (feed_dict, NumPy arrays or Python generators).")
    prefetch = view.first_call(".prefetch")
    seeded, unseeded = _calls_with_keyword(view, ".shuffle", "seed")
    unseeded = [loc for loc in unseeded if not is_test_path(loc.path)]
    loose = _without_program_seed(view, unseeded)
    problems = []
    if not prefetch:
        problems.append("no prefetch")
    if loose:
        problems.append(f"{len(loose)} shuffle(s) without a seed in programs that set no global TensorFlow seed")
    if not problems:
        how = " (unseeded shuffles take their seed from their program's global seed)" if unseeded else ""
        return passed(
            f"tf.data with prefetch and deterministic shuffles{how}.", dataset, *filter(None, (prefetch, seeded))
        )
    return partial(f"tf.data is used, but: {'; '.join(problems)}.", dataset, *loose[:3])


def _without_program_seed(view: RepoView, shuffles: list[Location]) -> list[Location]:
    """The shuffles whose program sets no global TensorFlow seed. A program is an entry point and
    the repository's files it imports; a file no entry point reaches is library code, seeded when
    anything in the repository seeds."""
    if not shuffles:
        return []
    seeding = {loc.path.split("#", 1)[0] for loc in global_seed_sites(view)}
    if not seeding:
        return shuffles
    entries = entry_points(view)
    programs = {entry: set(view.reachable([entry])) for entry in entries}
    loose = []
    for shuffle in shuffles:
        owner = shuffle.path.split("#", 1)[0]
        running = [files for files in programs.values() if owner in files]
        if owner in seeding or (not running) or any(files & seeding for files in running):
            continue
        loose.append(shuffle)
    return loose


# What writes summaries to event files; TF1 summary ops alone write nothing.
TENSORBOARD_WRITERS = (
    "keras.callbacks.TensorBoard",
    "tensorflow.summary.FileWriter",
    "tensorflow.summary.create_file_writer",
    "tensorflow.summary.SummaryWriter",
    "tensorflow.train.SummaryWriter",
    "tensorflow.contrib.summary.create_file_writer",
    "tensorflow.contrib.summary.create_summary_file_writer",
    "tensorflow.contrib.summary.always_record_summaries",
    "tensorflow.train.SummarySaverHook",
    "tensorflow.train.Supervisor",
    "tensorflow.train.MonitoredTrainingSession",
    "tensorflow.contrib.slim.learning.train",  # writes the summary op every save_summaries_secs
    "tensorboardX",
    "torch.utils.tensorboard",
)


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
    found = view.find_outside_tests(*TENSORBOARD_WRITERS)
    if found:
        return passed("Metrics are written for TensorBoard.", found)
    estimator = view.find_outside_tests(*ESTIMATOR_NAMES)
    if estimator:
        return passed("An Estimator writes TensorBoard summaries to its model_dir.", estimator)
    ops = view.find_outside_tests("tensorflow.summary", "tensorflow.contrib.summary")
    if ops:
        return failed("Summary ops are defined, but no writer (FileWriter, create_file_writer) writes them.", ops)
    return failed("No TensorBoard callback, summary writer or Estimator: reviewers cannot see training curves.")


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
    found = view.find_outside_tests(*CHECKPOINT_NAMES)
    if found:
        return passed("Training writes checkpoints.", found)
    saves = [s for s in classify_saves(view) if s.kind != "not-a-model"]
    savers = [s for s in saves if s.kind == "checkpoint"]
    if savers:
        return passed("A Saver writes checkpoints.", savers[0].location)
    estimator = view.find_outside_tests(*ESTIMATOR_NAMES)
    if estimator:
        return passed("An Estimator writes checkpoints to its model_dir.", estimator)
    looped = [s for s in saves if s.in_loop]
    if looped:
        return passed("The model is saved during training (inside the training loop).", looped[0].location)
    own = _own_saves_in_training(view)
    if own:
        return passed("The training loop saves the model as it goes (the project's own save).", own)
    if saves and first_anywhere(view, training_line):
        return partial("The model is saved only once, after training: a stopped run cannot resume.", saves[0].location)
    return failed(
        "Nothing is saved during training: no ModelCheckpoint, BackupAndRestore, tf.train.Checkpoint or Saver."
    )


OWN_SAVE = re.compile(
    r"(^|_)(save|checkpoint|snapshot)(_(pkl|pickle|model|models|checkpoint|ckpt|weights|network|networks|snapshot|state))?$"
)


def _own_saves_in_training(view: RepoView) -> Location | None:
    """A save function of the project's own (misc.save_pkl, save_checkpoint) called inside the
    loop of a file that trains."""
    # The names called anywhere that may save, from the view's call index, then only the files calling them.
    saving = {name for name in view.called_names if "save" in name or "snapshot" in name or "checkpoint" in name}
    calling = {id(facts) for name in saving for facts in view.calling(name)}
    for facts in view.python_files:
        if id(facts) not in calling:
            continue
        saves = [name for name in facts.calls if name in saving]
        if is_test_path(facts.path) or not facts.find("tensorflow", "keras"):
            continue
        for name in saves:
            lines = facts.calls[name]
            if OWN_SAVE.search(name.rsplit(".", 1)[-1]):
                for line in lines:
                    if facts.in_loop(line):
                        return Location(facts.path, line, facts.snippet(line))
    return None


@check(
    "savedmodel-export",
    "The trained model is exported as a SavedModel",
    "TensorFlow",
    2,
    """Export for serving and inspection: model.export(path) (Keras 3) or tf.saved_model.save(model, path).""",
)
def savedmodel(view: RepoView):
    if not view.uses_tensorflow:
        return not_applicable("The code does not use TensorFlow.")
    exports = savedmodel_exports(view)
    if exports:
        return passed("The model is exported as a SavedModel.", exports[0])
    saves = classify_saves(view)
    unknown = [s for s in saves if s.kind == "unknown-format"]
    if unknown:
        return partial(
            "A model is saved to a path computed at run time: whether it is a SavedModel or an .h5 file is unknown.",
            *[s.location for s in unknown[:3]],
        )
    files = [s for s in saves if s.kind in ("keras-file", "checkpoint", "weights")]
    if files:
        return failed(
            "The model is saved only as .h5/.keras files, weights or checkpoints, not as a SavedModel.",
            *[s.location for s in files[:3]],
        )
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
    strategy = view.find_outside_tests("tensorflow.distribute", "tensorflow.contrib.distribute")
    scope = view.first_call(".scope") or view.first_call(".experimental_distribute_dataset")
    if strategy and scope:
        return passed("A tf.distribute strategy runs the training.", strategy, scope)
    whole = view.find_outside_tests(
        "tensorflow.estimator.tpu.TPUEstimator", "tensorflow.contrib.tpu.TPUEstimator", "horovod", "mesh_tensorflow"
    )
    if whole:
        return passed("Training is distributed (TPUEstimator, Horovod or Mesh TensorFlow).", whole)
    distributed_config = next(
        (
            Location(f.path, int(key.rpartition(":")[2]), f.snippet(int(key.rpartition(":")[2])))
            for f, key in view.passing("train_distribute")
            if not is_test_path(f.path)
        ),
        None,
    )
    if distributed_config:
        return passed("The Estimator's RunConfig distributes training.", distributed_config)
    if strategy:
        return partial("tf.distribute is used but no strategy.scope() was found.", strategy)
    manual = view.find_outside_tests("keras.utils.multi_gpu_model") or next(
        (
            Location(facts.path, line, facts.snippet(line))
            for facts in view.python_files
            for line in facts.calls.get("tensorflow.device", [])
            # one tower per device, or devices picked by a GPU count
            if facts.in_loop(line) or (_computed_device(facts.snippet(line)) and _gpu_count_flag(view))
        ),
        None,
    )
    if manual:
        return partial("Multi-GPU by hand (towers or multi_gpu_model), not a tf.distribute strategy.", manual)
    return failed("No tf.distribute strategy: the code runs on one device only.")


def _computed_device(snippet: str) -> bool:
    argument = snippet.partition("device(")[2]
    return bool(argument) and argument[0] not in "'\")"


def _gpu_count_flag(view: RepoView) -> bool:
    """A GPU count the code is given (--num_gpus, num_gpus=, num_clones=): devices are then picked by it."""

    def find() -> bool:
        if view.passing("num_gpus") or view.passing("num_clones"):
            return True
        return any("gpus" in text.lower() or "num_clones" in text for f in view.python_files for text, _ in f.strings)

    return view.memo("gpu-count-flag", find)


# TF1 graph-mode APIs, wherever they are reached from (tf.X, tf.compat.v1.X, Keras' backend).
GRAPH_MODE = (
    "tensorflow.Session",
    "tensorflow.InteractiveSession",
    "tensorflow.placeholder",
    "tensorflow.contrib",
    "tensorflow.global_variables_initializer",
    "tensorflow.initialize_all_variables",
    "tensorflow.local_variables_initializer",
    "tensorflow.train.Saver",
    "tensorflow.variable_scope",
    "tensorflow.get_variable",
    "tensorflow.layers",
    "tensorflow.train.AdamOptimizer",
    "tensorflow.train.GradientDescentOptimizer",
    "tensorflow.train.MomentumOptimizer",
    "tensorflow.train.RMSPropOptimizer",
    "tensorflow.train.AdagradOptimizer",
    "tensorflow.train.Optimizer",
    "tensorflow.app.run",
    "tensorflow.app.flags",
    "tensorflow.flags",
    "tensorflow.disable_v2_behavior",
    "tensorflow.disable_eager_execution",
    "tensorflow.train.MonitoredTrainingSession",
    "tensorflow.train.start_queue_runners",
    "tensorflow.summary.FileWriter",
    "keras.backend.get_session",
    "keras.backend.set_session",
    "keras.backend.placeholder",
)


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
    legacy = view.find_all(*GRAPH_MODE)
    if legacy:
        return failed(
            "TF1 graph-mode code: " + ", ".join(sorted({loc.snippet[:60] for loc in legacy})[:3]), *legacy[:10]
        )
    compat = view.find_all("tensorflow.compat.v1")
    if compat:
        return partial("Only incidental tf.compat.v1 calls (logging, GPU options) in TF2 code.", *compat[:10])
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
    found = view.find_outside_tests("tensorflow.lite", "tensorflow.contrib.lite", "tensorflow_model_optimization")
    if found:
        return passed("A TFLite conversion or quantisation step exists.", found)
    return failed("No TFLite export or quantisation.")
