"""Dockerfiles (Dockerfile, Dockerfile.<x>, <x>.Dockerfile, Containerfile; any folder) read as
Docker reads them: continuation lines joined, ARG defaults substituted into FROM lines, build
stages told apart from the external base images they start from."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from reproducibility.repo_view import RepoView

_INSTRUCTION = re.compile(r"^\s*([A-Za-z]+)\s+(.*)$", re.S)
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
# Tags that name no release: they move to whatever was published last.
FLOATING_TAGS = frozenset({"latest", "nightly", "stable", "edge", "devel", "dev", "master", "main", "rolling"})


@dataclass(frozen=True)
class BaseImage:
    reference: str  # as resolved: registry/repository[:tag][@digest]; "" when a variable has no value
    line: int
    written: str  # as written in the FROM line

    @property
    def repository(self) -> str:
        name = self.reference.split("@", 1)[0]
        last = name.rsplit("/", 1)
        if ":" in last[-1]:
            name = name[: name.rindex(":")]
        return name

    @property
    def tag(self) -> str:
        name = self.reference.split("@", 1)[0]
        last = name.rsplit("/", 1)[-1]
        return last.split(":", 1)[1] if ":" in last else ""

    @property
    def pinning(self) -> str:
        """ "digest", "tag", or "none" (no tag, a floating tag such as latest, or an unknown value)."""
        if not self.reference or "$" in self.reference:
            return "none"
        if "@sha256:" in self.reference:
            return "digest"
        tag = self.tag.lower()
        if not tag or tag.split("-", 1)[0] in FLOATING_TAGS:
            return "none"
        return "tag"


@dataclass
class Dockerfile:
    path: str
    images: list[BaseImage] = field(default_factory=list)  # external base images, in order
    instructions: list[tuple[int, str, str]] = field(default_factory=list)  # (line, INSTRUCTION, arguments)
    variables: dict[str, str] = field(default_factory=dict)  # ARG and ENV values as last set


def is_dockerfile(name: str) -> bool:
    lower = name.lower()
    if "erfile" not in lower:  # in dockerfile and containerfile: one C-level test rules out nearly every file
        return False
    return any(
        lower == base or lower.startswith(base + ".") or lower.endswith("." + base)
        for base in ("dockerfile", "containerfile")
    ) and not lower.endswith((".md", ".txt", ".rst"))


def dockerfiles(view: RepoView) -> list[Dockerfile]:
    """Every Dockerfile of the repository, parsed once."""
    return view.memo(
        "dockerfiles",
        lambda: [
            parse(e.path, text) for e in view.files if is_dockerfile(e.name) and (text := view.text(e.path)) is not None
        ],
    )


def parse(path: str, text: str) -> Dockerfile:
    found = Dockerfile(path)
    stages: set[str] = set()
    global_args: dict[str, str] = {}
    seen_from = False
    for line, instruction, arguments in _instructions(text):
        found.instructions.append((line, instruction, arguments))
        if instruction == "ARG":
            for name, value in _assignments(arguments):
                target = found.variables if seen_from else global_args
                if value is not None or name not in target:
                    target[name] = value or ""
                if not seen_from:
                    found.variables[name] = global_args[name]
        elif instruction == "ENV":
            for name, value in _assignments(arguments, env=True):
                found.variables[name] = _substitute(value or "", found.variables)
        elif instruction == "FROM":
            seen_from = True
            words = [w for w in arguments.split() if not w.startswith("--")]
            if not words:
                continue
            written = words[0]
            reference = _substitute(written, global_args)
            if len(words) >= 3 and words[1].lower() == "as":
                stages.add(words[2].lower())
            if reference.lower() in stages or reference.lower() == "scratch":
                continue  # an earlier stage of this file, or no image at all
            found.images.append(BaseImage(reference, line, written))
    return found


def _instructions(text: str) -> list[tuple[int, str, str]]:
    """(first line, INSTRUCTION, arguments) with `\\` continuations joined; comments dropped."""
    found = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        match = _INSTRUCTION.match(" ".join(pending))
        pending = []
        if match:
            found.append((start, match.group(1).upper(), match.group(2).strip()))
    return found


def _assignments(arguments: str, env: bool = False) -> list[tuple[str, str | None]]:
    """`ARG NAME=value`, `ARG NAME`, `ENV NAME=value OTHER=x`, `ENV NAME value`."""
    words = arguments.split()
    if env and len(words) >= 2 and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]).strip("\"'"))]
    found: list[tuple[str, str | None]] = []
    for word in words:
        name, equals, value = word.partition("=")
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            found.append((name, value.strip("\"'") if equals else None))
    return found


def _substitute(text: str, values: dict[str, str]) -> str:
    """${NAME}, $NAME, ${NAME:-default} and ${NAME:+alternative}, as Docker expands them; a name
    with no value stays as written."""

    def expand(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        operator, operand = match.group(2), match.group(3) or ""
        value = values.get(name)
        if operator == "-":
            return value or operand
        if operator == "+":
            return _substitute(operand, values) if value else ""
        return value if value is not None else match.group(0)

    return _VARIABLE.sub(expand, text)
