"""Determinism: global seeds and deterministic ops."""

from __future__ import annotations

from reproducibility.checks import check, failed, not_applicable, partial, passed
from reproducibility.repo_view import Location, RepoView


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
    one_call = view.find_use("keras.utils.set_random_seed")
    if one_call:
        return passed("keras.utils.set_random_seed seeds Python, NumPy and TensorFlow.", one_call)
    seeds = {
        "random.seed": view.find_use("random.seed"),
        "numpy.random.seed": view.find_use("numpy.random.seed", "numpy.random.default_rng"),
        "tensorflow.random.set_seed": view.find_use("tensorflow.random.set_seed", "tensorflow.set_random_seed"),
    }
    found = {name: loc for name, loc in seeds.items() if loc}
    if len(found) == 3:
        return passed("Python, NumPy and TensorFlow are all seeded.", *found.values())
    if found:
        missing = sorted(set(seeds) - set(found))
        return partial(f"Only some generators are seeded; missing {', '.join(missing)}.", *found.values())
    return failed("No seed is set in code (comments and strings do not count).")


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
    env = next(((f, line) for f in view.python_files for s, line in f.strings if s == "TF_DETERMINISTIC_OPS"), None)
    if env:
        facts, line = env
        return partial("TF_DETERMINISTIC_OPS is set; prefer enable_op_determinism().", Location(facts.path, line))
    return failed("TensorFlow ops may be non-deterministic: enable_op_determinism() is never called.")
