"""Determinism: global seeds for every generator the code uses, and deterministic ops."""

from __future__ import annotations

import re

from reproducibility.checks import Evidence, check, failed, not_applicable, partial, passed
from reproducibility.repo_view import Location, RepoView, is_test_path

TENSORFLOW_SEEDS = (
    "keras.utils.set_random_seed",
    "tensorflow.random.set_seed",
    "tensorflow.set_random_seed",
    "tensorflow.random.set_random_seed",
)
NUMPY_SEEDS = ("numpy.random.seed",)
# Generators of their own: seeded where they are made, they leave the global one alone.
NUMPY_GENERATORS = ("numpy.random.RandomState", "numpy.random.default_rng", "numpy.random.Generator")
NUMPY_DRAWS = "numpy.random"
PYTHON_SEEDS = ("random.seed",)
# Python's random module used for anything else than seeding it.
PYTHON_DRAWS = ("random.random", "random.randint", "random.choice", "random.shuffle", "random.sample", "random.uniform")


def _outside_tests(view: RepoView, *names: str) -> Location | None:
    """The first use of any of the names outside tests: a seed set in a test seeds no training."""
    return view.find_outside_tests(*names)


def global_seed_sites(view: RepoView) -> list[Location]:
    """Every place outside tests that sets TensorFlow's global seed (tf.random.set_seed, TF1
    set_random_seed, Keras' one call, an Estimator's RunConfig(tf_random_seed=...))."""

    def find() -> list[Location]:
        found = [loc for loc in view.find_all(*TENSORFLOW_SEEDS) if not is_test_path(loc.path)]
        for facts, key in view.passing("tf_random_seed"):
            if key.startswith("tensorflow.") and not is_test_path(facts.path):
                line = int(key.rpartition(":")[2])
                found.append(Location(facts.path, line, facts.snippet(line)))
        return found

    return view.memo("tensorflow-global-seeds", find)


def tensorflow_global_seed(view: RepoView) -> Location | None:
    sites = global_seed_sites(view)
    return sites[0] if sites else None


def _used_other_than(view: RepoView, module: str, seeds: tuple[str, ...]) -> Location | None:
    """The first use outside tests of something under `module` that is not one of `seeds`."""
    names = [n for n in view.names_under(module) if not any(n == s or n.startswith(s + ".") for s in seeds)]
    return view.find_outside_tests(*names) if names else None


@check(
    "global-seed",
    "A global random seed",
    "Determinism",
    3,
    """Seed every generator once at start-up:

    tf.keras.utils.set_random_seed(seed)  # Python, NumPy and TensorFlow at once""",
)
def global_seed(view: RepoView):
    if not view.python_files:
        return not_applicable("No Python code.")
    one_call = _outside_tests(view, "keras.utils.set_random_seed")
    if one_call:
        return passed("keras.utils.set_random_seed seeds Python, NumPy and TensorFlow.", one_call)
    tensorflow = tensorflow_global_seed(view)
    numpy = _outside_tests(view, *NUMPY_SEEDS)
    python = _outside_tests(view, *PYTHON_SEEDS)
    numpy_used = _used_other_than(view, NUMPY_DRAWS, NUMPY_SEEDS + NUMPY_GENERATORS)
    python_used = _outside_tests(view, *PYTHON_DRAWS)
    seeded = [loc for loc in (tensorflow, numpy, python) if loc]
    missing = []
    if not tensorflow and view.uses_tensorflow:
        missing.append("TensorFlow (tf.random.set_seed)")
    if numpy_used and not numpy:
        missing.append("NumPy (np.random.seed), used at " + f"{numpy_used.path}:{numpy_used.line}")
    if python_used and not python:
        missing.append("Python (random.seed), used at " + f"{python_used.path}:{python_used.line}")
    if seeded and not missing:
        return passed("Every random generator the code uses is seeded.", *seeded)
    if seeded:
        return partial(f"Some generators are seeded, but not: {'; '.join(missing)}.", *seeded)
    op_level = _op_level_seed(view)
    if op_level:
        return partial("Only op-level seeds (seed= on one op, or one seeded generator); no global seed.", op_level)
    return failed("No seed is set in code (comments and strings do not count).")


SEEDED_GENERATOR = re.compile(r"(RandomState|default_rng|Generator|Random)\(\s*[^)\s]")


def _op_level_seed(view: RepoView) -> Location | None:
    """A seed passed to one op or one generator of its own (seed=, RandomState(1)): local, not global."""
    for name in (*NUMPY_GENERATORS, "random.Random"):
        for location in view.calls(name):
            if not is_test_path(location.path) and SEEDED_GENERATOR.search(location.snippet):
                return location
    seeds, states = view.passing("seed"), view.passing("random_state")  # each in file order already
    passing = sorted([*seeds, *states], key=lambda item: view.order(item[0])) if seeds and states else seeds or states
    for facts, key in passing:
        keywords = facts.keywords[key]
        if not is_test_path(facts.path) and keywords.get("seed", keywords.get("random_state")) is not None:
            line = int(key.rpartition(":")[2])  # seed=None seeds nothing
            return Location(facts.path, line, facts.snippet(line))
    return None


DETERMINISTIC_OPS = re.compile(r"TF_DETERMINISTIC_OPS\W{0,4}(1|true)", re.I)


@check(
    "op-determinism",
    "Deterministic TensorFlow ops",
    "Determinism",
    2,
    """Make TensorFlow's ops deterministic (GPU kernels included):

    tf.config.experimental.enable_op_determinism()""",
)
def op_determinism(view: RepoView):
    if not view.uses_tensorflow:
        return not_applicable("The code does not use TensorFlow.")
    found = view.find_use("tensorflow.config.experimental.enable_op_determinism")
    if found:
        return passed("Op determinism is enabled.", found)
    env = next(
        (
            (f, line)
            for f in view.python_files
            if f.mentions("TF_DETERMINISTIC_OPS")  # a quick test before reading every string
            for s, line in f.strings
            if s == "TF_DETERMINISTIC_OPS"
        ),
        None,
    )
    if env:
        facts, line = env
        return partial("TF_DETERMINISTIC_OPS is set; prefer enable_op_determinism().", Location(facts.path, line))
    for entry in view.files:
        if entry.name == "Dockerfile" or entry.suffix in (".sh", ".md", ".rst", ".yml", ".yaml", ".cfg", ".env"):
            text = view.text(entry.path) if entry.size < 1024 * 1024 else None
            if text and "TF_DETERMINISTIC_OPS" in text and (match := DETERMINISTIC_OPS.search(text)):
                line = text[: match.start()].count("\n") + 1
                return partial(
                    f"TF_DETERMINISTIC_OPS is set in {entry.path}; prefer enable_op_determinism().",
                    Evidence(entry.path, line),
                )
    return failed("TensorFlow ops may be non-deterministic: enable_op_determinism() is never called.")
