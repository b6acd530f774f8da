"""What a Python file (or a notebook cell) uses, collected in one walk over its syntax tree.

Every check reads these facts instead of walking the tree again: imports (with aliases), every use
of an imported name resolved to its dotted name, calls with their literal keywords, string
constants, and whether the file runs as a script. Nothing is imported or executed.
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

KERAS_PREFIXES = ("tensorflow.keras.", "tensorflow.python.keras.", "tf_keras.", "keras.src.", "keras.api.")
# tf.compat.v1.X and tf.compat.v2.X are tf.X: one spelling, so every check sees TF1 code written
# either way. The name tensorflow.compat.v1 itself is kept, as the mark of TF1-style code.
COMPAT_PREFIXES = ("tensorflow.compat.v1.", "tensorflow.compat.v2.")


def canonical(name: str) -> str:
    """One spelling whatever the import: tensorflow.keras.X, tf_keras.X -> keras.X;
    tensorflow.compat.v1.X -> tensorflow.X (and so tensorflow.compat.v1.keras.X -> keras.X)."""
    if name.startswith(COMPAT_PREFIXES):
        name = "tensorflow." + name[len("tensorflow.compat.v1.") :]
    if name.startswith(KERAS_PREFIXES):  # one C-level test for the usual case: no Keras prefix
        for prefix in KERAS_PREFIXES:
            if name.startswith(prefix):
                return "keras." + name[len(prefix) :]
    if name == "tensorflow.keras" or name == "tf_keras":
        return "keras"
    return name


@dataclass(frozen=True)
class Location:
    path: str
    line: int
    snippet: str = ""


@dataclass
class PythonFacts:
    """What a Python file (or a notebook cell) uses, with imports resolved through aliases.

    Lines are the first in the file (the smallest line number), whatever the walk's order.
    """

    path: str
    # The file's own path (a notebook's for its cells): the same string as path for a Python file
    owner: str = ""
    imports: dict[str, int] = field(default_factory=dict)  # module -> first line
    # qualified name -> first line (calls and attributes); a use of a.b.c is a use of a.b and a too:
    # query with find() (or RepoView.find_use), which matches names under the one asked for
    uses: dict[str, int] = field(default_factory=dict)
    calls: dict[str, list[int]] = field(default_factory=dict)  # qualified name of a call -> lines, ascending
    keywords: dict[str, dict[str, Any]] = field(default_factory=dict)  # "name:line" -> literal keywords
    strings: list[tuple[str, int]] = field(default_factory=list)
    has_main_guard: bool = False
    runs_statements: bool = False  # statements at module level beyond imports, definitions and constants
    # What other files and checks need beyond uses and calls:
    exports: dict[str, str] = field(default_factory=dict)  # names a `from this import *` brings: name -> module
    imported: list[str] = field(
        default_factory=list
    )  # dotted modules this file may import (relative ones made absolute)
    definitions: list[tuple[int, int]] = field(default_factory=list)  # line spans of top-level defs and classes
    classes: list[str] = field(default_factory=list)  # names of the top-level classes
    # For calls of the methods in ARGUMENT_METHODS: "name:line" -> (receiver, path hint, positional count);
    # the receiver is "saver", "self.saver", "self" or "" and the hint what the first argument says.
    call_arguments: dict[str, tuple[str, str | None, int]] = field(default_factory=dict)
    bound_strings: dict[str, str] = field(default_factory=dict)  # name = "literal" anywhere in the file
    functions: dict[str, int] = field(default_factory=dict)  # names of the functions defined -> first line
    source: str = field(default="", repr=False)
    _lines: list[str] | None = field(default=None, repr=False, compare=False)
    _ordered: list[str] | None = field(default=None, repr=False, compare=False)
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # checks' memo per file

    @property
    def lines(self) -> list[str]:
        """The source's lines, split only when a check needs a snippet."""
        if self._lines is None:
            self._lines = self.source.splitlines()
        return self._lines

    def snippet(self, line: int) -> str:
        lines = self.lines
        return lines[line - 1].strip()[:160] if 0 < line <= len(lines) else ""

    def mentions(self, fragment: str) -> bool:
        """Whether a string constant of the file may hold the fragment: a test that rules files out
        before their strings are read. With few strings, they are read (a scan of the whole source
        costs more); with many, the source is scanned at C speed (every constant is quoted in it)."""
        strings = self.strings
        if len(strings) > FEW_STRINGS:
            return fragment in self.source
        for text, _ in strings:  # noqa: SIM110 (a loop, not any() over a generator: this runs on every file)
            if fragment in text:
                return True
        return False

    def at_module_level(self, line: int) -> bool:
        """Whether the line runs when the file runs (outside every top-level def and class)."""
        return not any(start <= line <= end for start, end in self.definitions)

    @property
    def loops(self) -> list[tuple[int, int]]:
        """Line spans of loops and of callbacks' per-epoch hooks (on_epoch_end): a second look at
        the file, taken only for the few files a check asks about (those that save a model)."""
        return self._structure()[0]

    @property
    def function_spans(self) -> list[tuple[str, int, int]]:
        """Every def: (name, first line, last line); a second look, as for loops."""
        return self._structure()[1]

    def in_loop(self, line: int) -> bool:
        return any(start <= line <= end for start, end in self.loops)

    def _structure(self) -> tuple[list[tuple[int, int]], list[tuple[str, int, int]]]:
        found = self.derived.get("structure")
        if found is None:
            loops: list[tuple[int, int]] = []
            spans: list[tuple[str, int, int]] = []
            for node in ast.walk(ast.parse(self.source)):
                if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
                    loops.append((node.lineno, node.end_lineno or node.lineno))
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    end = node.end_lineno or node.lineno
                    spans.append((node.name, node.lineno, end))
                    if node.name.startswith("on_") and _LOOP_HOOK.match(node.name):
                        loops.append((node.lineno, end))
            found = self.derived["structure"] = (loops, spans)
        return found

    def find(self, *names: str) -> Location | None:
        """The first use of any of the qualified names (or of anything under them)."""
        ordered = self._ordered
        if ordered is None or len(ordered) != len(self.uses):  # sorted once, when checks start asking
            ordered = self._ordered = sorted(self.uses)
        uses = self.uses
        best: int | None = None
        for name in names:
            line = uses.get(name)
            if line is not None and (best is None or line < best):
                best = line
            under = name + "."
            index, size = bisect_left(ordered, under), len(ordered)
            while index < size and ordered[index].startswith(under):  # no slice: it would copy the tail
                line = uses[ordered[index]]
                if best is None or line < best:
                    best = line
                index += 1
        return Location(self.path, best, self.snippet(best)) if best is not None else None


# Below this many strings, reading each costs less than scanning the source for a fragment (measured).
FEW_STRINGS = 8

StarExports = Callable[[str, int, str], "dict[str, str] | None"]


def python_facts(
    path: str,
    source: str,
    names: Names | None = None,
    star: StarExports | None = None,
    inherited: dict[str, str] | None = None,
) -> PythonFacts:
    """Parse source (raises SyntaxError or ValueError) and collect its facts in one walk.

    `names` caches resolved dotted names; pass the same one for every file of a repository.
    `star(module, level, path)` answers what `from module import *` binds when the module is the
    repository's own (its exports), or None: so `tf` reaches a file through `from ops import *`.
    `inherited` are names bound before the source starts (a notebook's earlier cells).
    """
    tree = ast.parse(source, filename=path)
    facts = PythonFacts(path=path, owner=path.partition("#")[0], source=source)
    names = names or Names()
    aliases, rebound = _imports(tree, source, facts, star, inherited)
    facts.exports = {name: target for name, target in aliases.items() if not name.startswith("_")}
    for statement in tree.body:
        kind = statement.__class__
        if kind in _DEFINITIONS:
            facts.definitions.append((statement.lineno, statement.end_lineno or statement.lineno))
            if isinstance(statement, ast.ClassDef):
                facts.classes.append(statement.name)
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # a docstring
        elif isinstance(statement, ast.If) and _is_main_guard(statement):
            continue
        elif kind not in _LIBRARY_STATEMENTS or (kind is ast.Assign and _calls(statement)):
            facts.runs_statements = True
    _walk(tree, aliases, facts, names)
    # A name bound by several imports (try/except fallbacks, a later rebinding) may mean any of
    # them: walk again with each other binding, so no use of any of them goes unseen. Rare.
    for index in range(max((len(targets) for targets in rebound.values()), default=1) - 1):
        other = PythonFacts(path=path, source=source)
        _walk(tree, {**aliases, **{n: t[index] for n, t in rebound.items() if index < len(t) - 1}}, other, names)
        _merge(facts, other)
    return facts


# --- imports: statements only ------------------------------------------------------------------

MAX_BINDINGS = 8  # modules one name may stand for (try/except fallbacks); more is hostile
_STATEMENT_LISTS = ("body", "orelse", "handlers", "finalbody", "cases")
_STATEMENT_CHILDREN: dict[type, tuple[str, ...]] = {}


def _imports(
    tree: Any,
    source: str,
    facts: PythonFacts,
    star: StarExports | None = None,
    inherited: dict[str, str] | None = None,
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Imports, and the names they bind: (name -> module, name -> every module when bound several times).

    Imports are statements, never expressions, so only statements are visited, in source order (a
    later import rebinding a name wins, as when the module runs). Aliases are known before the
    walk, so a use above a late import still resolves. Every import statement holds the word
    `import`: when the top-level imports account for every occurrence in the text, no import is
    nested anywhere and the nested statements need no visit.
    """
    aliases: dict[str, str] = dict(inherited) if inherited else {}
    rebound: dict[str, list[str]] = {}
    Import, ImportFrom, Assign = ast.Import, ast.ImportFrom, ast.Assign
    top_level = 0
    for statement in tree.body:  # a loop, not a comprehension: every file and cell comes here
        kind = statement.__class__
        if kind is Import or kind is ImportFrom:
            top_level += 1
    if source.count("import") == top_level:
        for statement in tree.body:
            kind = statement.__class__
            if kind is Import or kind is ImportFrom:
                _bind(statement, aliases, rebound, facts, star)
            elif kind is Assign:
                _rebind(statement, aliases, rebound)
        return aliases, rebound
    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        kind = node.__class__
        if kind is ast.Import or kind is ast.ImportFrom:
            _bind(node, aliases, rebound, facts, star)
        elif kind is ast.Assign:
            _rebind(node, aliases, rebound)
        else:
            fields = _STATEMENT_CHILDREN.get(kind)
            if fields is None:
                fields = tuple(f for f in reversed(getattr(kind, "_fields", ())) if f in _STATEMENT_LISTS)
                _STATEMENT_CHILDREN[kind] = fields
            for name in fields:
                stack.extend(reversed(getattr(node, name)))
    return aliases, rebound


def _bind(
    node: Any,
    aliases: dict[str, str],
    rebound: dict[str, list[str]],
    facts: PythonFacts,
    star: StarExports | None = None,
) -> None:
    imports = facts.imports
    line = node.lineno
    bound: list[tuple[str, str]] = []
    if node.__class__ is ast.Import:
        for alias in node.names:
            module = alias.name
            facts.imported.append(module)
            if module not in imports or line < imports[module]:
                imports[module] = line
            if alias.asname:
                bound.append((alias.asname, module))
            else:
                root = module.partition(".")[0]
                bound.append((root, root))
    else:
        module = node.module
        if node.level:  # the repository's own code: only where it leads, as an absolute name
            base = _package(facts.path, node.level)
            if base is not None:
                module = ".".join(filter(None, (base, module)))
                facts.imported.append(module)
                facts.imported.extend(f"{module}.{alias.name}".lstrip(".") for alias in node.names if alias.name != "*")
            if star is not None and any(alias.name == "*" for alias in node.names):
                for name, target in (star(node.module or "", node.level, facts.path) or {}).items():
                    bound.append((name, target))
            else:
                return
        elif not module:
            return
        else:
            imported = facts.imported
            imported.append(module)
            if module not in imports or line < imports[module]:
                imports[module] = line
            uses = facts.uses
            for alias in node.names:  # one loop, no generator: every file has imports
                if alias.name == "*":
                    exported = star(module, 0, facts.path) if star is not None else None
                    bound.extend((exported or {}).items())
                    continue
                qualified = f"{module}.{alias.name}"
                imported.append(qualified)
                bound.append((alias.asname or alias.name, qualified))
                _use(uses, canonical(qualified), line)
    for name, target in bound:
        known = aliases.get(name)
        if known is not None and known != target:
            targets = rebound.setdefault(name, [known])
            if target in targets:
                targets.remove(target)
            elif len(targets) == MAX_BINDINGS:  # each binding costs a walk: keep the first ones and the last
                targets.pop()
            targets.append(target)  # the last binding last: it is the one in `aliases`
        aliases[name] = target


def _rebind(node: Any, aliases: dict[str, str], rebound: dict[str, list[str]]) -> None:
    """`tf = tf.compat.v1`: an import's name rebound to a module under it stands for that module
    too, as a second import would; `slim = tf.contrib.slim` binds a new name to a contrib module."""
    target = node.targets[0] if len(node.targets) == 1 else None
    if target is None or target.__class__ is not ast.Name:
        return
    attributes: list[str] = []
    value = node.value
    while value.__class__ is ast.Attribute:
        attributes.append(value.attr)
        value = value.value
    if not attributes or value.__class__ is not ast.Name or value.id not in aliases:
        return
    dotted = ".".join([aliases[value.id], *reversed(attributes)])
    known = aliases.get(target.id)
    if known is None:
        # `slim = tf.contrib.slim`: TF1 code names contrib modules this way instead of importing them.
        if dotted.startswith("tensorflow.contrib."):
            aliases[target.id] = dotted
        return
    if known != dotted:
        targets = rebound.setdefault(target.id, [known])
        if dotted in targets:
            targets.remove(dotted)
        elif len(targets) == MAX_BINDINGS:
            targets.pop()
        targets.append(dotted)
        aliases[target.id] = dotted


def _package(path: str, level: int) -> str | None:
    """The dotted package a relative import of this level starts from, or None above the root."""
    parts = path.split("#", 1)[0].split("/")[:-1]
    if level - 1 > len(parts):
        return None
    return ".".join(parts[: len(parts) - (level - 1)])


def _use(uses: dict[str, int], name: str, line: int) -> None:
    known = uses.get(name)
    if known is None or line < known:
        uses[name] = line


def _merge(facts: PythonFacts, other: PythonFacts) -> None:
    """Add what a walk with other bindings found: earliest lines, every call once per place."""
    for name, line in other.uses.items():
        _use(facts.uses, name, line)
    for name, lines in other.calls.items():
        known = Counter(facts.calls.get(name, []))
        facts.calls[name] = sorted((known | Counter(lines)).elements())
    for key, literal in other.keywords.items():
        facts.keywords[key] = {**literal, **facts.keywords.get(key, {})}


# --- one walk over every expression ------------------------------------------------------------

# Fields that never hold a node worth visiting: names, flags, operators and Load/Store contexts
# (contexts and operators are a third of all nodes and never interesting).
_LEAF_FIELDS = frozenset(
    {
        "ctx",
        "op",
        "ops",
        "type_comment",
        "type_ignores",
        "id",
        "attr",
        "arg",
        "name",
        "names",
        "asname",
        "module",
        "level",
        "kind",
        "conversion",
        "is_async",
        "simple",
        "kwd_attrs",
        "rest",
    }
)
# Statements read by _imports, or holding names only.
_SKIPPED = frozenset({ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal})
_DEFINITIONS = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef})
# Top-level statements a library module is made of: imports, definitions, docstrings and constants,
# `if __name__ == "__main__":` blocks. Anything else (a call, a loop, `x = f()`) runs when the
# file runs, as a script's statements do.
_LIBRARY_STATEMENTS = frozenset({ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.Pass, *_DEFINITIONS})


def _calls(statement: Any) -> bool:
    return any(node.__class__ is ast.Call for node in ast.walk(statement.value))


# Callbacks' per-epoch, per-batch and per-step hooks (Keras, keras-rl) run in the training loop.
_LOOP_HOOK = re.compile(r"^on_\w*(epoch|batch|step|episode)")
# Methods whose receiver and first argument checks read: `saver.save(sess, path)` is no model
# export, `model.save("m.h5")` is no SavedModel.
ARGUMENT_METHODS = frozenset({"save", "save_weights", "export", "shuffle", "train", "run"})
NOT_LITERAL: Any = ...  # the value kept for a keyword whose value is not a literal
# Keywords checks ask about whatever their value: kept when it is no literal too (only these, as
# keeping every keyword of every call costs the walk a fifth more).
NAMED_KEYWORDS = frozenset(
    {
        "validation_data", "validation_split", "validation_steps", "train_distribute", "eval_distribute",
        "tf_random_seed", "seed", "random_state", "input_fn", "max_steps", "steps", "hooks", "num_gpus",
        "num_clones", "file_hash", "md5_hash", "md5", "hash_prefix", "sha256", "checksum", "known_hash",
        "save_format", "filepath", "export_dir", "path", "revision", "name", "tfds_name", "safe_mode",
        "allow_pickle", "Loader", "epochs", "batch_size", "learning_rate",
    }
)  # fmt: skip
# Per node type, the fields to visit.
_CHILDREN: dict[type, tuple[str, ...]] = {}


def _children(kind: type) -> tuple[str, ...]:
    fields = tuple(f for f in getattr(kind, "_fields", ()) if f not in _LEAF_FIELDS)
    _CHILDREN[kind] = fields
    return fields


class Names:
    """Dotted names already resolved, shared by every file of a repository: the same chains
    (tf.keras.layers.Dense) recur in file after file, so each is joined and canonicalised once.

    A name is a list: [canonical form, dotted form, {attribute: the name one link further},
    the uses to record for it, every use its chain implies]. A use of a name implies the uses of
    everything before it in its chain (tf.keras.layers.Dense: tf, tf.keras, tf.keras.layers); those
    under its canonical form (keras, keras.layers) are found through it by prefix, so only the
    others (tensorflow) are recorded beside it.
    """

    def __init__(self) -> None:
        self.roots: dict[str, list[Any]] = {}
        self.methods: dict[str, str] = {}  # attribute -> ".attribute", the name of a call on something unnamed

    def root(self, target: str) -> list[Any]:
        name = self.roots.get(target)
        if name is None:
            used = canonical(target)
            name = self.roots[target] = [used, target, {}, (used,), (used,)]
        return name


def _further(name: list[Any], attribute: str) -> list[Any]:
    dotted = f"{name[1]}.{attribute}"
    used = canonical(dotted)
    implied = name[4] if used in name[4] else (*name[4], used)
    recorded = (used, *[other for other in name[4] if other != used and not used.startswith(other + ".")])
    further: list[Any] = [used, dotted, {}, recorded, implied]
    name[2][attribute] = further
    return further


def _chain(node: Any, aliases: dict[str, str], names: Names, uses: dict[str, int]) -> tuple[list[Any] | None, Any]:
    """Resolve an attribute chain a.b.c once: (its name if it starts at an import, else None; the
    expression at its root if that still needs walking, e.g. the call in f().b).

    The chain is a use at its line (and so, by prefix, is everything before it).
    """
    attributes = [node.attr]
    value = node.value
    while value.__class__ is ast.Attribute:
        attributes.append(value.attr)
        value = value.value
    if value.__class__ is not ast.Name:
        return None, value
    target = aliases.get(value.id)
    if target is None:
        return None, None
    name = names.roots.get(target) or names.root(target)
    for attribute in reversed(attributes):
        name = name[2].get(attribute) or _further(name, attribute)
    line = value.lineno
    for used in name[3]:
        known = uses.get(used)
        if known is None or line < known:
            uses[used] = line
    return name, None


def _walk(tree: ast.AST, aliases: dict[str, str], facts: PythonFacts, names: Names) -> None:
    """One walk over the tree: uses, calls with literal keywords, strings, the __main__ guard.

    Profiling showed the walk, not the parse, dominating: so leaf nodes are handled where they are
    met, each attribute chain is resolved once rather than once per link, the commonest nodes
    push their children directly, and contexts, operators and argument names are never visited.
    """
    uses, calls, keywords, strings = facts.uses, facts.calls, facts.keywords, facts.strings
    functions = facts.functions
    Name, Attribute, Call, Constant = ast.Name, ast.Attribute, ast.Call, ast.Constant
    Expr, Assign, Return, If, arguments = ast.Expr, ast.Assign, ast.Return, ast.If, ast.arguments
    FunctionDef = ast.FunctionDef
    children = _CHILDREN
    methods, roots = names.methods, names.roots
    stack: list[Any] = [tree]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        node = pop()
        kind = node.__class__
        if kind is Name:
            target = aliases.get(node.id)
            if target is not None:
                used = (roots.get(target) or names.root(target))[0]
                line = node.lineno
                known = uses.get(used)
                if known is None or line < known:
                    uses[used] = line
        elif kind is Call:
            func = node.func
            root = None
            name: str | None
            if func.__class__ is Attribute:
                value = func.value
                if value.__class__ is Name and value.id not in aliases:  # the commonest call: model.fit(...)
                    resolved = None
                else:
                    resolved, root = _chain(func, aliases, names, uses)
                if resolved is None:  # a method on something unnamed, e.g. model.fit: ".fit"
                    name = methods.get(func.attr) or methods.setdefault(func.attr, "." + func.attr)
                else:
                    name = resolved[0]
            elif func.__class__ is Name:
                target = aliases.get(func.id)
                if target is None:
                    name = None
                else:
                    name = (roots.get(target) or names.root(target))[0]
                    line = func.lineno
                    known = uses.get(name)
                    if known is None or line < known:
                        uses[name] = line
            else:
                name = None
                root = func
            arguments_ = node.keywords
            if name is not None:
                line = node.lineno
                lines = calls.get(name)
                if lines is None:
                    calls[name] = [line]
                else:
                    lines.append(line)
                if func.__class__ is Attribute and func.attr in ARGUMENT_METHODS:
                    facts.call_arguments[f"{name}:{line}"] = (
                        _receiver(func.value),
                        _path_hint(node.args[0]) if node.args else None,
                        len(node.args),
                    )
                if arguments_:
                    # One loop, no comprehensions (each would be a frame of its own): the values are
                    # pushed in keyword order, and the literals kept on the way.
                    literal = None
                    for keyword in arguments_:
                        value = keyword.value
                        push(value)
                        argument = keyword.arg
                        if argument:
                            if value.__class__ is Constant:
                                kept = value.value
                            elif argument in NAMED_KEYWORDS:
                                kept = NOT_LITERAL
                            else:
                                continue
                            if literal is None:
                                literal = {argument: kept}
                            else:
                                literal[argument] = kept
                    if literal is not None:
                        key = f"{name}:{line}"
                        if key in keywords:  # several calls on one line: keep every keyword, the first value
                            keywords[key] = {**literal, **keywords[key]}
                        else:
                            keywords[key] = literal
            elif arguments_:
                for keyword in arguments_:
                    push(keyword.value)
            extend(node.args)
            if root is not None:
                push(root)
        elif kind is Attribute:
            value = node.value
            if value.__class__ is not Name or value.id in aliases:  # not self.x: a chain to resolve
                _, root = _chain(node, aliases, names, uses)
                if root is not None:
                    push(root)
        elif kind is Constant:
            value = node.value
            if value.__class__ is str and 1 < len(value) < 300:
                strings.append((value, node.lineno))
        elif kind is Assign:
            value = node.value
            push(value)
            extend(node.targets)
            if value.__class__ is Constant and value.value.__class__ is str and len(node.targets) == 1:
                target = node.targets[0]
                if target.__class__ is Name:
                    facts.bound_strings[target.id] = value.value
        elif kind is FunctionDef:
            functions.setdefault(node.name, node.lineno)
            _push_arguments(node.args, push, extend)  # here, not pushed: one visit less per function
            extend(node.body)
            extend(node.decorator_list)
            if node.returns is not None:
                push(node.returns)
        elif kind is Expr or kind is Return:
            if node.value is not None:
                push(node.value)
        elif kind is arguments:  # a lambda's or an async def's
            _push_arguments(node, push, extend)
        elif kind in _SKIPPED:
            continue
        else:
            if kind is If and not facts.has_main_guard and _is_main_guard(node):
                facts.has_main_guard = True
            fields = children.get(kind)
            if fields is None:
                fields = _children(kind)
            for field_name in fields:
                child = getattr(node, field_name, None)
                if child.__class__ is list:
                    extend(child)
                elif child is not None:
                    push(child)
    for lines in calls.values():
        if len(lines) > 1:
            lines.sort()
    if len(strings) > 1:
        strings.sort(key=itemgetter(1))  # the walk's order is not the source's


def _push_arguments(node: Any, push: Callable[[Any], None], extend: Callable[[Any], None]) -> None:
    """A signature's defaults and annotations; the arg nodes themselves only hold names."""
    extend(node.defaults)
    if node.kw_defaults:
        extend([d for d in node.kw_defaults if d is not None])  # None: no default
    for arg in (*node.posonlyargs, *node.args, node.vararg, *node.kwonlyargs, node.kwarg):
        if arg is not None and arg.annotation is not None:
            push(arg.annotation)


def _receiver(value: Any) -> str:
    """`saver` for saver.save(...), `self.saver` for self.saver.save(...), else ""."""
    if value.__class__ is ast.Name:
        return value.id
    if value.__class__ is ast.Attribute and value.value.__class__ is ast.Name:
        return f"{value.value.id}.{value.attr}"
    return ""


def _path_hint(argument: Any) -> str | None:
    """What a path argument says of itself: the literal; the literal tail of an f-string, a
    concatenation or os.path.join(..., "m.h5"); "=name" for a plain name (resolved later); or None."""
    kind = argument.__class__
    if kind is ast.Constant:
        return argument.value if isinstance(argument.value, str) else None
    if kind is ast.Name:
        return "=" + argument.id
    if kind is ast.JoinedStr and argument.values:
        last = argument.values[-1]
        return "*" + last.value if last.__class__ is ast.Constant and isinstance(last.value, str) else None
    if kind is ast.BinOp and argument.op.__class__ is ast.Add:
        right = argument.right
        if right.__class__ is ast.Constant and isinstance(right.value, str):
            return "*" + right.value
    if kind is ast.Call and argument.args and argument.func.__class__ is ast.Attribute and argument.func.attr == "join":
        last = argument.args[-1]
        if last.__class__ is ast.Constant and isinstance(last.value, str):
            return "*" + last.value
    return None


def _is_main_guard(node: ast.If) -> bool:
    test = node.test
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )
