"""Entry points: how to train, how to evaluate, and trained weights or an exported model."""

from __future__ import annotations

import re

from reproducibility.checks import Evidence, check, failed, not_applicable, partial, passed
from reproducibility.checks.idioms import (
    evaluation_line,
    first_anywhere,
    first_reached,
    per_subproject,
    prediction_line,
    training_line,
)
from reproducibility.checks.saving import model_saves
from reproducibility.markup import readmes
from reproducibility.repo_view import Location, RepoView, is_test_path
from reproducibility.subprojects import subprojects


def _each_subproject(view: RepoView, finder, folders: list[str], does: str, lacks: str):
    """A monorepo passes on the evidence of any of its projects; the reason names each one."""
    found = per_subproject(view, finder, folders)
    said = [f"{folder} {does} ({hit[0]})" if hit else f"{folder} has {lacks}" for folder, hit in found.items()]
    evidence = [hit[1] for hit in found.values() if hit]
    if not evidence:  # reached only from outside every subproject (a top-level program)
        first = first_reached(view, finder)
        evidence = [first[2]] if first else []
    return passed(f"{len(folders)} projects in one repository: {'; '.join(said)}.", *evidence[:10])


@check(
    "training-entrypoint",
    "A training entry point",
    "Entry points",
    3,
    """Provide a script that trains, e.g. train.py with `if __name__ == "__main__": main()` calling model.fit,
and show its command in the README (`python train.py --epochs 10`).""",
)
def training(view: RepoView):
    if not view.python_files:
        return not_applicable("No Python code.")
    reached = first_reached(view, training_line)
    if reached:
        entry, why, location = reached
        where = "" if location.path.split("#")[0] == entry else f", reaching the training in {location.path}"
        if folders := subprojects(view):
            return _each_subproject(view, training_line, folders, "trains", "no entry point that trains")
        return passed(f"{entry} ({why}) trains{where}.", Evidence(entry, 1), location)
    code = first_anywhere(view, training_line)
    if code:
        return partial(
            f"Training code exists ({code.path}), but no script, notebook, console script or README command runs it.",
            code,
        )
    return failed(
        "No code trains a model (fit, GradientTape with apply_gradients, optimizer.minimize, Estimator.train)."
    )


@check(
    "evaluation-entrypoint",
    "An evaluation entry point",
    "Entry points",
    2,
    """Provide a script that evaluates a trained model, e.g. evaluate.py calling model.evaluate
and printing its metrics (or an --mode eval flag), and show its command in the README.""",
)
def evaluation(view: RepoView):
    if not view.python_files:
        return not_applicable("No Python code.")
    reached = first_reached(view, evaluation_line)
    if reached:
        entry, why, location = reached
        if folders := subprojects(view):
            return _each_subproject(view, evaluation_line, folders, "evaluates", "nothing that evaluates")
        return passed(f"{entry} ({why}) evaluates: {location.snippet or location.path}.", Evidence(entry, 1), location)
    code = first_anywhere(view, evaluation_line)
    if code:
        return partial(f"Evaluation code exists ({code.path}), but nothing runnable reaches it.", code)
    prediction = first_anywhere(view, prediction_line)
    if prediction:
        return partial(
            "The code predicts, but nothing measures the model on data (no metric, no evaluate).", prediction
        )
    return failed("Nothing evaluates the model: no evaluate, metrics, validation data or evaluation script.")


WEIGHTS_WORDS = r"(weights|checkpoints?|pre-?trained|model zoo|saved ?models?|trained models?|download the model)"
WEIGHTS_LINK = re.compile(WEIGHTS_WORDS + r"[^\n]{0,160}?https?://", re.I)
WEIGHTS_MENTION = re.compile(
    r"pre-?trained (models?|weights|checkpoints?) (are|is|will be) (available|released|provided)|"
    r"(available|provided) (up)?on request",
    re.I,
)
DOWNLOAD_SCRIPT = re.compile(r"^(download|fetch|get)[\w-]*\.py$", re.I)
MODEL_FILES = re.compile(r"(\.ckpt|\.h5|\.hdf5|\.pb\b|\.tflite|checkpoint|weights|pretrained)", re.I)
WEIGHTS_URL = re.compile(
    r"^https?://\S+(\.(h5|hdf5|ckpt|pb|tflite|keras|npz|pkl|zip|tar\.gz|tgz)|weights|checkpoint)", re.I
)


def _downloaded_weights(view: RepoView) -> Location | None:
    """A weights URL in code, or a download script fetching model files."""
    for facts in view.python_files:
        if not facts.mentions("http") or is_test_path(facts.path):  # every URL is a string
            continue
        download_script = DOWNLOAD_SCRIPT.search(facts.path.rsplit("/", 1)[-1])
        names_model_files = download_script and any(MODEL_FILES.search(text) for text, _ in facts.strings)
        for text, line in facts.strings:
            if WEIGHTS_URL.match(text) or (names_model_files and text.startswith(("http://", "https://"))):
                return Location(facts.path, line, facts.snippet(line))
    return None


@check(
    "weights-or-export",
    "Trained weights are published or the model is exported",
    "Entry points",
    2,
    """Link pretrained weights in the README (with a checksum), or save the trained model:

    model.save(os.environ["AIP_MODEL_DIR"])  # a SavedModel reviewers can inspect""",
)
def weights(view: RepoView):
    if not view.python_files:
        return not_applicable("No Python code.")
    for path, text in ((document.path, document.text) for document in readmes(view)):
        match = WEIGHTS_LINK.search(text)
        if match:
            return passed(f"{path} links trained weights.", Location(path, text[: match.start()].count("\n") + 1))
    downloaded = _downloaded_weights(view)
    if downloaded:
        return passed("The code downloads published weights.", downloaded)
    saves = model_saves(view)
    if saves:
        return passed("The training code saves the trained model or its weights.", saves[0])
    for path, text in ((document.path, document.text) for document in readmes(view)):
        match = WEIGHTS_MENTION.search(text)
        if match:
            return partial(
                f"{path} mentions trained weights but links none.",
                Location(path, text[: match.start()].count("\n") + 1),
            )
    return failed("No weights are linked and the trained model is never saved.")
