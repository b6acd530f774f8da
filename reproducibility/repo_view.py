"""A read-only view of a repository snapshot that reads and parses each file at most once.

Checks ask the view for facts (files by name, Python facts, notebooks, parsed manifests); the view
lists the tree once, never follows a symlink, never imports or runs anything, and turns files that
are binary, huge, not UTF-8 or unparsable into problems instead of exceptions.
"""

from __future__ import annotations

import ast
import configparser
import fnmatch
import json
import os
import re
import sys
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

MAX_PARSE_BYTES = 2 * 1024 * 1024  # larger files are listed, not parsed
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn"})
KERAS_PREFIXES = ("tensorflow.keras.", "tensorflow.python.keras.", "tf_keras.", "keras.src.", "keras.api.")


def canonical(name: str) -> str:
    """One spelling for Keras whatever the import: tensorflow.keras.X, tf_keras.X -> keras.X."""
    for prefix in KERAS_PREFIXES:
        if name.startswith(prefix):
            return "keras." + name[len(prefix) :]
    if name in ("tensorflow.keras", "tf_keras"):
        return "keras"
    return name


@dataclass(frozen=True)
class Location:
    path: str
    line: int
    snippet: str = ""


@dataclass
class PythonFacts:
    """What a Python file (or a notebook cell) uses, with imports resolved through aliases."""

    path: str
    imports: dict[str, int] = field(default_factory=dict)  # module -> first line
    uses: dict[str, int] = field(default_factory=dict)  # qualified name -> first line (calls and attributes)
    calls: dict[str, list[int]] = field(default_factory=dict)  # qualified name of a call -> lines
    keywords: dict[str, dict[str, Any]] = field(default_factory=dict)  # "name:line" -> literal keywords
    strings: list[tuple[str, int]] = field(default_factory=list)
    has_main_guard: bool = False
    lines: list[str] = field(default_factory=list)

    def snippet(self, line: int) -> str:
        return self.lines[line - 1].strip()[:160] if 0 < line <= len(self.lines) else ""

    def find(self, *names: str) -> Location | None:
        """The first use of any of the qualified names (or of anything under them)."""
        best: tuple[int, str] | None = None
        for used, line in self.uses.items():
            if any(used == n or used.startswith(n + ".") for n in names) and (best is None or line < best[0]):
                best = (line, used)
        return Location(self.path, best[0], self.snippet(best[0])) if best else None


def _is_main_guard(node: ast.If) -> bool:
    test = node.test
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


_SKIPPED_FIELDS = frozenset({"ctx", "type_comment", "type_ignores"})
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _all_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of the tree: ast.walk without its generators and without Load/Store contexts,
    which are half of all nodes and never interesting (profiling showed the walk dominating)."""
    nodes: list[ast.AST] = []
    stack = [tree]
    AST = ast.AST
    while stack:
        node = stack.pop()
        nodes.append(node)
        kind = type(node)
        fields = _CHILD_FIELDS.get(kind)
        if fields is None:
            fields = _CHILD_FIELDS[kind] = tuple(f for f in kind._fields if f not in _SKIPPED_FIELDS)
        for name in fields:
            value = getattr(node, name, None)
            if value.__class__ is list:
                stack.extend(item for item in value if isinstance(item, AST))
            elif isinstance(value, AST):
                stack.append(value)
    return nodes


def _collect(tree: ast.AST, facts: PythonFacts) -> None:
    """One walk over the tree: imports (with aliases), uses, calls with literal keywords, strings.

    Aliases are collected first so a name used before a late import still resolves.
    """
    aliases: dict[str, str] = {}
    nodes = _all_nodes(tree)
    for node in nodes:
        kind = type(node)
        if kind is ast.Import:
            for alias in node.names:  # type: ignore[attr-defined]
                facts.imports.setdefault(alias.name, node.lineno)  # type: ignore[attr-defined]
                root = alias.name.split(".")[0]
                aliases[alias.asname or root] = alias.name if alias.asname else root
        elif kind is ast.ImportFrom and not node.level and node.module:  # type: ignore[attr-defined]
            facts.imports.setdefault(node.module, node.lineno)  # type: ignore[attr-defined]
            for alias in node.names:  # type: ignore[attr-defined]
                qualified = f"{node.module}.{alias.name}"  # type: ignore[attr-defined]
                aliases[alias.asname or alias.name] = qualified
                facts.uses.setdefault(canonical(qualified), node.lineno)  # type: ignore[attr-defined]

    def dotted(expr: ast.expr) -> str | None:
        parts: list[str] = []
        while type(expr) is ast.Attribute:
            parts.append(expr.attr)  # type: ignore[attr-defined]
            expr = expr.value  # type: ignore[attr-defined]
        if type(expr) is ast.Name and expr.id in aliases:  # type: ignore[attr-defined]
            parts.append(aliases[expr.id])  # type: ignore[attr-defined]
            return ".".join(reversed(parts))
        return None

    uses, calls, keywords, strings = facts.uses, facts.calls, facts.keywords, facts.strings
    for node in nodes:
        kind = type(node)
        if kind is ast.Attribute:
            name = dotted(node)  # type: ignore[arg-type]
            if name is not None:
                uses.setdefault(canonical(name), node.lineno)  # type: ignore[attr-defined]
        elif kind is ast.Name:
            target = aliases.get(node.id)  # type: ignore[attr-defined]
            if target is not None:
                uses.setdefault(canonical(target), node.lineno)  # type: ignore[attr-defined]
        elif kind is ast.Call:
            func = node.func  # type: ignore[attr-defined]
            name = dotted(func)
            if name is not None:
                name = canonical(name)
            elif type(func) is ast.Attribute:
                name = "." + func.attr  # a method on something we cannot name, e.g. model.fit
            if name is not None:
                calls.setdefault(name, []).append(node.lineno)  # type: ignore[attr-defined]
                literal = {
                    k.arg: k.value.value
                    for k in node.keywords  # type: ignore[attr-defined]
                    if k.arg and type(k.value) is ast.Constant
                }
                if literal:
                    keywords[f"{name}:{node.lineno}"] = literal  # type: ignore[attr-defined]
        elif kind is ast.Constant:
            value = node.value  # type: ignore[attr-defined]
            if type(value) is str and 1 < len(value) < 300:
                strings.append((value, node.lineno))  # type: ignore[attr-defined]
        elif kind is ast.If and not facts.has_main_guard and _is_main_guard(node):  # type: ignore[arg-type]
            facts.has_main_guard = True


def python_facts(path: str, source: str) -> PythonFacts:
    """Parse source (raises SyntaxError) and collect its facts."""
    tree = ast.parse(source, filename=path)
    facts = PythonFacts(path=path, lines=source.splitlines())
    _collect(tree, facts)
    return facts


@dataclass(frozen=True)
class Problem:
    """A file the view could not read or parse, and why."""

    path: str
    reason: str
    line: int = 0


@dataclass(frozen=True)
class FileEntry:
    path: str  # POSIX, relative to the root
    size: int
    is_symlink: bool = False
    name: str = field(init=False, compare=False)
    suffix: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        name = self.path.rsplit("/", 1)[-1]
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "suffix", ("." + name.rsplit(".", 1)[1].lower()) if "." in name[1:] else "")


class RepoView:
    """Facts about the files under `root`, each read and parsed at most once."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self._text: dict[str, str | None] = {}
        self._python: dict[str, PythonFacts | None] = {}
        self._parsed: dict[str, Any] = {}
        self.problems: dict[str, Problem] = {}

    @cached_property
    def files(self) -> list[FileEntry]:
        entries: list[FileEntry] = []
        for directory, dirnames, filenames in os.walk(self.root, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
            base = Path(directory)
            for name in sorted(filenames + [d for d in dirnames if (base / d).is_symlink()]):
                full = base / name
                rel = full.relative_to(self.root).as_posix()
                stat = full.lstat()
                entries.append(FileEntry(rel, stat.st_size, full.is_symlink()))
        return entries

    @cached_property
    def paths(self) -> set[str]:
        return {entry.path for entry in self.files}

    @cached_property
    def top_level_names(self) -> set[str]:
        """Top-level module and package names of the repository itself (not third-party)."""
        names = set()
        for entry in self.files:
            first = entry.path.split("/")[0]
            names.add(PurePosixPath(first).stem)
            if entry.path.startswith("src/") and entry.path.count("/") >= 1:
                names.add(PurePosixPath(entry.path.split("/")[1]).stem)
        return names

    def glob(self, *patterns: str) -> list[FileEntry]:
        """Files matching any pattern, matched from the right like PurePosixPath.match."""
        regexes = [re.compile(r"(^|.*/)" + fnmatch.translate(p)) for p in patterns]
        return [e for e in self.files if any(r.match(e.path) for r in regexes)]

    def named(self, *names: str) -> list[FileEntry]:
        lowered = {n.lower() for n in names}
        return [e for e in self.files if e.name.lower() in lowered]

    # --- reading ---------------------------------------------------------------------------

    def text(self, path: str) -> str | None:
        """The file as text, or None (and a recorded problem) if it is a link, huge, binary or not UTF-8."""
        if path in self._text:
            return self._text[path]
        content: str | None = None
        full = self.root / path
        if full.is_symlink():
            self.problems[path] = Problem(path, "symbolic link: not followed")
        elif full.stat().st_size > MAX_PARSE_BYTES:
            self.problems[path] = Problem(path, f"larger than {MAX_PARSE_BYTES // (1024 * 1024)} MB: not parsed")
        else:
            raw = full.read_bytes()
            if b"\0" in raw[:8192]:
                self.problems[path] = Problem(path, "binary file")
            else:
                try:
                    content = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    self.problems[path] = Problem(path, f"not UTF-8 (byte {error.start})")
        self._text[path] = content
        return content

    def python(self, path: str) -> PythonFacts | None:
        if path not in self._python:
            source = self.text(path)
            facts = None
            if source is not None:
                try:
                    facts = python_facts(path, source)
                except SyntaxError as error:
                    self.problems[path] = Problem(path, f"syntax error: {error.msg}", error.lineno or 0)
                except ValueError as error:  # e.g. null bytes
                    self.problems[path] = Problem(path, f"unparsable: {error}")
            self._python[path] = facts
        return self._python[path]

    @cached_property
    def python_files(self) -> list[PythonFacts]:
        """Facts of every Python file and every notebook code cell."""
        facts = [f for e in self.files if e.suffix == ".py" and (f := self.python(e.path))]
        for entry in self.files:
            if entry.suffix == ".ipynb":
                facts.extend(self.notebook_cells(entry.path))
        return facts

    def notebook(self, path: str) -> dict[str, Any] | None:
        if path not in self._parsed:
            source = self.text(path)
            notebook = None
            if source is not None:
                try:
                    notebook = json.loads(source)
                    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
                        raise ValueError("no cells")
                except ValueError as error:
                    self.problems[path] = Problem(path, f"not a notebook: {error}")
                    notebook = None
            self._parsed[path] = notebook
        return self._parsed[path]

    def notebook_cells(self, path: str) -> list[PythonFacts]:
        """Each code cell parsed as Python; IPython magics and shell escapes are blanked first."""
        key = f"{path}#cells"
        if key not in self._parsed:
            cells: list[PythonFacts] = []
            notebook = self.notebook(path) or {"cells": []}
            for index, cell in enumerate(notebook["cells"]):
                if not isinstance(cell, dict) or cell.get("cell_type") != "code":
                    continue
                source = cell.get("source", "")
                source = "".join(source) if isinstance(source, list) else str(source)
                lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
                try:
                    cells.append(python_facts(f"{path}#cell-{index}", "\n".join(lines)))
                except SyntaxError as error:
                    self.problems[f"{path}#cell-{index}"] = Problem(
                        f"{path}#cell-{index}", f"syntax error: {error.msg}", error.lineno or 0
                    )
            self._parsed[key] = cells
        return self._parsed[key]

    def toml(self, path: str) -> dict[str, Any] | None:
        return self._parse(path, lambda text: tomllib.loads(text), "TOML")

    def yaml(self, path: str) -> Any:
        return self._parse(path, yaml.safe_load, "YAML")

    def ini(self, path: str) -> configparser.ConfigParser | None:
        def load(text: str) -> configparser.ConfigParser:
            parser = configparser.ConfigParser(interpolation=None)
            parser.read_string(text)
            return parser

        return self._parse(path, load, "INI")

    def json(self, path: str) -> Any:
        return self._parse(path, json.loads, "JSON")

    def _parse(self, path: str, loader: Any, kind: str) -> Any:
        key = f"{path}#{kind}"
        if key not in self._parsed:
            text = self.text(path)
            value = None
            if text is not None:
                try:
                    value = loader(text)
                except Exception as error:  # every parser's own error type: a finding, not a crash
                    self.problems[path] = Problem(path, f"invalid {kind}: {str(error).splitlines()[0][:200]}")
            self._parsed[key] = value
        return self._parsed[key]

    # --- helpers for checks ------------------------------------------------------------------

    def memo(self, key: str, compute: Any) -> Any:
        """A value derived from the whole tree, computed once per view (shared by checks)."""
        key = f"#memo:{key}"
        if key not in self._parsed:
            self._parsed[key] = compute()
        return self._parsed[key]

    @cached_property
    def _use_index(self) -> dict[str, list[tuple[int, PythonFacts, int]]]:
        """Every dotted prefix of every use -> (file order, facts, first line), in file order."""
        index: dict[str, list[tuple[int, PythonFacts, int]]] = {}
        for order, facts in enumerate(self.python_files):
            seen: dict[str, int] = {}
            for name, line in facts.uses.items():
                parts = name.split(".")
                for end in range(1, len(parts) + 1):
                    prefix = ".".join(parts[:end])
                    if prefix not in seen or line < seen[prefix]:
                        seen[prefix] = line
            for prefix, line in seen.items():
                index.setdefault(prefix, []).append((order, facts, line))
        return index

    def find_all(self, *names: str) -> list[Location]:
        """The first use of any of the names (or anything under them) in each file that has one."""
        best: dict[int, tuple[int, PythonFacts]] = {}
        for name in names:
            for order, facts, line in self._use_index.get(name, []):
                if order not in best or line < best[order][0]:
                    best[order] = (line, facts)
        return [Location(f.path, line, f.snippet(line)) for _, (line, f) in sorted(best.items())]

    def find_use(self, *names: str) -> Location | None:
        """The first place (in file order) any Python file uses one of the qualified names."""
        found = self.find_all(*names)
        return found[0] if found else None

    def calls(self, name: str) -> list[Location]:
        """Every call of a qualified name (or of a method, written '.fit')."""
        return [Location(f.path, line, f.snippet(line)) for f in self.python_files for line in f.calls.get(name, [])]

    @cached_property
    def uses_tensorflow(self) -> bool:
        return any(m.split(".")[0] in {"tensorflow", "keras", "tf_keras"} for f in self.python_files for m in f.imports)

    @cached_property
    def stdlib(self) -> frozenset[str]:
        return frozenset(sys.stdlib_module_names)
