"""The ways real TensorFlow code trains, evaluates, runs as a program and saves, as tables.

Checks ask these functions instead of matching one spelling: TF1 sessions and Estimators, Keras in
any of its imports (names arrive canonical: tf.compat.v1.X is tensorflow.X, tf.keras.X is keras.X),
absl and tf.app programs, console scripts and the commands a README shows.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from reproducibility.markup import readmes
from reproducibility.python_facts import FEW_STRINGS
from reproducibility.repo_view import Location, PythonFacts, RepoView, is_test_path

# Methods that train, on whatever object: Keras, TF1 optimizers, custom loops.
TRAINING_METHODS = (".fit", ".fit_generator", ".train_on_batch", ".apply_gradients", ".minimize")
TRAINING_NAMES = (
    "tensorflow.estimator.train_and_evaluate",
    "tensorflow.contrib.learn.Experiment",
    "tensorflow.contrib.slim.learning.train",
    "tensorflow.contrib.training.train",
    "tensorflow.train.MonitoredTrainingSession",
)
# Estimator.train(input_fn=...) and estimator.train(...): a `.train` that is no project method.
ESTIMATOR_TRAIN_KEYWORDS = {"input_fn", "max_steps", "steps", "hooks"}

EVALUATION_METHODS = (".evaluate", ".evaluate_generator", ".test_on_batch")
EVALUATION_NAMES = (
    "tensorflow.estimator.train_and_evaluate",
    "tensorflow.metrics",
    "keras.metrics",
    "sklearn.metrics",
    "tensorflow.contrib.metrics",
    "tensorflow.contrib.slim.evaluation",
    "tensorflow.contrib.slim.metrics",
)
VALIDATION_KEYWORDS = {"validation_data", "validation_split"}
PREDICTION_METHODS = (".predict", ".predict_generator", ".predict_on_batch")
EVALUATION_SCRIPT = re.compile(r"^(eval|evaluate|evaluation|validate|validation|test|benchmark)[\w-]*\.py$", re.I)
TRAINING_SCRIPT = re.compile(r"^(train|training|main|run|finetune|fine_tune|pretrain)[\w-]*\.py$", re.I)
PREDICTION_SCRIPT = re.compile(
    r"^(predict|prediction|infer|inference|demo|detect|sample|generate|test)[\w-]*\.py$", re.I
)
EVALUATION_FLAGS = frozenset({"do_eval", "--do_eval", "eval_only", "--eval_only"})
# A program with a mode flag (--mode train|test, --phase test) evaluates in its test mode.
MODE_FLAGS = frozenset({"--mode", "--phase", "mode", "phase", "--run_mode", "--task"})
EVALUATION_MODES = frozenset({"test", "eval", "evaluate", "evaluation", "val", "valid", "validate", "validation"})
# The project's own metric code: compute_accuracy(), evaluate(), a metrics/ module.
METRIC_FUNCTION = re.compile(
    r"(accuracy|evaluat|metric|_eval\b|^eval|\bf1|psnr|ssim|\bbleu|\bfid\b|mean_ap)", re.I | re.M
)
METRIC_TEXT = re.compile(r"\b(acc|accuracy|precision|recall|f1|bleu|auc|mAP|error rate|psnr|ssim|fid)\b", re.I)

COMPARISON_REDUCERS = ("numpy.sum", "numpy.mean", "numpy.average", "tensorflow.reduce_mean", "tensorflow.reduce_sum")
# A generative model's demo: it samples, generates or visualises, and measures nothing.
SAMPLING_FUNCTION = re.compile(
    r"^(sample|samples|sampling|generate|visuali[sz]e|infer|inference|predict|demo)(_\w*)?$", re.M
)
# Text each name the two patterns above match holds (lower case): found first, at C speed.
METRIC_WORDS = ("accuracy", "evaluat", "metric", "eval", "f1", "psnr", "ssim", "bleu", "fid", "mean_ap")
SAMPLING_WORDS = ("sampl", "generat", "visuali", "infer", "predict", "demo")
PROGRAM_CALLS = ("absl.app.run", "tensorflow.app.run", "fire.Fire", "tensorflow.platform.app.run")
README_COMMAND = re.compile(r"\bpython[0-9.]*\s+(?:-u\s+)?(?:-m\s+([\w.]+)|((?:[\w.-]+/)*[\w.-]+\.py))\b")
SCRIPT_ENTRY = re.compile(r"""["']?[\w.-]+["']?\s*=\s*["']?([A-Za-z_][\w.]*)\s*:\s*[A-Za-z_]\w*""")


def first_of(facts: PythonFacts, methods: tuple[str, ...] = (), names: tuple[str, ...] = ()) -> int | None:
    """The first line in the file that calls one of the methods or uses one of the names."""
    lines = [facts.calls[m][0] for m in methods if m in facts.calls]
    if names and (found := facts.find(*names)):
        lines.append(found.line)
    return min(lines) if lines else None


def _memo(function):
    """Each finder runs once per file, however many checks ask."""
    key = function.__name__

    def memoised(facts: PythonFacts) -> int | None:
        derived = facts.derived
        if key not in derived:
            derived[key] = function(facts)
        return derived[key]

    memoised.__name__ = key
    memoised.__doc__ = function.__doc__
    return memoised


@_memo
def training_line(facts: PythonFacts) -> int | None:
    """Where the file trains a model, by any of the idioms above."""
    lines = []
    if (line := first_of(facts, TRAINING_METHODS, TRAINING_NAMES)) is not None:
        lines.append(line)
    for line in facts.calls.get(".train", []):
        receiver = facts.call_arguments.get(f".train:{line}", ("", None, 0))[0]
        keywords = facts.keywords.get(f".train:{line}", {})
        if ESTIMATOR_TRAIN_KEYWORDS & set(keywords) or "estimator" in receiver.lower():
            lines.append(line)
            break
    return min(lines) if lines else None


@_memo
def evaluation_line(facts: PythonFacts) -> int | None:
    """Where the file measures a model on data."""
    path = facts.owner
    name = path.rsplit("/", 1)[-1]
    script = (EVALUATION_SCRIPT.match(name) or "metric" in path.lower()) and not _unit_test(facts)
    lines = [1] if script else []
    if (line := first_of(facts, EVALUATION_METHODS, EVALUATION_NAMES)) is not None:
        lines.append(line)
    for method in (".fit", ".fit_generator"):
        for line in facts.calls.get(method, []):
            if not VALIDATION_KEYWORDS.isdisjoint(facts.keywords.get(f"{method}:{line}", ())):
                lines.append(line)
                break
    equal = facts.find("tensorflow.equal", "tensorflow.math.equal")
    if equal and facts.find("tensorflow.argmax", "tensorflow.math.argmax"):
        lines.append(equal.line)
    lines += [line for text, line in facts.strings if text in EVALUATION_FLAGS][:1]
    modes = [line for text, line in facts.strings if text in MODE_FLAGS]
    if modes and any(text in EVALUATION_MODES for text, _ in facts.strings):
        lines.append(modes[0])
    # `trainer.train()` beside `trainer.test()`: a program that trains or tests by a flag.
    if ".train" in facts.calls and (tests := facts.calls.get(".test") or facts.calls.get(".eval")):
        lines.append(tests[0])
    if metric := _first_function(facts, METRIC_FUNCTION):
        lines.append(facts.functions[metric])
    program = facts.derived.get("notebook", (facts,))  # a notebook's cells are one program
    if any(prediction_line(part) is not None for part in program):  # scored by a metric of its own
        lines += [line for text, line in facts.strings if METRIC_TEXT.search(text)][:1]
        # accuracy by hand: the mean or sum of a comparison, np.mean(predicted == labels)
        for name in COMPARISON_REDUCERS:
            lines += [line for line in facts.calls.get(name, []) if "==" in facts.snippet(line)][:1]
    return min(lines) if lines else None


@_memo
def prediction_line(facts: PythonFacts) -> int | None:
    """Where the file only predicts (a demo, an inference script, a generator's samples)."""
    line = first_of(facts, PREDICTION_METHODS)
    if line is not None:
        return line
    if name := _first_function(facts, SAMPLING_FUNCTION):
        return facts.functions[name]
    name = facts.path.rsplit("/", 1)[-1]
    if "#" not in facts.path and PREDICTION_SCRIPT.match(name) and not _unit_test(facts):
        return 1
    return None


def _first_function(facts: PythonFacts, pattern: re.Pattern[str]) -> str | None:
    """A function of the file whose name matches: one search over all the names, not one per name."""
    names = facts.derived.get("function-names")
    if names is None:
        names = facts.derived["function-names"] = "\n".join(facts.functions)
    match = pattern.search(names) if names else None
    if match is None:
        return None
    start = names.rfind("\n", 0, match.start()) + 1
    end = names.find("\n", match.end())
    return names[start : end if end != -1 else len(names)]


def _unit_test(facts: PythonFacts) -> bool:
    return any(module.split(".")[0] in ("unittest", "pytest", "nose") for module in facts.imports)


def is_program(facts: PythonFacts) -> bool:
    """The file does something when run: a __main__ block, app.run(main) at module level, or
    training or evaluation at module level (a tutorial script); every notebook cell runs. A file
    named as an evaluation or prediction script (evaluate.py) with calls at module level runs too."""
    if "#cell" in facts.path or facts.has_main_guard:
        return True
    name = facts.path.rsplit("/", 1)[-1]
    if facts.runs_statements and (
        EVALUATION_SCRIPT.match(name) or PREDICTION_SCRIPT.match(name) or TRAINING_SCRIPT.match(name)
    ):
        return True
    if not facts.runs_statements:  # imports, definitions and constants only: a library module
        return False
    for name in PROGRAM_CALLS:
        if any(facts.at_module_level(line) for line in facts.calls.get(name, [])):
            return True
    for line in (training_line(facts), evaluation_line(facts)):
        if line is not None and line > 1 and facts.at_module_level(line):
            return True
    return False


def entry_points(view: RepoView) -> dict[str, str]:
    """The files someone runs, each with why: programs, notebooks, console scripts, README commands.
    Tests are never entry points."""
    return view.memo("entry-points", lambda: _entry_points(view))


def _entry_points(view: RepoView) -> dict[str, str]:
    found: dict[str, str] = {}
    for facts in view.python_files:
        owner = facts.owner
        if owner in found or is_test_path(owner) or owner.rsplit("/", 1)[-1] == "setup.py":
            continue
        if is_program(facts):
            found[owner] = "a notebook" if "#cell" in facts.path else "runs as a program"
    for path, module in _console_scripts(view):
        target = view.module_path(module, path)
        if target and target not in found:
            found[target] = f"a console script declared in {path}"
    for path, text in ((document.path, document.text) for document in readmes(view)):
        folder = path.rpartition("/")[0]
        for match in README_COMMAND.finditer(text):
            module, script = match.groups()
            target = view.module_path(module) if module else _script_path(view, folder, script)
            if target and target not in found and not is_test_path(target):
                found[target] = f"run by a command in {path}"
    return found


def _script_path(view: RepoView, folder: str, script: str) -> str | None:
    script = script.removeprefix("./")
    for candidate in (f"{folder}/{script}" if folder else script, script):
        if candidate in view.paths:
            return candidate
    tail = "/" + script
    found = sorted((e.path for e in view.files if e.path.endswith(tail)), key=lambda p: (p.count("/"), p))
    return found[0] if found else None


def _console_scripts(view: RepoView) -> list[tuple[str, str]]:
    """(manifest, module) for every console script or GUI script a setup.py, setup.cfg or
    pyproject.toml declares."""
    found: list[tuple[str, str]] = []
    for entry in view.named("setup.py", "setup.cfg"):
        text = view.text(entry.path) or ""
        start = text.find("console_scripts")
        if start != -1:
            found += [(entry.path, m.group(1)) for m in SCRIPT_ENTRY.finditer(text, start, start + 4000)]
    for entry in view.named("pyproject.toml"):
        data = view.toml(entry.path) or {}
        project = _table(data, "project")
        poetry = _table(_table(data, "tool"), "poetry")
        for table in (project.get("scripts"), project.get("gui-scripts"), poetry.get("scripts")):
            if isinstance(table, dict):
                found += [(entry.path, value.split(":")[0]) for value in table.values() if isinstance(value, str)]
    return found


def first_reached(view: RepoView, finder) -> tuple[str, str, Location] | None:
    """(entry point, why it is one, what `finder` found) in the first file, reached from an entry
    point through the repository's own imports, where `finder` finds something."""
    entries = entry_points(view)
    reached = view.memo("reached-from-entry-points", lambda: view.reachable(list(entries)))
    for facts in _files_of(view, reached):
        owner = facts.owner
        if not is_test_path(owner):
            line = finder(facts)
            if line is not None:
                entry = reached[owner]
                return entry, entries[entry], Location(facts.path, line, facts.snippet(line))
    return None


def first_anywhere(view: RepoView, finder) -> Location | None:
    """The first place outside tests where `finder` finds something."""
    worth = _candidates(view, finder)
    for facts in view.python_files if worth is None else _files_of(view, worth):
        if not is_test_path(facts.owner) and (line := finder(facts)) is not None:
            return Location(facts.path, line, facts.snippet(line))
    return None


def _files_of(view: RepoView, owners: Collection[str]) -> list[PythonFacts]:
    """The facts of these files (a notebook's cells for a notebook), in file order: the few files
    a search reaches are read, not every file of the view."""
    by_owner = view.facts_by_owner
    found = [facts for owner in owners for facts in by_owner.get(owner, ())]
    found.sort(key=view.order)
    return found


def _candidates(view: RepoView, finder) -> set[str] | None:
    """The files (notebooks whole) where `finder` can find anything, from the view's indexes of
    calls, uses and function names, so that it runs on those files only; None: every file."""
    if finder is evaluation_line:
        return view.memo("evaluation-candidates", lambda: _evaluation_candidates(view))
    if finder is prediction_line:
        return view.memo("prediction-candidates", lambda: _prediction_candidates(view))
    return None


def _prediction_candidates(view: RepoView) -> set[str]:
    owners = {facts.owner for method in PREDICTION_METHODS for facts in view.calling(method)}
    owners |= view.defining(SAMPLING_FUNCTION, SAMPLING_WORDS)
    return owners | {e.path for e in view.files if e.suffix == ".py" and PREDICTION_SCRIPT.match(e.name)}


def _evaluation_candidates(view: RepoView) -> set[str]:
    """Every file evaluation_line could find something in: a superset, by the idioms' own names."""
    files: list[PythonFacts] = []
    for method in (*EVALUATION_METHODS, *PREDICTION_METHODS, ".test", ".eval"):
        files += view.calling(method)
    for keyword in VALIDATION_KEYWORDS:  # from the keyword index: every file calls fit, few validate
        files += [f for f, key in view.passing(keyword) if key.startswith((".fit:", ".fit_generator:"))]
    flags = [name for name in view.called_names if name.endswith(".add_argument") or "DEFINE_" in name]
    for name in (*flags, ".add_argument", ".add_option"):
        files += view.calling(name)
    owners = {facts.owner for facts in files}
    names = (*EVALUATION_NAMES, "tensorflow.equal", "tensorflow.math.equal")
    owners |= {path.split("#", 1)[0] for path in view.paths_using(*names)}
    owners |= view.defining(METRIC_FUNCTION, METRIC_WORDS) | view.defining(SAMPLING_FUNCTION, SAMPLING_WORDS)
    owners |= {facts.owner for facts in view.python_files if facts.strings and _flag_strings(facts)}
    owners |= {
        e.path
        for e in view.files
        if e.suffix in (".py", ".ipynb") and (EVALUATION_SCRIPT.match(e.name) or "metric" in e.path.lower())
    }
    return owners


def _flag_strings(facts: PythonFacts) -> bool:
    strings = facts.strings
    if len(strings) > FEW_STRINGS:
        # Every flag string is quoted in the source: five C-speed scans rule out most files with many strings.
        source = facts.source
        if not ("eval" in source or "mode'" in source or 'mode"' in source or "phase" in source or "task" in source):
            return False
    for text, _ in strings:  # noqa: SIM110 (a loop, not any() over a generator: this runs on every file)
        if text in FLAG_STRINGS:
            return True
    return False


FLAG_STRINGS = EVALUATION_FLAGS | MODE_FLAGS


def _table(data: dict, key: str) -> dict:
    """data[key] when it is a table: a pyproject.toml of the wrong shape crashes nothing."""
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def per_file(view: RepoView, finder) -> dict[str, Location]:
    """The first place in each file (a notebook counts as one file) where `finder` finds something."""
    found: dict[str, Location] = {}
    for facts in view.python_files:
        owner = facts.owner
        if owner in found:
            continue
        line = finder(facts)
        if line is not None:
            found[owner] = Location(facts.path, line, facts.snippet(line))
    return found


def reached_by_entry_point(view: RepoView, code: dict[str, Location]) -> tuple[str, str, Location] | None:
    """(entry point, why it is one, the code it reaches) for the first entry point that reaches
    any of the code, through the repository's own imports; None when nothing runnable does."""
    entries = entry_points(view)
    reached = view.reachable(list(entries))
    for path, location in code.items():
        if path in reached:
            entry = reached[path]
            return entry, entries[entry], location
    return None


def per_subproject(view: RepoView, finder, subprojects: list[str]) -> dict[str, tuple[str, Location] | None]:
    """For each subproject folder: (its entry point, what `finder` found in code the entry point
    reaches), or None when no entry point of that folder reaches such code."""
    entries = entry_points(view)
    found: dict[str, tuple[str, Location] | None] = {}
    for folder in subprojects:
        found[folder] = None
        for entry in (e for e in entries if e.startswith(folder)):
            for path in view.reachable([entry]):
                for facts in _facts_of(view, path):
                    line = finder(facts)
                    if line is not None and not is_test_path(facts.path):
                        found[folder] = (entry, Location(facts.path, line, facts.snippet(line)))
                        break
                if found[folder]:
                    break
            if found[folder]:
                break
    return found


def _facts_of(view: RepoView, path: str) -> list[PythonFacts]:
    if path.endswith(".ipynb"):
        return view.notebook_cells(path)
    facts = view.python(path)
    return [facts] if facts is not None else []
