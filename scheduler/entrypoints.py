"""What an entrypoint is, everywhere (the application's plan, the run form, the API, the runner):
a script path inside the repository, then its arguments, e.g. `train.py --epochs 5`. A leading
`python`/`python3` is accepted and dropped, since every worker runs the script with the run's Python.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

EXAMPLE = "train.py --epochs 5"
INTERPRETER = re.compile(r"python(3(\.\d+)?)?")


class EntrypointError(ValueError):
    """The entrypoint cannot be run; the message says why and what to write instead."""


@dataclass(frozen=True)
class Entrypoint:
    script: str
    args: tuple[str, ...] = ()


def parse(text: str) -> Entrypoint:
    """The script and arguments of `text`, or EntrypointError naming what is wrong."""
    try:
        words = shlex.split(text)
    except ValueError as error:
        message = f"The entrypoint could not be read ({error}); write it as in a shell: {EXAMPLE}."
        raise EntrypointError(message) from error
    if words and INTERPRETER.fullmatch(words[0]):
        words = words[1:]
        if words[:1] == ["-u"]:  # unbuffered output: run logs are streamed anyway
            words = words[1:]
    if not words:
        raise EntrypointError(f"Give the script to run, a path inside the repository, e.g. {EXAMPLE}.")
    script = words[0]
    if script.startswith("-"):
        raise EntrypointError(f"Give a script path, not the option {script}: e.g. {EXAMPLE}.")
    path = PurePosixPath(script)
    if path.is_absolute() or ".." in path.parts or "\\" in script:
        raise EntrypointError(f"The script is a path inside the repository, e.g. {EXAMPLE}; not {script}.")
    return Entrypoint(str(path), tuple(words[1:]))


def check_script_in(tree: Path, script: str, *, what: str) -> None:
    """Refuse a script that is not a file in `tree` (the files a run will have), naming the ones there."""
    root = tree.resolve()
    path = (root / script).resolve()
    if root in path.parents and path.is_file():
        return
    scripts = sorted(p.name for p in root.glob("*.py"))[:8]
    there = f" Its top-level scripts: {', '.join(scripts)}." if scripts else ""
    raise EntrypointError(f"{script} is not a file in {what}.{there}")
