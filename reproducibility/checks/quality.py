"""Quality: code that parses, configuration instead of constants, tests run by CI, clean notebooks and trees."""

from __future__ import annotations

import ast
import bisect
import itertools
import re
from typing import Any

from reproducibility.checks import Evidence, check, failed, not_applicable, partial, passed
from reproducibility.ipython import ipython_as_python
from reproducibility.repo_view import Location, PythonFacts, RepoView, is_test_path

LARGE_FILE = 10 * 1024 * 1024

# --- notebooks as saved: read once, also those too large for the view's parse cap ---------------

INVALID = "not a valid notebook"


def notebook_cells(view: RepoView, path: str) -> tuple[list[tuple[int, dict[str, Any]]] | None, str]:
    """A notebook's cells as (index, cell), nbformat 4 or 3 alike; or None and why not.

    The reason starts with INVALID when the file is no notebook JSON; other reasons (a link, a
    file over the view's NOTEBOOK_CAP) mean it could not be judged."""
    document = view.notebook(path)
    if document is None:
        problem = view.problems.get(path)
        reason = problem.reason if problem else "unreadable"
        if reason.startswith("not a notebook") or reason == "binary file" or reason.startswith("not UTF-8"):
            return None, f"{INVALID}: {reason}"
        return None, reason
    return [(index, cell) for index, cell in enumerate(document["cells"]) if isinstance(cell, dict)], ""


def is_code(cell: dict[str, Any]) -> bool:
    return cell.get("cell_type") == "code"


def cell_source(cell: dict[str, Any]) -> str:
    source = cell.get("source", cell.get("input", ""))  # nbformat 3 calls it input
    return "".join(str(part) for part in source) if isinstance(source, list) else str(source)


def cell_count(cell: dict[str, Any]) -> Any:
    return cell.get("execution_count", cell.get("prompt_number"))


def python_parses(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


# --- the checks ----------------------------------------------------------------------------------


@check(
    "python-parses",
    "All Python code and notebooks parse",
    "Quality",
    2,
    """Fix the syntax errors listed; every file should pass `python -m py_compile`.""",
)
def parses(view: RepoView):
    if not any(e.suffix in (".py", ".ipynb") for e in view.files):
        return not_applicable("No Python code.")
    view.python_files  # parse everything once  # noqa: B018
    broken = [
        Evidence(p.path, p.line, p.reason)
        for p in list(view.problems.values())
        if p.reason.startswith(("syntax error", "unparsable")) and not _parses_on_second_look(view, p.path)
    ]
    for entry in view.files:
        if entry.suffix != ".ipynb":
            continue
        cells, why = notebook_cells(view, entry.path)
        if cells is None:
            if why.startswith(INVALID):
                broken.append(Evidence(entry.path, 0, why))
        elif view.notebook(entry.path) is None:  # read here, not by the view: parse its code here
            broken += [
                Evidence(f"{entry.path}#cell-{index}", 0, "syntax error")
                for index, cell in cells
                if is_code(cell) and not python_parses(ipython_as_python(cell_source(cell)))
            ]
    if broken:
        return failed(f"{len(broken)} file(s) or notebook cell(s) do not parse as Python 3.", *broken[:10])
    return passed("Every Python file and notebook cell parses as Python 3.")


def _parses_on_second_look(view: RepoView, where: str) -> bool:
    """Whether what the view could not parse is Python after all: a notebook cell once IPython's
    own syntax is read as IPython does, a file that starts with a UTF-8 byte-order mark."""
    path, _, cell = where.partition("#cell-")
    if cell:
        cells, _ = notebook_cells(view, path)
        source = next((cell_source(c) for i, c in cells or [] if str(i) == cell), None)
        return source is not None and python_parses(ipython_as_python(source))
    text = view.text(path)
    return text is not None and text.startswith("\ufeff") and python_parses(text[1:])


# Flags: the mechanisms that read settings from the command line, and the calls that define one.
FLAG_MODULES = (
    "argparse.ArgumentParser",
    "optparse.OptionParser",
    "absl.flags",
    "tensorflow.flags",
    "tensorflow.app.flags",
    "tensorflow.compat.v1.flags",
    "tensorflow.compat.v1.app.flags",
    "tensorflow.python.platform.flags",
    "gflags",
)
FLAG_DEFINITIONS = (".add_argument", ".add_option")
DEFINING_METHODS = (
    *FLAG_DEFINITIONS,
    *(f".DEFINE_{kind}" for kind in ("string", "integer", "float", "bool", "boolean", "enum", "list", "multi_string")),
)
DEFINE = re.compile(r"(^|\.)DEFINE_\w+$")
# Mechanisms whose settings are named elsewhere (function signatures, config files): their use is enough.
CONFIG_SYSTEMS = (
    "fire.Fire",
    "click.command",
    "click.option",
    "click.argument",
    "click.group",
    "typer",
    "hydra.main",
    "hydra.compose",
    "hydra.initialize",
    "gin.configurable",
    "gin.parse_config_file",
    "gin.parse_config_files_and_bindings",
    "gin.parse_config",
    "gin.external_configurable",
    "gin.bind_parameter",
    "ml_collections",
    "omegaconf",
    "jsonargparse",
    "configargparse",
    "simple_parsing",
)
# A setting is a hyperparameter when its name says so (--lr, batch_size, num_epochs, z_dim);
# paths, modes, devices, input sizes and thresholds of a tool are not.
HYPERPARAMETER = re.compile(
    r"(?<![a-z])(lr|learning_?rate|batch(_?size)?|epochs?|steps|iters?|iterations?|momentum|\w*decay\w*|"
    r"dropout\w*|keep_?prob\w*|hidden\w*|units|layers|heads|blocks|dim|\w+_dim|d_model|d_ff|"
    r"(batch|hidden|emb|embed|embedding|epoch|cell|kernel|filter|filters|step|window|pool|latent|state|ff|"
    r"feature|beam|vocab)_size|seq_?len\w*|max_?len\w*|max_seq_length|embedding\w*|optimi[sz]er\w*|warmup\w*|"
    r"beta\d?|l[12](_\w+)?|regulari[sz]\w*|lambda\w*|alpha|gamma|temperature|temp|top_?[kp]|margin|clip\w*|"
    r"episodes?|epsilon|eps|smoothing|n_critic|n_d|ngf|ndf|num_filters|filter_sizes|kernel\w*|channels|"
    r"hparams?|hyper_?param\w*|\w+_weight|\w+_rate|ratio)(?![a-z])"
)
FLAG_NAME = re.compile(r"-{0,2}[A-Za-z][\w.-]*")
# Loading a configuration file: these calls, on a line (or in a file naming a config file) that says config.
CONFIG_LOADERS = (
    "json.load",
    "json.loads",
    "yaml.load",
    "yaml.safe_load",
    "yaml.full_load",
    "yaml.unsafe_load",
    "oyaml.load",
    "oyaml.safe_load",
    "toml.load",
    "tomllib.load",
    "tomli.load",
)
# A config class read from its file, whatever the class is called: BertConfig.from_json_file(path).
CONFIG_CLASS_LOADERS = (".from_json_file", ".from_json_string", ".from_yaml_file")
CONFIG_WORD = re.compile(r"conf|cfg|hparam|hyper|param|setting|option", re.IGNORECASE)
CONFIG_FILE = re.compile(r"\.(json|ya?ml|toml|cfg|ini|gin)$", re.IGNORECASE)
# A place to edit: a module of constants (config.py, hparams.py), a class of them, an EasyDict.
CONFIG_MODULE = re.compile(
    r"(^|/)(\w*[_-])?(config|configs|configuration|cfg|conf|hparams?|hyperparams?|hyper_parameters|params|"
    r"parameters|settings|options|opts|constants|flags)\.py$",
    re.IGNORECASE,
)
# How a config class's name ends (BertConfig, TrainingHParams): the names are tested before the source is.
CONFIG_CLASS_ENDINGS = (
    "Config", "Configuration", "Cfg", "Conf", "HParams", "Hparams", "Hyperparameters", "Params", "Parameters",
    "Settings", "Options",
)  # fmt: skip
CONFIG_CLASS = re.compile(rf"^class\s+\w*({'|'.join(CONFIG_CLASS_ENDINGS)})\b", re.MULTILINE)
# A constant set to a value, at the start of a line of a module or class body: `LR = 1e-3`,
# `__C.TRAIN.BATCH_SIZE = 32` (a field declared `= None` holds nothing yet).
ASSIGNMENT = re.compile(r"^(?:\w+\.)*(\w+)[ \t]*(?::[^=\n]+)?=(?!=)[ \t]*(?!None\b)\S", re.MULTILINE)
CONFIG_OBJECTS = (".EasyDict", ".edict", ".HParams", ".ConfigDict", ".AttrDict", ".Namespace")


CONFIG_LOADER_NAMES = frozenset(CONFIG_LOADERS)


@check(
    "hyperparameters-configurable",
    "Hyperparameters come from configuration, not constants",
    "Quality",
    2,
    """Expose hyperparameters as flags or a config file, e.g.
parser.add_argument("--learning-rate", type=float, default=1e-3)  # or absl flags, hydra, gin""",
)
def hyperparameters(view: RepoView):
    if not view.python_files:
        return not_applicable("No Python code.")
    code = code_outside_tests(view)
    mechanism = _hyperparameter_flag(view, code) or view.find_use(*CONFIG_SYSTEMS) or _config_file_loaded(view, code)
    if mechanism:
        return passed("Hyperparameters are read from flags or a configuration file.", mechanism)
    gathered = _config_module(view, code)
    if gathered:
        return partial(
            "Hyperparameters are gathered in a configuration module, class or object to edit, not set by flags "
            "or a config file.",
            gathered,
        )
    config_files = [
        e
        for e in view.files
        if CONFIG_FILE.search(e.name)
        and CONFIG_WORD.search(e.path.rpartition(".")[0])  # setup.cfg and tox.ini configure tools, not runs
        and not e.path.startswith((".", "docs/"))
        and "/." not in e.path
    ]
    if config_files:
        return partial("Config files exist, but no code reads them.", Evidence(config_files[0].path, 1))
    hard_coded = (
        Location(f.path, int(key.rpartition(":")[2]), f.snippet(int(key.rpartition(":")[2])))
        for f in code
        for key, literal in f.keywords.items()
        if key.startswith((".fit:", ".compile:")) and ({"epochs", "batch_size", "learning_rate"} & set(literal))
    )
    return failed(
        "Hyperparameters are literals in the code: no flags, config file or config module.",
        *itertools.islice(hard_coded, 5),
    )


def is_hyperparameter(name: str) -> bool:
    return bool(HYPERPARAMETER.search(name.lstrip("-").replace("-", "_").lower()))


def _hyperparameter_flag(view: RepoView, code: list[PythonFacts]) -> Location | None:
    """The first flag (argparse, optparse, absl, tf.flags) that sets a hyperparameter, by its name."""
    flag_files = view.paths_using(*FLAG_MODULES)
    defining = {id(facts) for method in DEFINING_METHODS for facts in view.calling(method)}
    for facts in code:
        calls = facts.calls
        if facts.path not in flag_files and id(facts) not in defining:
            continue  # a file defining flags uses a flag module, or calls a parser handed to it
        definitions = sorted(
            {
                line
                for name, found in calls.items()
                if name in FLAG_DEFINITIONS or ("DEFINE_" in name and DEFINE.search(name))
                for line in found
            }
        )
        if not definitions:
            continue
        starts = [line for _, line in facts.strings]  # strings are in line order
        for index, line in enumerate(definitions):
            # The definition's arguments: strings on its line and the few after it, up to the next definition.
            last = min(line + 3, definitions[index + 1] - 1) if index + 1 < len(definitions) else line + 3
            for text, _ in facts.strings[bisect.bisect_left(starts, line) : bisect.bisect_right(starts, last)]:
                if FLAG_NAME.fullmatch(text) and is_hyperparameter(text):
                    return Location(facts.path, line, facts.snippet(line))
    if flag_files:
        # Flags defined through a wrapper of the project's own (py.arg("--lr")): the strings naming them.
        for facts in code:
            for text, line in facts.strings:
                if text.startswith("--") and FLAG_NAME.fullmatch(text) and is_hyperparameter(text):
                    return Location(facts.path, line, facts.snippet(line))
    return None


def _config_file_loaded(view: RepoView, code: list[PythonFacts]) -> Location | None:
    """A JSON / YAML / TOML configuration the code loads: the loader's line says config
    (`config = json.load(f)`), or the file names a config file (`hparams.json`)."""
    # The view's indexes name the loaders called anywhere and the files calling them, and whether
    # anything imports omegaconf: the other files are passed over without being read.
    called = [name for name in view.called_names if name in CONFIG_LOADER_NAMES or name.endswith(CONFIG_CLASS_LOADERS)]
    loading = {id(facts) for name in called for facts in view.calling(name)}
    omegaconf = "omegaconf" in view.import_roots
    if not loading and not omegaconf:
        return None
    for facts in code:
        if omegaconf and "omegaconf" in facts.imports:
            return Location(facts.path, facts.imports["omegaconf"], facts.snippet(facts.imports["omegaconf"]))
        if id(facts) not in loading:
            continue
        loaders = {name for name in called if name in facts.calls}
        names_config_file = any(CONFIG_FILE.search(text) and CONFIG_WORD.search(text) for text, _ in facts.strings)
        for line in sorted(line for name in loaders for line in facts.calls[name]):
            if names_config_file or CONFIG_WORD.search(facts.snippet(line)):
                return Location(facts.path, line, facts.snippet(line))
    return None


def _class_body(source: str, start: int) -> str:
    """The statements directly in a class body, dedented: its first level only, not its methods' code."""
    lines = source[start:].split("\n")[1:]
    body = [line for line in lines if line.strip()]
    indent = body[0][: len(body[0]) - len(body[0].lstrip())] if body else ""
    kept = []
    for line in lines:
        if line.strip() and not line.startswith(indent or " "):
            break  # back at module level: the class ends
        kept.append(line[len(indent) :] if line.startswith(indent) and not line[len(indent) :][:1].isspace() else "")
    return "\n" + "\n".join(kept)


def _config_module(view: RepoView, code: list[PythonFacts]) -> Location | None:
    """Hyperparameters gathered in one place to edit: constants in a config module or class
    (LEARNING_RATE = 1e-3), an EasyDict / HParams of them (EasyDict(beta1=0.9))."""
    builders = {name for name in view.called_names if name.endswith(CONFIG_OBJECTS)}  # from the view's index
    for facts in code:
        source = facts.source
        blocks: list[tuple[int, str]] = []  # (offset, text) of module and class bodies holding constants
        if facts.path.lower().endswith(CONFIG_MODULE_ENDINGS) and CONFIG_MODULE.search(facts.path):
            blocks.append((0, source))
        # CONFIG_CLASS matches a top-level class (its line starts with `class`) named as one: the
        # names python_facts collected are tested first, not the whole source.
        if facts.classes and any(name.endswith(CONFIG_CLASS_ENDINGS) for name in facts.classes):
            blocks += [(match.end(), _class_body(source, match.end())) for match in CONFIG_CLASS.finditer(source)]
        for offset, block in blocks:
            for match in ASSIGNMENT.finditer(block):
                if is_hyperparameter(match.group(1)):
                    line = source.count("\n", 0, offset + match.start()) + 1
                    return Location(facts.path, line, facts.snippet(line))
        for name in builders.intersection(facts.calls) if builders else ():
            for line in facts.calls[name]:
                if any(is_hyperparameter(k) for k in facts.keywords.get(f"{name}:{line}", ())):
                    return Location(facts.path, line, facts.snippet(line))
    return None


# How every CONFIG_MODULE match ends, tested first (a C-level test on every path).
CONFIG_MODULE_ENDINGS = tuple(
    f"{stem}.py"
    for stem in ("config", "configs", "configuration", "cfg", "conf", "hparam", "hparams", "hyperparam", "hyperparams",
                 "hyper_parameters", "params", "parameters", "settings", "options", "opts", "constants", "flags")
)  # fmt: skip


def code_outside_tests(view: RepoView) -> list[PythonFacts]:
    """Python files and notebook cells outside tests: settings and data of the work, not of its tests."""
    return view.memo("quality:code", lambda: [f for f in view.python_files if not is_test_path(f.path)])


CI_FILES = frozenset(
    {".travis.yml", ".gitlab-ci.yml", "azure-pipelines.yml", "appveyor.yml", ".appveyor.yml", "Jenkinsfile"}
)
# What runs tests: the runners, and the build verbs that run them.
TEST_RUNNER = re.compile(
    r"\b(py\.?test|nosetests|nose2?|unittest|tox|nox|setup\.py\s+test|make\s+(test|check)\w*|bazel\s+test)\b"
)


@check(
    "tests-and-ci",
    "Tests, and CI that runs them",
    "Quality",
    2,
    """Add tests (tests/test_*.py) and a CI workflow that runs them, e.g. .github/workflows/test.yml with
`run: python -m pytest`.""",
)
def tests_and_ci(view: RepoView):
    tests = [e for e in view.files if e.suffix == ".py" and is_test_path(e.path) and e.name != "conftest.py"]
    ci_files = [e for e in view.files if _is_ci(e.path, e.name)]
    runs_tests = [e for e in ci_files if _runs_tests(view, view.text(e.path) or "", tests)]
    if tests and runs_tests:
        return passed(f"{len(tests)} test file(s), run by {runs_tests[0].path}.", Evidence(runs_tests[0].path, 1))
    if tests and ci_files:
        return partial(
            f"{len(tests)} test file(s), but CI ({ci_files[0].path}) does not run them.", Evidence(ci_files[0].path, 1)
        )
    if tests:
        return partial(f"{len(tests)} test file(s), but no CI runs them.", Evidence(tests[0].path, 1))
    if ci_files:
        return partial("CI is configured, but there are no tests.", Evidence(ci_files[0].path, 1))
    return failed("No tests and no CI.")


def _is_ci(path: str, name: str) -> bool:
    if path.startswith(".github/workflows/"):
        return path.endswith((".yml", ".yaml"))
    return name in CI_FILES or path.startswith((".circleci/", ".azure-pipelines/"))


def _runs_tests(view: RepoView, text: str, tests: list[Any], depth: int = 0) -> bool:
    """Whether CI text calls a test runner or a test file, itself or through the scripts, Makefile
    and tox / nox files it hands the work to (one step deep)."""
    if TEST_RUNNER.search(text) or any(e.name in text for e in tests):
        return True
    if depth:
        return False
    delegated = [e for e in view.files if e.suffix in (".sh", ".bash", ".py", ".ini", ".cfg") and e.path in text]
    if re.search(r"\bmake\b", text):
        delegated += view.named("Makefile", "GNUmakefile")
    return any(_runs_tests(view, view.text(e.path) or "", tests, depth + 1) for e in delegated)


@check(
    "notebook-hygiene",
    "Notebooks are clean: run in order, no errors, small",
    "Quality",
    1,
    """Restart and run notebooks top to bottom before committing, or strip outputs (nbstripout).""",
)
def notebooks(view: RepoView):
    paths = [e.path for e in view.files if e.suffix == ".ipynb" and not e.is_symlink]
    if not paths:
        return not_applicable("No notebooks.")
    issues: list[Evidence] = []
    unread: list[str] = []
    for path in paths:
        cells, why = notebook_cells(view, path)
        if cells is None:
            if why.startswith(INVALID):
                issues.append(Evidence(path, 0, why))
            else:
                unread.append(path)
            continue
        issues += _notebook_issues(path, cells)
    if issues:
        return failed(f"{len(issues)} notebook problem(s).", *issues[:10])
    skipped = f" ({len(unread)} too large to read: {unread[0]})" if unread else ""
    return passed(f"{len(paths) - len(unread)} notebook(s) ran in order without errors{skipped}.")


def _notebook_issues(path: str, cells: list[tuple[int, dict[str, Any]]]) -> list[Evidence]:
    """Execution counts that do not increase (a repeated count is a cell run again), saved errors."""
    issues: list[Evidence] = []
    previous: tuple[int, int] | None = None  # (cell index, count)
    for index, cell in cells:
        count = cell_count(cell)
        if not is_code(cell) or not isinstance(count, int) or isinstance(count, bool) or count <= 0:
            continue  # not run: no count, or Colab's 0
        if previous is not None and count <= previous[1]:
            issues.append(Evidence(f"{path}#cell-{index}", 0, f"run out of order: count {count} after {previous[1]}"))
            break
        previous = (index, count)
    for index, cell in cells:
        outputs = cell.get("outputs") or []
        if isinstance(outputs, list) and any(
            isinstance(o, dict) and o.get("output_type") in ("error", "pyerr") for o in outputs
        ):
            name = next((o.get("ename", "") for o in outputs if isinstance(o, dict) and o.get("ename")), "")
            issues.append(Evidence(f"{path}#cell-{index}", 0, f"the saved output is an error {name}".strip()))
            break
    return issues


@check(
    "repository-hygiene",
    "No large binaries, compiled files or unreadable files in the repository",
    "Quality",
    1,
    """Keep data and weights out of git (use releases, Git LFS or a download script); add __pycache__/ and
*.pyc to .gitignore.""",
)
def hygiene(view: RepoView):
    issues = [Evidence(e.path, 0, f"{e.size / 1024 / 1024:.1f} MB") for e in view.files if e.size > LARGE_FILE]
    issues += [Evidence(e.path, 0, "compiled Python") for e in view.files if e.suffix in (".pyc", ".pyo")]
    issues += [
        Evidence(e.path, 0, "symbolic link pointing outside the repository")
        for e in view.files
        if e.is_symlink and not _link_inside(view, e.path)
    ]
    if issues:
        return failed(f"{len(issues)} file(s) do not belong in the repository.", *issues[:10])
    return passed("No large binaries, compiled files or links out of the tree.")


def _link_inside(view: RepoView, path: str) -> bool:
    try:
        target = (view.root / path).resolve()
    except (OSError, RuntimeError):  # a loop of links (RuntimeError before Python 3.13) leads nowhere inside
        return False
    return target == view.root or view.root in target.parents
