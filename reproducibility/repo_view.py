"""A read-only view of a repository snapshot that reads and parses each file at most once.

Checks ask the view for facts (files by name, Python facts, notebooks, parsed manifests); the view
lists the tree once, never follows a symlink, never imports or runs anything, and turns files that
are binary, huge, not UTF-8 or unparsable into problems instead of exceptions.
"""

from __future__ import annotations

import bisect
import configparser
import errno
import fnmatch
import json
import os
import re
import stat
import sys
import tomllib
import weakref
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from reproducibility.ipython import ipython_as_python
from reproducibility.python_facts import KERAS_PREFIXES, Location, Names, PythonFacts, canonical, python_facts
from reproducibility.snapshots import file_kind, is_utf8, shown_path

__all__ = [
    "KERAS_PREFIXES",
    "MAX_PARSE_BYTES",
    "NOTEBOOK_CAP",
    "SKIPPED_DIRS",
    "FileEntry",
    "Location",
    "Problem",
    "PythonFacts",
    "RepoView",
    "canonical",
    "python_facts",
]

MAX_PARSE_BYTES = 2 * 1024 * 1024  # larger files are listed, not parsed
# Notebooks carry their outputs (plots, logs), so a few MB of JSON often hold a little code that
# trains: they are read up to this size.
NOTEBOOK_CAP = 64 * 1024 * 1024
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn"})
# Never follow a link, never block on a FIFO or device someone committed.
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_LINK_ERRORS = (errno.ELOOP, errno.EMLINK)  # what O_NOFOLLOW answers for a link: Linux, FreeBSD


@dataclass(frozen=True)
class Problem:
    """A file the view could not read or parse, and why."""

    path: str
    reason: str
    line: int = 0


class FileEntry(NamedTuple):
    """A listed file: a tuple, as a repository holds thousands and every check reads them."""

    path: str  # POSIX, relative to the root
    size: int
    is_symlink: bool
    name: str  # the last part of the path
    suffix: str  # ".py", lower-case; "" for none (and for ".bashrc")

    @classmethod
    def at(cls, path: str, size: int, is_symlink: bool = False) -> FileEntry:
        name = path.rsplit("/", 1)[-1]
        return cls(path, size, is_symlink, name, _suffix(name))


class RepoView:
    """Facts about the files under `root`, each read and parsed at most once."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self._root = str(self.root)
        self._text: dict[str, str | None] = {}
        self._python: dict[str, PythonFacts | None] = {}
        self._parsed: dict[str, Any] = {}
        self.problems: dict[str, Problem] = {}
        self._names = Names()  # dotted names resolved once for every file
        self._parsing: set[str] = set()
        self._module_memo: dict[str, list[str]] = {}  # dotted name -> the files it may mean

    @cached_property
    def files(self) -> list[FileEntry]:
        """Every file and link under the root, in os.walk's order with sorted names: a folder's
        files, then each subfolder in turn. A linked folder is listed as a file, never entered.

        What is not listed is a problem instead: a FIFO, socket or device (never opened), a name
        that is not UTF-8 (a report could neither show nor store it), a folder that cannot be read.
        """
        entries: list[FileEntry] = []
        pending = [""]
        while pending:
            folder = pending.pop()
            found: list[tuple[str, int, bool]] = []
            subfolders: list[str] = []
            try:
                with os.scandir(os.path.join(self._root, folder)) as listing:
                    items = list(listing)
            except OSError as error:
                where = folder.rstrip("/") or "."
                self.problems[where] = Problem(where, f"unreadable folder: {_listing_error(error)}")
                continue
            for item in items:
                name = item.name
                try:
                    if not (name.isascii() or is_utf8(name)):
                        where = shown_path(folder + name)
                        kind = "folder" if item.is_dir(follow_symlinks=False) else "file"
                        self.problems[where] = Problem(where, f"{kind} name is not valid UTF-8: not read")
                        continue
                    if item.is_dir(follow_symlinks=False):
                        if name not in SKIPPED_DIRS:
                            subfolders.append(name)
                        continue
                    link = item.is_symlink()
                    if link and name in SKIPPED_DIRS and _links_to_folder(item):
                        continue
                    if not link and not item.is_file(follow_symlinks=False):
                        kind = file_kind(item.stat(follow_symlinks=False).st_mode)
                        self.problems[folder + name] = Problem(folder + name, f"not a regular file: {kind}")
                        continue
                except OSError as error:  # its type needed a stat, and the stat failed
                    self.problems[folder + name] = Problem(folder + name, f"unreadable: {error.strerror}")
                    continue
                try:
                    size = item.stat(follow_symlinks=False).st_size
                except OSError:
                    size = 0
                found.append((name, size, link))
            entries.extend(
                FileEntry(folder + name, size, link, name, _suffix(name)) for name, size, link in sorted(found)
            )
            pending.extend(f"{folder}{name}/" for name in sorted(subfolders, reverse=True))
        return entries

    @cached_property
    def paths(self) -> set[str]:
        return {entry.path for entry in self.files}

    @cached_property
    def top_level_names(self) -> set[str]:
        """Top-level module and package names of the repository itself (not third-party)."""
        firsts = {entry.path.split("/", 1)[0] for entry in self.files}
        firsts |= {entry.path.split("/", 2)[1] for entry in self.files if entry.path.startswith("src/")}
        return {_stem(name) for name in firsts}

    def glob(self, *patterns: str) -> list[FileEntry]:
        """Files whose path ends with a match of any pattern (fnmatch rules: `*` crosses folders)."""
        matchers = []
        for pattern in patterns:
            # The literal tail after the last wildcard must end the path: a C-level test first.
            tail = re.split(r"[*?\]]", pattern)[-1]
            matchers.append((tail, re.compile(r"(^|.*/)" + fnmatch.translate(pattern))))
        tails = tuple(tail for tail, _ in matchers)
        return [
            e
            for e in self.files
            if e.path.endswith(tails) and any(e.path.endswith(t) and r.match(e.path) for t, r in matchers)
        ]

    @cached_property
    def _by_name(self) -> dict[str, list[tuple[int, FileEntry]]]:
        index: dict[str, list[tuple[int, FileEntry]]] = {}
        for order, entry in enumerate(self.files):
            index.setdefault(entry.name.lower(), []).append((order, entry))
        return index

    @property
    def names(self) -> list[str]:
        """Every file name in the tree, lower-case, once each."""
        return list(self._by_name)

    def named(self, *names: str) -> list[FileEntry]:
        """Files with any of these names (case-insensitive), in file order."""
        found = [item for name in {n.lower() for n in names} for item in self._by_name.get(name, [])]
        return [entry for _, entry in sorted(found, key=_order)]

    # --- reading ---------------------------------------------------------------------------

    def text(self, path: str) -> str | None:
        """The file as text, or None (and a recorded problem) if it is a link, huge, binary or not UTF-8."""
        if path in self._text:
            return self._text[path]
        content: str | None = None
        raw = self._read(path)
        if raw is not None:
            if raw.find(b"\0", 0, 8192) != -1:
                self.problems[path] = Problem(path, "binary file")
            else:
                try:
                    content = raw.decode("utf-8").removeprefix("\ufeff")  # a BOM, which Python and editors accept
                except UnicodeDecodeError as error:
                    self.problems[path] = Problem(path, f"not UTF-8 (byte {error.start})")
        self._text[path] = content
        return content

    def _read(self, path: str) -> bytes | None:
        """The bytes of a regular file inside the root, opened without following a link (the check
        and the open are one system call, so a link swapped in cannot be followed either)."""
        full = os.path.join(self._root, path)
        cap = NOTEBOOK_CAP if path.endswith(".ipynb") else MAX_PARSE_BYTES
        try:
            descriptor = os.open(full, _OPEN_FLAGS)
        except OSError as error:
            self.problems[path] = Problem(path, _open_error(full, error))
            return None
        except ValueError:  # a NUL byte in a path a check took from a file's text
            self.problems[path] = Problem(path, "unreadable: the path holds a NUL byte")
            return None
        try:
            status = os.fstat(descriptor)
            if not stat.S_ISREG(status.st_mode):
                self.problems[path] = Problem(path, f"not a regular file: {file_kind(status.st_mode)}")
                return None
            if status.st_size > cap:
                self.problems[path] = Problem(path, f"larger than {cap // (1024 * 1024)} MB: not parsed")
                return None
            raw = os.read(descriptor, status.st_size + 1)  # the whole file in one read, as a rule
            if len(raw) != status.st_size:  # a short read, or it grew since fstat: read on, up to the cap
                chunks = [raw]
                remaining = cap + 1 - len(raw)
                while remaining > 0 and (chunk := os.read(descriptor, remaining)):
                    chunks.append(chunk)
                    remaining -= len(chunk)
                raw = b"".join(chunks)
            if len(raw) > cap:
                self.problems[path] = Problem(path, f"larger than {cap // (1024 * 1024)} MB: not parsed")
                return None
            return raw
        except OSError as error:  # an I/O error mid-read
            self.problems[path] = Problem(path, f"unreadable: {error.strerror}")
            return None
        finally:
            os.close(descriptor)

    def python(self, path: str) -> PythonFacts | None:
        if path not in self._python:
            if path in self._parsing:  # a star import back into a file being parsed: Python sees it half-bound too
                return None
            self._parsing.add(path)
            source = self.text(path)
            facts = None
            if source is not None:
                try:
                    facts = python_facts(path, source, self._names, self._star_exports)
                except SyntaxError as error:
                    self.problems[path] = Problem(path, f"syntax error: {error.msg}", error.lineno or 0)
                except ValueError as error:  # e.g. null bytes
                    self.problems[path] = Problem(path, f"unparsable: {error}")
                except (RecursionError, MemoryError):  # what CPython's parser raises for hostile nesting
                    self.problems[path] = Problem(path, "unparsable: nested too deeply")
            self._python[path] = facts
            self._parsing.discard(path)
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
                    if isinstance(notebook, dict) and isinstance(notebook.get("worksheets"), list):
                        notebook = {**notebook, "cells": _nbformat3_cells(notebook["worksheets"])}
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
            bound: dict[str, str] = {}  # names earlier cells imported: a notebook runs as one program
            notebook = self.notebook(path) or {"cells": []}
            for index, cell in enumerate(notebook["cells"]):
                if not isinstance(cell, dict) or cell.get("cell_type") != "code":
                    continue
                source = cell.get("source", "")
                source = "".join(source) if isinstance(source, list) else str(source)
                where = f"{path}#cell-{index}"
                try:
                    cell = python_facts(where, ipython_as_python(source), self._names, self._star_exports, bound)
                    bound = cell.exports
                    cells.append(cell)
                except SyntaxError as error:
                    self.problems[where] = Problem(where, f"syntax error: {error.msg}", error.lineno or 0)
                except ValueError as error:  # e.g. null bytes
                    self.problems[where] = Problem(where, f"unparsable: {error}")
                except (RecursionError, MemoryError):
                    self.problems[where] = Problem(where, "unparsable: nested too deeply")
            # Its cells run as one program; a weak reference, so that the cells and their list make
            # no cycle and the view is freed as soon as scoring is done (scoring runs without the
            # cycle collector).
            program = _Cells(cells)
            for cell in cells:
                cell.derived["notebook"] = weakref.proxy(program)
            self._parsed[f"{path}#program"] = program
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
                    self.problems[path] = Problem(path, f"invalid {kind}: {_parse_error(error)}", _error_line(error))
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
    def _use_index(self) -> tuple[dict[str, list[int]], list[str]]:
        """Each used name -> the order (in python_files) of every file using it, ascending; and the
        names sorted, so a query finds every name under it (keras.callbacks ->
        keras.callbacks.TensorBoard) by bisection. The lines stay in each file's uses: a query reads
        the few it needs, rather than a (file, line) pair being built for every use of every file."""
        index: dict[str, list[int]] = {}
        get = index.get
        for order, facts in enumerate(self.python_files):
            for name in facts.uses:
                orders = get(name)
                if orders is None:
                    index[name] = [order]
                else:
                    orders.append(order)
        return index, sorted(index)

    def _matching(self, names: tuple[str, ...]) -> list[tuple[str, list[int]]]:
        """(name, orders of the files using it) for every used name equal to or under one of `names`."""
        index, ordered = self._use_index
        found = []
        for name in names:
            if name in index:
                found.append((name, index[name]))
            under = name + "."
            at, size = bisect.bisect_left(ordered, under), len(ordered)
            while at < size and ordered[at].startswith(under):  # no slice: it would copy the tail
                found.append((ordered[at], index[ordered[at]]))
                at += 1
        return found

    def find_all(self, *names: str) -> list[Location]:
        """The first use of any of the names (or anything under them) in each file that has one."""
        files = self.python_files
        return [Location(files[o].path, line, files[o].snippet(line)) for o, line in self._first_lines(names)]

    def _first_lines(self, names: tuple[str, ...]) -> list[tuple[int, int]]:
        """(file order, first line) of every file using any of the names, in file order."""
        files = self.python_files
        best: dict[int, int] = {}
        for name, orders in self._matching(names):
            for order in orders:
                line = files[order].uses[name]
                if order not in best or line < best[order]:
                    best[order] = line
        return sorted(best.items())

    def find_use(self, *names: str) -> Location | None:
        """The first place (in file order) any Python file uses one of the qualified names:
        find_all(...)[0], reading only the first file's entries."""
        found = self._matching(names)
        if not found:
            return None
        first = min(orders[0] for _, orders in found)  # orders ascend
        facts = self.python_files[first]
        uses = facts.uses
        line = min(
            uses[name]
            for name, orders in found
            if (i := bisect.bisect_left(orders, first)) < len(orders) and orders[i] == first
        )
        return Location(facts.path, line, facts.snippet(line))

    def paths_using(self, *names: str) -> set[str]:
        """The paths of the files (notebook cells by their own path) using any of the names: find_all
        without building a Location (and a snippet) per file."""
        files = self.python_files
        return {files[order].path for _, orders in self._matching(names) for order in orders}

    def find_outside_tests(self, *names: str) -> Location | None:
        """find_use, skipping tests: a save or a seed in a test does nothing for a training run.
        Only the Location found is built (a snippet splits its file's lines)."""
        files = self.python_files
        for order, line in self._first_lines(names):
            if not is_test_path(files[order].path):
                return Location(files[order].path, line, files[order].snippet(line))
        return None

    @cached_property
    def _call_index(self) -> dict[str, list[PythonFacts]]:
        """Each called name -> the files calling it, in file order: checks ask for a few names
        among thousands of files."""
        index: dict[str, list[PythonFacts]] = {}
        get = index.get
        for facts in self.python_files:
            for name in facts.calls:
                calling = get(name)  # one lookup for the commonest case, a name seen before
                if calling is None:
                    index[name] = [facts]
                else:
                    calling.append(facts)
        return index

    def calls(self, name: str) -> list[Location]:
        """Every call of a qualified name (or of a method, written '.fit')."""
        return [
            Location(facts.path, line, facts.snippet(line))
            for facts in self._call_index.get(name, ())
            for line in facts.calls[name]
        ]

    @cached_property
    def _keyword_index(self) -> dict[str, list[tuple[PythonFacts, str]]]:
        """Each keyword argument's name -> (file, "call:line") of every call passing it, in file order."""
        index: dict[str, list[tuple[PythonFacts, str]]] = {}
        for facts in self.python_files:
            for key, keywords in facts.keywords.items():
                for name in keywords:
                    if name in index:
                        index[name].append((facts, key))
                    else:
                        index[name] = [(facts, key)]
        return index

    @cached_property
    def _order(self) -> dict[int, int]:
        return {id(facts): order for order, facts in enumerate(self.python_files)}

    def order(self, facts: PythonFacts) -> int:
        """The file's place in python_files: results from several indexes sort back to file order."""
        return self._order[id(facts)]

    def passing(self, keyword: str) -> list[tuple[PythonFacts, str]]:
        """(file, "call:line") for every call passing this keyword argument (a literal, or one of
        python_facts.NAMED_KEYWORDS whatever its value), in file order."""
        return self._keyword_index.get(keyword, [])

    def names_under(self, prefix: str) -> list[str]:
        """Every used name under a dotted prefix (numpy.random -> numpy.random.rand, ...)."""
        _, ordered = self._use_index
        under = prefix + "."
        at = bisect.bisect_left(ordered, under)
        found = []
        while at < len(ordered) and ordered[at].startswith(under):
            found.append(ordered[at])
            at += 1
        return found

    @property
    def called_names(self) -> list[str]:
        """Every qualified name or method called anywhere."""
        return list(self._call_index)

    @cached_property
    def _function_names(self) -> tuple[str, list[int], list[str]]:
        """Every file's function names, lower-case, one a line in one string; where each file's
        names start in it; and each file's owner (a notebook for its cells)."""
        parts: list[str] = []
        starts: list[int] = []
        owners: list[str] = []
        at = 0
        for facts in self.python_files:
            if facts.functions:
                names = "\n".join(facts.functions).lower()
                parts.append(names)
                starts.append(at)
                owners.append(facts.owner)
                at += len(names) + 1
        return "\n".join(parts), starts, owners

    def defining(self, pattern: re.Pattern[str], words: tuple[str, ...]) -> set[str]:
        """The files (a notebook as one) defining a function whose name matches the pattern. Every
        matching name holds one of the lower-case `words`: found at C speed in all the names at
        once, and the pattern tried on the names that hold one."""
        text, starts, owners = self._function_names
        found = set()
        for word in words:
            at = text.find(word)
            while at != -1:
                begin = text.rfind("\n", 0, at) + 1
                end = text.find("\n", at)
                end = len(text) if end == -1 else end
                if pattern.search(text[begin:end]):
                    found.add(owners[bisect.bisect_right(starts, at) - 1])
                at = text.find(word, end)
        return found

    def calling(self, name: str) -> list[PythonFacts]:
        """The files that call a qualified name or method, in file order."""
        return self._call_index.get(name, [])

    def first_call(self, name: str) -> Location | None:
        """The first call (in file order) of a qualified name or method: calls(name)[0]."""
        files = self._call_index.get(name)
        if not files:
            return None
        line = files[0].calls[name][0]
        return Location(files[0].path, line, files[0].snippet(line))

    @cached_property
    def first_imports(self) -> dict[str, tuple[PythonFacts, int]]:
        """Each module any file imports -> (the first file importing it, in file order; the line):
        one pass over every file's imports for every check asking about them."""
        first: dict[str, tuple[PythonFacts, int]] = {}
        for facts in self.python_files:
            for module, line in facts.imports.items():
                if module not in first:
                    first[module] = (facts, line)
        return first

    @cached_property
    def import_roots(self) -> frozenset[str]:
        """The first part of every module any file imports (tensorflow for tensorflow.keras)."""
        return frozenset(module.partition(".")[0] for module in self.first_imports)

    @cached_property
    def uses_tensorflow(self) -> bool:
        return not self.import_roots.isdisjoint(("tensorflow", "keras", "tf_keras"))

    @cached_property
    def stdlib(self) -> frozenset[str]:
        return frozenset(sys.stdlib_module_names)

    # --- the repository's own modules and how its files reach each other ----------------------

    @cached_property
    def _modules_by_name(self) -> dict[str, list[str]]:
        """A module's last name -> the Python files it may be (c.py, or c/__init__.py for a
        package), in file order: the full dotted names are worked out only for those asked."""
        index: dict[str, list[str]] = {}
        for entry in self.files:
            if entry.suffix != ".py":
                continue
            name = entry.name[:-3]
            if name == "__init__":
                name = entry.path.rpartition("/")[0].rpartition("/")[2]
                if not name:  # a top-level __init__.py names no module
                    continue
            if name in index:
                index[name].append(entry.path)
            else:
                index[name] = [entry.path]
        return index

    def _module_files(self, module: str) -> list[str]:
        """The Python files a dotted name may mean, by every tail of the path (a/b/c.py is c, b.c
        and a.b.c; a package's __init__.py is the package): scripts import siblings by bare name."""
        known = self._module_memo.get(module)
        if known is None:
            files = self._modules_by_name.get(module.rpartition(".")[2], ())
            known = self._module_memo[module] = [path for path in files if _names_module(path, module)]
        return known

    def module_path(self, module: str, importer: str = "") -> str | None:
        """The repository's file a dotted module name means, seen from the importing file: the
        importer's folder first, then the root, then the shortest path anywhere; None if third-party."""
        candidates = self._module_files(module)
        if not candidates:
            return None
        if len(candidates) == 1:
            return candidates[0]
        folder = importer.rpartition("/")[0]
        while True:
            prefix = f"{folder}/" if folder else ""
            tail = module.replace(".", "/")
            for path in (f"{prefix}{tail}.py", f"{prefix}{tail}/__init__.py"):
                if path in candidates:
                    return path
            if not folder:
                break
            folder = folder.rpartition("/")[0]
        return min(candidates, key=lambda path: (path.count("/"), path))

    def _star_exports(self, module: str, level: int, importer: str) -> dict[str, str] | None:
        """What `from module import *` binds when the module is the repository's own."""
        if level:
            base = importer.split("#", 1)[0].split("/")[:-1]
            base = base[: len(base) - (level - 1)] if level - 1 <= len(base) else []
            module = ".".join([*base, *([module] if module else [])])
        path = self.module_path(module, importer) if module else None
        if path is None or path == importer:
            return None
        facts = self.python(path)
        return facts.exports if facts is not None else None

    @cached_property
    def import_graph(self) -> dict[str, set[str]]:
        """Python file (or notebook) -> the repository's own Python files it imports."""
        return {owner: self.imports_of(owner) for owner in self.facts_by_owner}

    @cached_property
    def facts_by_owner(self) -> dict[str, list[PythonFacts]]:
        """File -> its facts (one for a Python file, one per code cell for a notebook)."""
        owners: dict[str, list[PythonFacts]] = {}
        for facts in self.python_files:
            owners.setdefault(facts.owner, []).append(facts)
        return owners

    def imports_of(self, owner: str) -> set[str]:
        """The repository's own Python files a file imports, worked out when first asked: a search
        from a few entry points reads the edges of the files it reaches, not of the whole tree."""
        key = f"#imports:{owner}"
        if key in self._parsed:
            return self._parsed[key]
        found: set[str] = set()
        for facts in self.facts_by_owner.get(owner, ()):
            for module in facts.imported:  # module_path's first look is one dict test: most are third-party
                if (path := self.module_path(module, owner)) is not None and path != owner:
                    found.add(path)
            # Modules named in strings are imported by name at run time (importlib.import_module,
            # run_func_name="training.loop.run", a registry of "pkg.module:Class").
            for text, _ in facts.strings:
                if "." in text and len(text) < 100 and _DOTTED.match(text):
                    module = text.split(":", 1)[0]
                    path = self.module_path(module, owner) or self.module_path(module.rpartition(".")[0], owner)
                    if path is not None and path != owner:
                        found.add(path)
        self._parsed[key] = found
        return found

    def reachable(self, starts: list[str]) -> dict[str, str]:
        """Every file reached from the start files through the repository's own imports: file ->
        the start it was reached from."""
        reached: dict[str, str] = {}
        for start in starts:
            pending = [start]
            while pending:
                path = pending.pop()
                if path in reached:
                    continue
                reached[path] = start
                pending.extend(sorted(self.imports_of(path), reverse=True))  # sorted: the same report every run
        return reached


_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+(:\w+)?$")


def _nbformat3_cells(worksheets: list[Any]) -> list[Any]:
    """nbformat 3 keeps cells in worksheets and a code cell's source under "input"."""
    cells = [c for sheet in worksheets if isinstance(sheet, dict) for c in sheet.get("cells") or []]
    return [
        {**c, "source": c["input"]} if isinstance(c, dict) and "input" in c and "source" not in c else c for c in cells
    ]


class _Cells(list):
    """A notebook's cells: a list that a weak reference can point at."""


@lru_cache(maxsize=65536)
def is_test_path(path: str) -> bool:
    """Tests are never entry points: files under tests/ or test/, test_*.py, *_test.py, conftest.py."""
    path = path.split("#", 1)[0]
    folders, _, name = path.rpartition("/")
    if name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py":
        return True
    return any(part in ("test", "tests", "testing") for part in folders.split("/"))


def _parse_error(error: Exception) -> str:
    """What a parser said, in one line: PyYAML's own context and problem, others' first line."""
    said = " ".join(str(part) for part in (getattr(error, "context", None), getattr(error, "problem", None)) if part)
    if not said:
        lines = str(error).splitlines()
        said = lines[0] if lines else error.__class__.__name__
    return said[:200]


def _error_line(error: Exception) -> int:
    """The line a parser's error points at (JSON's lineno, PyYAML's mark, tomllib's "at line N"), or 0."""
    if isinstance(getattr(error, "lineno", None), int):
        return error.lineno  # type: ignore[attr-defined]
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    if mark is not None and isinstance(getattr(mark, "line", None), int):
        return mark.line + 1
    found = re.search(r"\bline (\d+)", str(error))
    return int(found.group(1)) if found else 0


def _listing_error(error: OSError) -> str:
    if error.errno == errno.ENAMETOOLONG:
        return "nested too deeply (its path is longer than the system allows)"
    return error.strerror or str(error)


def _links_to_folder(item: os.DirEntry[str]) -> bool:
    try:
        return item.is_dir()
    except OSError:  # a link loop
        return False


def _open_error(full: str, error: OSError) -> str:
    """Why a listed path could not be opened, in words."""
    if error.errno in _LINK_ERRORS:
        return "symbolic link: not followed"
    try:
        mode = os.lstat(full).st_mode
    except OSError:
        return f"unreadable: {error.strerror}"
    if not stat.S_ISREG(mode):  # a socket: no open() gets one
        return f"not a regular file: {file_kind(mode)}"
    return f"unreadable: {error.strerror}"


def _order(item: tuple[int, FileEntry]) -> int:
    return item[0]


def _names_module(path: str, module: str) -> bool:
    """Whether the dotted name is a tail of the Python file's path, part for part (a/b/c.py: c,
    b.c, a.b.c; a/b/__init__.py: b, a.b)."""
    form = path[:-3]
    if form.endswith("/__init__"):
        form = form[: -len("/__init__")]
    size = len(module)
    if len(form) < size or (len(form) > size and form[-size - 1] != "/"):
        return False
    return form[-size:].replace("/", ".") == module


def _suffix(name: str) -> str:
    return ("." + name.rsplit(".", 1)[1].lower()) if "." in name[1:] else ""


def _stem(name: str) -> str:
    """PurePosixPath(name).stem without building a path."""
    dot = name.rfind(".")
    return name[:dot] if 0 < dot < len(name) - 1 else name
