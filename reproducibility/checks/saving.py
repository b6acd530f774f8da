"""How code saves what it trained: checkpoints, weights, SavedModels, and which `.save` is which.

`.save(...)` means many things: a Keras model (HDF5, Keras 3 or SavedModel by its path and Keras
flavour), a TF1 Saver (`saver.save(sess, path)`), a project's own method, an image. The call's
receiver, positional count and path argument (a literal, or a name bound to one) tell them apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reproducibility.checks.idioms import training_line
from reproducibility.repo_view import Location, PythonFacts, RepoView, is_test_path

SAVEDMODEL_NAMES = (
    "tensorflow.saved_model.save",
    "tensorflow.saved_model.simple_save",
    "tensorflow.saved_model.builder",
    "tensorflow.saved_model.Builder",
    "keras.experimental.export_saved_model",
    "keras.models.save_model",  # a SavedModel when its path is a directory; read like model.save below
)
SAVEDMODEL_METHODS = (".export_saved_model", ".export_savedmodel", ".export_outputs_for_mode")
CHECKPOINT_NAMES = (
    "keras.callbacks.ModelCheckpoint",
    "keras.callbacks.BackupAndRestore",
    "keras.callbacks.experimental.BackupAndRestore",
    "tensorflow.train.Checkpoint",
    "tensorflow.train.CheckpointManager",
    "tensorflow.train.MonitoredTrainingSession",
    "tensorflow.train.Supervisor",
    "tensorflow.contrib.slim.learning.train",
)
# Estimators checkpoint to their model_dir and write summaries there on their own.
ESTIMATOR_NAMES = (
    "tensorflow.estimator.Estimator",
    "tensorflow.estimator.tpu.TPUEstimator",
    "tensorflow.contrib.tpu.TPUEstimator",
    "tensorflow.estimator.RunConfig",
    "tensorflow.contrib.tpu.RunConfig",
    "tensorflow.estimator.tpu.RunConfig",
    "tensorflow.contrib.learn.Estimator",
    "tensorflow.contrib.learn.RunConfig",
    "tensorflow.estimator.DNNClassifier",
    "tensorflow.estimator.LinearClassifier",
    "tensorflow.estimator.BoostedTreesClassifier",
)
KERAS_FILE = (".h5", ".hdf5", ".keras")
NOT_A_MODEL = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".svg", ".pdf", ".npy", ".npz", ".txt", ".csv", ".json", ".wav")
CHECKPOINT_RECEIVERS = ("saver", "ckpt", "checkpoint", "manager")
IMAGE_RECEIVERS = ("img", "image", "im", "fig", "plt", "pic", "photo", "frame")


@dataclass(frozen=True)
class Save:
    """One `.save(...)` / `.save_weights(...)` / `.export(...)` call and what it writes."""

    location: Location
    # "savedmodel", "keras-file" (HDF5 or .keras), "file" (another format), "unknown-format",
    # "checkpoint", "weights", "not-a-model"
    kind: str
    in_loop: bool


def classify_saves(view: RepoView) -> list[Save]:
    """Every save call outside tests, classified. A notebook's cells share the names they bind."""

    def classify() -> list[Save]:
        bound: dict[str, dict[str, str]] = {}
        for facts in view.python_files:
            if "#cell" in facts.path:
                bound.setdefault(facts.owner, {}).update(facts.bound_strings)
        # Only files calling a save method hold a save: the view's call index names them, so the
        # others are not read at all.
        saving = {id(facts) for method in SAVE_METHODS for facts in view.calling(method)}
        return [
            save
            for facts in view.python_files
            if id(facts) in saving and not is_test_path(facts.path)
            for save in _saves(facts, bound.get(facts.owner, facts.bound_strings))
            if _live(view, facts, save.location.line)
        ]

    return view.memo("saves", classify)


# Functions something calls without naming them: programs' mains, constructors, Keras' hooks.
CALLED_BY_FRAMEWORKS = frozenset({"main", "__init__", "__call__", "call", "build", "run"})


def _live(view: RepoView, facts: PythonFacts, line: int) -> bool:
    """Whether the code at this line can run: outside any function, or in a function whose name
    appears somewhere outside itself (called, or passed as a callback): a `save` method nothing
    calls saves nothing."""
    spans = [(start, end, name) for name, start, end in facts.function_spans if start <= line <= end]
    if not spans:
        return True
    start, end, name = max(spans)  # the innermost function
    if name in CALLED_BY_FRAMEWORKS or name.startswith("on_"):
        return True
    return view.memo(f"named-outside:{facts.path}:{start}", lambda: _named_outside(view, name, facts.path, start, end))


def _named_outside(view: RepoView, name: str, path: str, start: int, end: int) -> bool:
    word = re.compile(rf"\b{re.escape(name)}\b")
    for other in view.python_files:
        if name not in other.source:  # the common case, at C speed
            continue
        for match in word.finditer(other.source):
            at = other.source.count("\n", 0, match.start()) + 1
            if other.path != path or not start <= at <= end:
                return True
    return False


SAVE_METHODS = (".save", ".save_weights", ".export")
OTHER_FRAMEWORKS = frozenset({"tflearn", "tensorlayer", "sonnet"})  # models of their own, saved their own way
TENSORFLOW_FAMILY = frozenset({"tensorflow", "keras", "tf_keras", "tflearn", "sonnet", "tensorlayer", "tensorflow_hub"})


def _saves(facts: PythonFacts, bound: dict[str, str]) -> list[Save]:
    found: list[Save] = []
    if not any(method in facts.calls for method in SAVE_METHODS):
        return found
    # A file without TensorFlow that trains nothing saves images, tables and text, unless what it
    # saves is called a model (one it loaded through the project's own code).
    family = any(module.split(".")[0] in TENSORFLOW_FAMILY for module in facts.imports) or facts.find("tensorflow")
    models_only = not family and training_line(facts) is None
    keras = facts.find("keras") is not None
    standalone_keras = any(module.split(".")[0] == "keras" for module in facts.imports)
    tf1 = bool(facts.find("tensorflow.compat.v1", "tensorflow.Session", "tensorflow.placeholder"))
    other = any(module.split(".")[0] in OTHER_FRAMEWORKS for module in facts.imports)
    for method in SAVE_METHODS:
        for line in facts.calls.get(method, []):
            receiver, hint, positional = facts.call_arguments.get(f"{method}:{line}", ("", None, 0))
            if models_only and "model" not in receiver.rsplit(".", 1)[-1].lower():
                continue
            keywords = facts.keywords.get(f"{method}:{line}", {})
            path = _resolve(bound, hint if hint is not None else _keyword_path(keywords))
            location = Location(facts.path, line, facts.snippet(line))
            kind = _kind(method, receiver.lower(), path, positional, keywords, keras, standalone_keras or tf1, other)
            found.append(Save(location, kind, facts.in_loop(line)))
    return found


def _keyword_path(keywords: dict) -> str | None:
    for name in ("filepath", "export_dir", "path"):
        if name in keywords:
            value = keywords[name]
            return value if isinstance(value, str) else None
    return None


def _resolve(bound: dict[str, str], hint: str | None) -> str | None:
    """A path hint made a path where possible: "=name" is the literal the name was bound to."""
    if hint is not None and hint.startswith("="):
        return bound.get(hint[1:])
    return hint


def _kind(
    method: str,
    receiver: str,
    path: str | None,
    positional: int,
    keywords: dict,
    keras: bool,
    hdf5_keras: bool,
    other_framework: bool = False,
) -> str:
    """What one save call writes. `keras`: the file uses Keras (else `.save` is no Keras model's);
    `hdf5_keras`: standalone Keras or TF1, whose model.save writes HDF5 whatever the name."""
    last = receiver.rsplit(".", 1)[-1]
    if any(word in last for word in CHECKPOINT_RECEIVERS):
        return "checkpoint"
    if last in IMAGE_RECEIVERS or (path is not None and path.lower().endswith(NOT_A_MODEL)):
        return "not-a-model"
    if receiver == "self" or (method == ".save" and positional >= 2):
        # the project's own save method (DCGAN's save(dir, step) around a Saver, anago's
        # save(weights, params)): a file in its own format; the Saver inside is classified where it is
        return "file" if positional >= 2 else "not-a-model"
    if method == ".save_weights":
        return "weights"
    if method == ".export":
        return "savedmodel"  # Keras 3's model.export(dir) writes a SavedModel
    if keywords.get("save_format") in ("tf", "TF"):
        return "savedmodel"
    if not keras:
        if other_framework:
            return "file"  # tflearn's or TensorLayer's model.save writes that framework's own checkpoint
        if "model" in last and (path is None or "." not in path.rsplit("/", 1)[-1]):
            return "unknown-format"  # a model the file got from elsewhere: Keras or not, its format is unknown
        return "file" if receiver else "not-a-model"  # a project's or another library's object
    if path is not None and path.lower().endswith(KERAS_FILE):
        return "keras-file"
    if hdf5_keras:
        return "keras-file"
    if path is None:
        return "unknown-format"
    if "." in path.rstrip("/").rsplit("/", 1)[-1].lstrip("*."):
        return "file"  # a file name with a suffix: no SavedModel directory
    return "savedmodel"


def savedmodel_exports(view: RepoView) -> list[Location]:
    """Calls that certainly write a SavedModel."""
    found = [loc for loc in view.find_all(*SAVEDMODEL_NAMES) if "save_model(" not in loc.snippet]
    found += [loc for method in SAVEDMODEL_METHODS for loc in view.calls(method)]
    found = [loc for loc in found if not is_test_path(loc.path)]
    found += [save.location for save in classify_saves(view) if save.kind == "savedmodel"]
    return found


def model_saves(view: RepoView) -> list[Location]:
    """Anything that keeps the trained model or its weights: exports, files, checkpoints, an Estimator."""
    found = savedmodel_exports(view)
    kept = ("keras-file", "file", "unknown-format", "weights", "checkpoint")
    found += [s.location for s in classify_saves(view) if s.kind in kept]
    if not found and (named := view.find_outside_tests(*CHECKPOINT_NAMES, *ESTIMATOR_NAMES)):
        found.append(named)
    return found
