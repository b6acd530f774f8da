"""A read-only view of a repository snapshot that reads and parses each file at most once.

Checks ask the view for facts (files by name, Python facts, notebooks, parsed manifests); the view
lists the tree once, never follows a symlink, never imports or runs anything, and turns files that
are binary, huge, not UTF-8 or unparsable into problems instead of exceptions.
"""

from __future__ import annotations

import ast
import configparser
import json
import os
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


class _FactCollector(ast.NodeVisitor):
    def __init__(self, facts: PythonFacts) -> None:
        self.facts = facts
        self.aliases: dict[str, str] = {}

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.facts.imports.setdefault(alias.name, node.lineno)
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                root = alias.name.split(".")[0]
                self.aliases[root] = root

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            return  # relative imports are the project's own code
        self.facts.imports.setdefault(node.module, node.lineno)
        for alias in node.names:
            qualified = f"{node.module}.{alias.name}"
            self.aliases[alias.asname or alias.name] = qualified
            self._use(qualified, node.lineno)

    def _dotted(self, node: ast.expr) -> str | None:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in self.aliases:
            parts.append(self.aliases[node.id])
            return ".".join(reversed(parts))
        return None

    def _use(self, name: str, line: int) -> None:
        name = canonical(name)
        if name not in self.facts.uses:
            self.facts.uses[name] = line

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name = self._dotted(node)
        if name is not None:
            self._use(name, node.lineno)
        else:
            self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in self.aliases:
            self._use(self.aliases[node.id], node.lineno)

    def visit_Call(self, node: ast.Call) -> None:
        name = self._dotted(node.func) if isinstance(node.func, ast.Attribute | ast.Name) else None
        if name is None and isinstance(node.func, ast.Attribute):
            name = "." + node.func.attr  # a method on something we cannot name, e.g. model.fit
        if name is not None:
            name = canonical(name) if not name.startswith(".") else name
            self.facts.calls.setdefault(name, []).append(node.lineno)
            literal = {}
            for keyword in node.keywords:
                if keyword.arg and isinstance(keyword.value, ast.Constant):
                    literal[keyword.arg] = keyword.value.value
            if literal:
                self.facts.keywords[f"{name}:{node.lineno}"] = literal
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and 1 < len(node.value) < 300:
            self.facts.strings.append((node.value, node.lineno))

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (
            isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name)
            and test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
        ):
            self.facts.has_main_guard = True
        self.generic_visit(node)


def python_facts(path: str, source: str) -> PythonFacts:
    """Parse source (raises SyntaxError) and collect its facts."""
    tree = ast.parse(source, filename=path)
    facts = PythonFacts(path=path, lines=source.splitlines())
    _FactCollector(facts).visit(tree)
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

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.path).suffix.lower()


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
        return [e for e in self.files if any(PurePosixPath(e.path).match(p) for p in patterns)]

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

    def find_use(self, *names: str) -> Location | None:
        """The first place any Python file uses one of the qualified names."""
        for facts in self.python_files:
            location = facts.find(*names)
            if location:
                return location
        return None

    def find_all(self, *names: str) -> list[Location]:
        return [loc for facts in self.python_files if (loc := facts.find(*names))]

    def calls(self, name: str) -> list[Location]:
        """Every call of a qualified name (or of a method, written '.fit')."""
        return [
            Location(f.path, line, f.snippet(line)) for f in self.python_files for line in f.calls.get(name, [])
        ]

    @cached_property
    def uses_tensorflow(self) -> bool:
        return any(
            m.split(".")[0] in {"tensorflow", "keras", "tf_keras"} for f in self.python_files for m in f.imports
        )

    @cached_property
    def stdlib(self) -> frozenset[str]:
        return frozenset(sys.stdlib_module_names)
