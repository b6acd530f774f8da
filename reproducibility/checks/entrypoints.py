"""Entry points: how to train, how to evaluate, and trained weights or an exported model."""

from __future__ import annotations

import re

from reproducibility.checks import check, failed, not_applicable, partial, passed
from reproducibility.repo_view import Location, RepoView

TRAINING_CALLS = ("keras.Model.fit", ".fit", "tensorflow.GradientTape", ".train")


TRAINING_SCRIPT = re.compile(r"^(train|main|run)\w*\.py$")
EVALUATION_SCRIPT = re.compile(r"^(eval|evaluate|test_model|benchmark)\w*\.py$")


def _scripts(view: RepoView, pattern: re.Pattern[str], starts: tuple[str, ...]):
    """Python files (not notebook cells) whose name matches; `starts` is how any match begins."""
    return [
        facts
        for facts in view.python_files
        if (name := facts.path.rsplit("/", 1)[-1]).startswith(starts)
        and pattern.search(name)
        and "#cell" not in facts.path
    ]


@check(
    "training-entrypoint",
    "A training entry point",
    "Entry points",
    3,
    """Provide a script that trains, e.g. train.py with `if __name__ == "__main__": main()` calling model.fit.""",
)
def training(view: RepoView):
    if not view.python_files:
        return not_applicable("No Python code.")
    for facts in _scripts(view, TRAINING_SCRIPT, ("train", "main", "run")):
        tape = facts.find("tensorflow.GradientTape")
        line = min([*facts.calls.get(".fit", []), tape.line if tape else 10**9])
        if facts.has_main_guard and line < 10**9:
            return passed(f"{facts.path} trains and can be run as a script.", view_location(facts, line))
        if line < 10**9:
            return partial(f"{facts.path} trains but has no `__main__` guard.", view_location(facts, line))
    fit = view.first_call(".fit")
    if fit:
        return partial("Training code exists, but no train.py / main.py script to run it.", fit)
    return failed("No training script found (train.py calling fit or using GradientTape).")


def view_location(facts, line: int) -> Location:
    return Location(facts.path, line, facts.snippet(line))


@check(
    "evaluation-entrypoint",
    "An evaluation entry point",
    "Entry points",
    2,
    """Provide a script that evaluates a trained model, e.g. evaluate.py calling model.evaluate
and printing its metrics.""",
)
def evaluation(view: RepoView):
    if not view.python_files:
        return not_applicable("No Python code.")
    scripts = _scripts(view, EVALUATION_SCRIPT, ("eval", "test_model", "benchmark"))
    if scripts:
        return passed(f"Evaluation script {scripts[0].path}.", view_location(scripts[0], 1))
    evaluate = view.first_call(".evaluate")
    if evaluate:
        return partial("The code evaluates (model.evaluate) but there is no separate evaluation script.", evaluate)
    return failed("No evaluation script and no call to model.evaluate.")


WEIGHTS_LINK = re.compile(r"(weights|checkpoint|pretrained|model zoo|saved ?model)[^\n]{0,120}https?://", re.I)


@check(
    "weights-or-export",
    "Trained weights are published or the model is exported",
    "Entry points",
    2,
    """Link pretrained weights in the README (with a checksum), or export the trained model:

    model.save(os.environ["AIP_MODEL_DIR"])  # a SavedModel reviewers can inspect""",
)
def weights(view: RepoView):
    for entry in view.named("README.md", "README.rst", "README.txt", "README"):
        text = view.text(entry.path) or ""
        match = WEIGHTS_LINK.search(text)
        if match:
            return passed(
                "The README links trained weights.",
                Location(entry.path, text[: match.start()].count("\n") + 1),
            )
    export = (
        view.find_use("tensorflow.saved_model.save", "keras.Model.save", "keras.Model.export")
        or view.first_call(".save")
        or view.first_call(".export")
    )
    if export:
        return passed("The training code saves or exports the model.", export)
    if not view.uses_tensorflow:
        return failed("No weights are linked and no model is saved.")
    return failed("No weights are linked and the model is never saved or exported.")
