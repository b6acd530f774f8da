"""Notebook cells as the Python IPython runs: one reading for the view that parses cells and the
checks that look again at a cell the view could not parse."""

from __future__ import annotations

import ast
import re

# IPython cell magics whose body is Python; every other cell magic (%%bash, %%writefile, %%html)
# holds another language.
PYTHON_CELL_MAGICS = frozenset({"capture", "time", "timeit", "prun", "debug", "memit", "mprun", "tensorflow_version"})
# Line magics and shell aliases IPython runs without their % (automagic): `pip install x`.
AUTOMAGIC = re.compile(
    r"(pip|conda|mamba|cd|ls|ll|cat|cp|mv|rm|rmdir|mkdir|env|load_ext|matplotlib|run|pwd|tensorflow_version)\s"
)
ASSIGNMENT = re.compile(r"\w+\s*[-+*/%&|^@]?=(?!=)")
HELP = re.compile(r"(\?{1,2}[\w.]+|[\w.]+\?{1,2})\s*$")
ASSIGNED_MAGIC = re.compile(r"(\s*[\w.\[\], ]+=\s*)[!%]")


def ipython_as_python(source: str) -> str:
    """A notebook cell as the Python IPython runs: magics, shell escapes, automagics and help
    lines become `pass` at their indentation (a magic may be a block's only statement), the lines
    continuing them with a backslash go too, and a cell in another language is empty."""
    lines = source.splitlines()
    indent = lines[0][: len(lines[0]) - len(lines[0].lstrip())] if lines else ""
    if indent:  # IPython removes the first line's indentation from every line
        lines = [line[len(indent) :] if line.startswith(indent) else line for line in lines]
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split(None, 1)
        if not magic or magic[0] not in PYTHON_CELL_MAGICS:
            return ""
        lines[0] = ""
    out: list[str] = []
    continued = False
    for line in lines:
        if continued:
            out.append("")
            continued = line.rstrip().endswith("\\")
            continue
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        assigned = ASSIGNED_MAGIC.match(line)
        if stripped.startswith(("%", "!")) or HELP.fullmatch(stripped) or _automagic(stripped):
            out.append(indent + "pass")
        elif assigned:
            out.append(assigned.group(1) + "None")
        else:
            out.append(line)
            continue
        continued = line.rstrip().endswith("\\")
    return "\n".join(out)


def _automagic(stripped: str) -> bool:
    if not AUTOMAGIC.match(stripped) or ASSIGNMENT.match(stripped):
        return False  # `env = load(` opens a statement the next lines close: Python, whatever parses alone
    try:  # `cd = 1` and `ls -la` are Python (an assignment, a subtraction): only a line that is not
        ast.parse(stripped)
    except SyntaxError:
        return True
    return False
