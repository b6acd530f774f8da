"""Python facts: one fast walk gives what a plain ast.walk gives, on generated programs and on cases
that used to go wrong (rebound names, late imports, hostile nesting)."""

from __future__ import annotations

import ast
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reproducibility.python_facts import MAX_BINDINGS, NOT_LITERAL, canonical, python_facts

# --- a reference: every node of ast.walk, every dotted name resolved on its own ------------------


def reference(source: str) -> dict:
    """The facts by the plainest means: ast.walk twice, each Attribute node resolved by itself,
    every prefix of every use recorded, first lines by min()."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}
    imports: dict[str, int] = {}
    uses: dict[str, int] = {}

    def use(name: str, line: int) -> None:
        uses[name] = min(line, uses.get(name, line))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imports[alias.name] = min(node.lineno, imports.get(alias.name, node.lineno))
                root = alias.name.split(".")[0]
                aliases[alias.asname or root] = alias.name if alias.asname else root
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            imports[node.module] = min(node.lineno, imports.get(node.module, node.lineno))
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                use(canonical(f"{node.module}.{alias.name}"), node.lineno)

    def dotted(expr: ast.expr) -> str | None:
        parts: list[str] = []
        while isinstance(expr, ast.Attribute):
            parts.append(expr.attr)
            expr = expr.value
        if isinstance(expr, ast.Name) and expr.id in aliases:
            return ".".join([aliases[expr.id], *reversed(parts)])
        return None

    calls: dict[str, list[int]] = {}
    keywords: dict[str, set[str]] = {}
    strings = []
    main_guard = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and (name := dotted(node)):
            use(canonical(name), node.lineno)
        elif isinstance(node, ast.Name) and node.id in aliases:
            use(canonical(aliases[node.id]), node.lineno)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and 1 < len(node.value) < 300:
            strings.append((node.value, node.lineno))
        elif isinstance(node, ast.If) and ast.unparse(node.test) in ("__name__ == '__main__'",):
            main_guard = True
        if isinstance(node, ast.Call):
            name = dotted(node.func)
            if name is not None:
                name = canonical(name)
            elif isinstance(node.func, ast.Attribute):
                name = "." + node.func.attr
            if name is not None:
                calls.setdefault(name, []).append(node.lineno)
                literal = {k.arg for k in node.keywords if k.arg}  # every keyword named, literal or not
                if literal:
                    keywords.setdefault(f"{name}:{node.lineno}", set()).update(literal)
    return {
        "imports": imports,
        "uses": uses,
        "calls": {name: sorted(lines) for name, lines in calls.items()},
        "keywords": keywords,
        "strings": sorted(strings),
        "main_guard": main_guard,
    }


def found_at(uses: dict[str, int], name: str) -> int | None:
    """The first line of a use of name or of anything under it."""
    lines = [line for used, line in uses.items() if used == name or used.startswith(name + ".")]
    return min(lines) if lines else None


# --- generated programs ------------------------------------------------------------------------

MODULES = ["tensorflow", "tensorflow.keras", "tensorflow.python.keras", "tf_keras", "keras.src", "numpy", "os.path"]
MODULES += ["pickle", "yaml", "tensorflow.compat.v1"]
ALIASES = ["tf", "np", "k", "p", "y", "L", "m"]
ATTRIBUTES = ["keras", "layers", "Dense", "data", "random", "seed", "load", "fit", "save", "summary", "v1"]
STRINGS = ["'/home/me/x.csv'", "'import this'", "'TF_DETERMINISTIC_OPS'", "'__main__'", "'a'", "''"]


@st.composite
def expressions(draw, names: list[str], depth: int = 0) -> str:
    leaves = st.sampled_from(names * 4 + ["x", "self", "(1)", *STRINGS])
    if depth >= 3:
        return draw(leaves)
    inner = expressions(names, depth + 1)
    kind = draw(st.sampled_from(["leaf", "attribute", "call", "call", "subscript", "list"]))
    if kind == "leaf":
        return draw(leaves)
    if kind == "attribute":
        return f"{draw(inner)}.{draw(st.sampled_from(ATTRIBUTES))}"
    if kind == "subscript":
        return f"{draw(inner)}[0]"
    if kind == "list":
        return f"[{draw(inner)}, {draw(inner)}]"
    arguments = draw(st.lists(inner, max_size=2))
    arguments += [f"{key}={draw(inner)}" for key in draw(st.lists(st.sampled_from(["seed", "epochs"]), max_size=2))]
    return f"{draw(inner)}({', '.join(arguments)})"


@st.composite
def programs(draw) -> str:
    bound = draw(st.lists(st.tuples(st.sampled_from(MODULES), st.sampled_from(ALIASES)), unique_by=lambda b: b[1]))
    imports = []
    for module, alias in bound:
        style = draw(st.sampled_from(["as", "plain", "from"]))
        if style == "from" and "." in module:
            parent, _, leaf = module.rpartition(".")
            imports.append(f"from {parent} import {leaf} as {alias}")
        elif style == "plain" and "." not in module and module not in ALIASES:
            imports.append(f"import {module}")
        else:
            imports.append(f"import {module} as {alias}")
    names = [alias for _, alias in bound] + [m for m in MODULES if f"import {m}" in imports]
    late = draw(st.integers(0, len(imports)))  # imports from here on come later, inside a function
    lines = imports[:late]
    for _ in range(draw(st.integers(1, 6))):
        shape = draw(st.sampled_from(["assign", "expression", "function", "main"]))
        expression = draw(expressions(names))
        if shape == "assign":
            lines.append(f"x = {expression}")
        elif shape == "expression":
            lines.append(expression)
        elif shape == "function":
            decorator = draw(expressions(names, 2))
            lines += [f"@{decorator}", f"def f(a: {draw(expressions(names, 3))} = {expression}):"]
            lines += [f"    {statement}" for statement in imports[late:]] or ["    pass"]
            lines.append(f"    return {draw(expressions(names))}")
        else:
            lines += ["if __name__ == '__main__':", f"    {expression}"]
    return "\n".join(lines) + "\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_one_walk_finds_what_walking_every_node_finds(source):
    facts = python_facts("t.py", source)
    expected = reference(source)
    assert facts.imports == expected["imports"]
    for name in expected["uses"]:  # every use, at its first line...
        assert facts.find(name) is not None, name
        assert facts.find(name).line == found_at(expected["uses"], name), name
    for name in facts.uses:  # ...and nothing else
        assert found_at(expected["uses"], name) is not None, name
    assert facts.calls == expected["calls"]
    assert {key: set(literal) for key, literal in facts.keywords.items()} == expected["keywords"]
    assert sorted(facts.strings) == expected["strings"]
    assert facts.has_main_guard == expected["main_guard"]


# --- cases ---------------------------------------------------------------------------------------


def test_a_name_bound_by_two_imports_stands_for_both():
    source = "try:\n    import cPickle as pickle\nexcept ImportError:\n    import pickle\npickle.loads(data)\n"
    assert python_facts("t.py", source).calls == {"pickle.loads": [5], "cPickle.loads": [5]}


def test_a_later_import_rebinding_a_name_counts_too():
    source = "import tensorflow as tf\nimport tensorflow.compat.v1 as tf\nx = tf.placeholder(tf.float32)\n"
    facts = python_facts("t.py", source)
    assert facts.find("tensorflow.compat.v1") and facts.find("tensorflow.placeholder")


def test_a_name_bound_by_thousands_of_imports_costs_a_bounded_number_of_walks():
    source = "".join(f"import m{i} as x\n" for i in range(20_000)) + "x.load(f)\n"
    started = time.monotonic()
    facts = python_facts("t.py", source)
    assert len(facts.calls) == MAX_BINDINGS and "m19999.load" in facts.calls and "m0.load" in facts.calls
    assert time.monotonic() - started < 30


def test_an_import_inside_a_function_resolves_uses_above_it():
    source = "def f():\n    return np.random.seed(1)\n\ndef g():\n    import numpy as np\n"
    assert python_facts("t.py", source).calls == {"numpy.random.seed": [2]}


def test_lines_are_the_first_use_whatever_the_walk_order():
    source = "import tensorflow as tf\n\n@tf.function\ndef f(x: tf.Tensor) -> tf.Tensor:\n    return tf.add(x, 1)\n"
    facts = python_facts("t.py", source)
    assert facts.find("tensorflow").line == 3 and facts.find("tensorflow.Tensor").line == 4
    assert facts.uses["tensorflow.add"] == 5


def test_several_calls_on_one_line_keep_every_literal_keyword():
    load = "keras.models.load_model"
    source = f"import keras\na = {load}('a', compile=False) or {load}('b', safe_mode=False)\n"
    facts = python_facts("t.py", source)
    assert facts.calls["keras.models.load_model"] == [2, 2]
    assert facts.keywords["keras.models.load_model:2"] == {"compile": False, "safe_mode": False}


def test_keras_spellings_share_one_name_and_keep_the_others_findable():
    source = "import tensorflow.python.keras as k\nk.layers.Dense(1)\nimport keras\nkeras.src.layers.Dense(2)\n"
    facts = python_facts("t.py", source)
    assert facts.calls == {"keras.layers.Dense": [2, 4]}
    for name in ("tensorflow", "tensorflow.python", "tensorflow.python.keras", "keras", "keras.src", "keras.layers"):
        assert facts.find(name), name


def test_keywords_keep_literal_values_and_mark_the_others():
    facts = python_facts("t.py", "model.fit(x, epochs=3, validation_data=(a, b))\n")
    assert facts.keywords[".fit:1"] == {"epochs": 3, "validation_data": NOT_LITERAL}


# --- name resolution as real TensorFlow code writes it ---------------------------------------------


def test_compat_v1_names_are_tensorflow_names_with_the_mark_of_tf1():
    facts = python_facts(
        "t.py", "import tensorflow.compat.v1 as tf\ntf.disable_v2_behavior()\nw = tf.summary.FileWriter(d)\n"
    )
    assert "tensorflow.disable_v2_behavior" in facts.calls and "tensorflow.summary.FileWriter" in facts.calls
    assert facts.find("tensorflow.compat.v1").line == 2


def test_compat_v1_keras_is_keras():
    assert canonical("tensorflow.compat.v1.keras.layers.Dense") == "keras.layers.Dense"
    assert canonical("tensorflow.compat.v2.data.Dataset") == "tensorflow.data.Dataset"
    assert canonical("tensorflow.compat.v1") == "tensorflow.compat.v1"


def test_an_import_rebound_to_its_compat_module_means_both():
    facts = python_facts("t.py", "import tensorflow as tf\ntf = tf.compat.v1\nx = tf.placeholder(tf.float32)\n")
    assert facts.find("tensorflow.placeholder") and facts.find("tensorflow.compat.v1")


def test_assignments_to_other_names_bind_nothing():
    facts = python_facts("t.py", "import tensorflow as tf\nx = tf.keras\nx.fit(1)\n")
    assert ".fit" in facts.calls and "keras.fit" not in facts.calls


def test_a_star_import_brings_the_names_its_module_imported():
    exported = {"tf": "tensorflow", "Dense": "tensorflow.keras.layers.Dense"}
    facts = python_facts(
        "a/model.py", "from ops import *\nx = tf.placeholder(1)\nDense(3)\n", star=lambda m, level, p: exported
    )
    assert "tensorflow.placeholder" in facts.calls and "keras.layers.Dense" in facts.calls


def test_relative_imports_are_recorded_as_absolute_modules():
    facts = python_facts("pkg/sub/f.py", "from . import ops\nfrom ..util import x\nimport numpy\n")
    assert {"pkg.sub", "pkg.sub.ops", "pkg.util", "pkg.util.x", "numpy"} <= set(facts.imported)


def test_save_calls_keep_their_receiver_and_what_their_path_says():
    source = (
        "path = 'out/model'\n"
        "model.save('m.h5')\n"
        "self.saver.save(sess, path)\n"
        "model.save(f'{d}/m.keras')\n"
        "model.save(os.path.join(d, 'export'))\n"
        "model.save(path)\n"
        "model.save(FLAGS.out)\n"
    )
    facts = python_facts("t.py", source)
    assert facts.call_arguments[".save:2"] == ("model", "m.h5", 1)
    assert facts.call_arguments[".save:3"] == ("self.saver", "=sess", 2)  # a Saver: its receiver tells
    assert facts.call_arguments[".save:4"][1] == "*/m.keras"
    assert facts.call_arguments[".save:5"][1] == "*export"
    assert facts.call_arguments[".save:7"][1] is None
    assert facts.bound_strings == {"path": "out/model"}


def test_loops_definitions_and_module_level_lines():
    source = "def f():\n    pass\nfor i in r:\n    g()\nclass C:\n    def on_epoch_end(self):\n        h()\nk()\n"
    facts = python_facts("t.py", source)
    assert facts.in_loop(4) and facts.in_loop(7) and not facts.in_loop(8)
    assert not facts.at_module_level(2) and facts.at_module_level(4) and facts.at_module_level(8)
    assert facts.functions == {"f": 1, "on_epoch_end": 6}


def test_top_level_class_names_are_kept_and_nested_ones_not():
    source = "class TrainConfig:\n    class Inner:\n        pass\ndef f():\n    class Local:\n        pass\n"
    facts = python_facts("m.py", source)
    assert facts.classes == ["TrainConfig"]


def test_mentions_reads_a_few_strings_and_scans_the_source_of_many():
    few = python_facts("m.py", "url = 'https://x.org/w.h5'\nhttp_timeout = 3\n")
    assert few.mentions("https://") and not few.mentions("http_timeout")  # a name is no string
    many = python_facts("m.py", "".join(f"s{i} = 'text {i}'\n" for i in range(20)) + "u = 'ftp://x/y'\n")
    assert len(many.strings) > 8
    assert many.mentions("ftp://") and not many.mentions("gopher://")


def test_a_contrib_module_named_by_assignment_resolves():
    facts = python_facts("t.py", "import tensorflow as tf\nslim = tf.contrib.slim\nslim.learning.train(op, logdir)\n")
    assert "tensorflow.contrib.slim.learning.train" in facts.calls
