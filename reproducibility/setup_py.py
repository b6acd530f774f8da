"""What a setup.py declares, read from its syntax tree and never run: the arguments of its
setup(...) call that are literals, or names bound to literals at module level (a list of
requirements, `"Keras" + keras_ver`), each with the line it is written on."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from reproducibility.repo_view import RepoView

MAX_DEPTH = 20  # names bound to names bound to names ...: deeper is hostile


@dataclass
class SetupCall:
    requirements: list[tuple[str, int]] = field(default_factory=list)  # install_requires, extras, tests_require
    declares_requirements: bool = False  # install_requires or extras_require is passed, readable or not
    python_requires: tuple[str, int] | None = None
    classifiers: list[tuple[str, int]] = field(default_factory=list)
    license: tuple[str, int] | None = None


def read_setup_py(view: RepoView, path: str) -> SetupCall | None:
    """The setup() call's declarations, or None when the file does not parse (the view records why)."""

    def read() -> SetupCall | None:
        if view.python(path) is None:
            return None
        try:
            tree = ast.parse(view.text(path) or "", filename=path)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        return _setup_call(tree)

    return view.memo(f"setup.py:{path}", read)


def _setup_call(tree: ast.Module) -> SetupCall:
    bindings: dict[str, ast.expr] = {}
    for statement in tree.body:  # module level, as the call sees them (conditional rebinding is not followed)
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name):
                bindings[target.id] = statement.value
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value:
            bindings[statement.target.id] = statement.value
    found = SetupCall()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or _called(node.func) != "setup":
            continue
        for keyword in node.keywords:
            name, value = keyword.arg, keyword.value
            if name in ("install_requires", "extras_require", "tests_require"):
                found.declares_requirements |= name != "tests_require"
                found.requirements.extend(_strings(value, bindings))
            elif name == "python_requires":
                found.python_requires = next(iter(_strings(value, bindings)), None)
            elif name == "classifiers":
                found.classifiers.extend(_strings(value, bindings))
            elif name == "license":
                found.license = next(iter(_strings(value, bindings)), None)
    return found


def _called(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _strings(node: ast.expr, bindings: dict[str, ast.expr], depth: int = 0) -> list[tuple[str, int]]:
    """Every string a literal expression holds (lists, tuples, dict values, `+` of strings), with its
    line; what is not a literal (a file read, a call) gives nothing."""
    if depth > MAX_DEPTH:
        return []
    if isinstance(node, ast.Constant):
        return [(node.value, node.lineno)] if isinstance(node.value, str) else []
    if isinstance(node, ast.Name):
        bound = bindings.get(node.id)
        return _strings(bound, bindings, depth + 1) if bound is not None else []
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [item for element in node.elts for item in _strings(element, bindings, depth + 1)]
    if isinstance(node, ast.Dict):
        return [item for value in node.values if value for item in _strings(value, bindings, depth + 1)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _strings(node.left, bindings, depth + 1), _strings(node.right, bindings, depth + 1)
        if _is_text(node.left, bindings) and _is_text(node.right, bindings):
            if len(left) == 1 and len(right) == 1:
                return [(left[0][0] + right[0][0], left[0][1])]
            return []
        return left + right  # list + list
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(value.value)
            elif (
                isinstance(value, ast.FormattedValue) and len(inner := _strings(value.value, bindings, depth + 1)) == 1
            ):
                parts.append(inner[0][0])
            else:
                return []
        return [("".join(parts), node.lineno)]
    return []


def _is_text(node: ast.expr, bindings: dict[str, ast.expr], depth: int = 0) -> bool:
    if depth > MAX_DEPTH:
        return False
    if isinstance(node, ast.Name) and node.id in bindings:
        return _is_text(bindings[node.id], bindings, depth + 1)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _is_text(node.left, bindings, depth + 1)
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))
