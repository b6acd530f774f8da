"""What a README offers a reviewer: install steps, usage, results and exact commands, each found by
its section heading or by what the text holds, in Markdown, reStructuredText or plain text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from reproducibility.markup import Document, Heading, visible

# Section headings, matched as words in the heading's text.
INSTALL_HEADINGS = re.compile(
    r"\b(install\w*|setup|set[ -]up|requirements?|dependenc(?:y|ies)|pre-?requisites?)\b", re.I
)
USAGE_HEADINGS = re.compile(
    r"\b(usage|how to (?:use|run|train)|run|running|train|training|trainings|evaluat\w*|inference|infer"
    r"|getting started|get started|quick[ -]?start|demo|fine-?tun\w*|pre-?training|test|testing|predict\w*"
    r"|reproduc\w*)\b",
    re.I,
)
RESULTS_HEADINGS = re.compile(r"\b(results?|performance|benchmarks?|accuracy|scores?|leaderboard)\b", re.I)
INSTALL_COMMAND = re.compile(
    r"\b(?:pip3?|conda|mamba|micromamba|poetry|pipenv|uv)\s+(?:install|create|env\s+create|sync|add)\b"
    r"|\bpython[\d.]*\s+(?:-m\s+pip\s+install|setup\.py\s+(?:install|develop))\b",
    re.I,
)
RUN_COMMAND = re.compile(
    r"(?:^|[\s`$>;(])(?:python[\d.]*\s+(?:-\S+\s+)*(?:-m\s+[\w.]+|\S+\.py)\b|\./[\w./-]+\.(?:py|sh)\b"
    r"|(?:bash|sh|zsh)\s+[\w./-]+\.sh\b)",
    re.I | re.M,
)
# The first word of a shell command line in a code block.
SHELL_COMMANDS = frozenset(
    {
        "python", "python2", "python3", "pip", "pip3", "bash", "sh", "zsh", "make", "docker", "nvidia-docker",
        "docker-compose", "podman", "conda", "mamba", "micromamba", "poetry", "pipenv", "uv", "git", "wget",
        "curl", "cd", "source", "export", "tensorboard", "jupyter", "sudo", "apt", "apt-get", "mkdir", "unzip",
        "tar", "cp", "mv", "ls", "chmod", "gsutil", "gcloud", "kubectl", "mpirun", "horovodrun", "bazel",
        "nohup", "torchrun", "accelerate", "pytest", "tox", "nox", "brew", "virtualenv", "rm", "cat", "echo",
        "ctpu", "tfds", "pipx",
    }
)  # fmt: skip
_PROMPT = re.compile(r"^(?:\(\S+\)\s*)?(?:[\w.-]+@[\w.-]+:\S*\s*)?[$%>]\s+(?=\S)")
_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=\S*$")
_TABLE_NUMBER = re.compile(r"(?<![\w.])\d*\.\d+(?![\w.])|\d+(?:\.\d+)?\s*%")
# A number a text reports: 28.06, 92 %, 900; not an ordinal (6th), a size (64x64) or part of a name.
_REPORTED_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?:\s*%)?(?![\w])")


MAX_TABLES = 200  # a README with more is generated or hostile: the first ones decide


@dataclass(frozen=True)
class Found:
    line: int
    why: str


def install(document: Document) -> Found | None:
    """An install / setup / requirements section, or an install command anywhere."""
    if heading := _heading(document, INSTALL_HEADINGS):
        return Found(heading.line, f"a '{heading.text}' section")
    if match := INSTALL_COMMAND.search(document.text):
        return Found(_line(document.text, match.start()), f"`{match.group(0).strip()}`")
    return None


def usage(document: Document) -> Found | None:
    """A usage / training / how-to-run section, or a command that runs the code."""
    if heading := _heading(document, USAGE_HEADINGS):
        return Found(heading.line, f"a '{heading.text}' section")
    if match := RUN_COMMAND.search(document.text):
        return Found(_line(document.text, match.start()), f"`{match.group(0).strip(' `$>;(')}`")
    return None


def results(document: Document) -> Found | None:
    """A table of results (one holding numbers, or one in a results section that reports any
    number), or a results section whose text reports numbers. Sample images alone are no results."""
    for table in document.tables[:MAX_TABLES]:
        text = visible("\n".join(table.lines))
        if _TABLE_NUMBER.search(text):
            return Found(table.line, "a table of results")
        if _REPORTED_NUMBER.search(text) and (context := _results_context(document, table.line)):
            return Found(table.line, f"a table under {context}")
    for heading in document.headings:
        if not RESULTS_HEADINGS.search(heading.text):
            continue
        body = visible("\n".join(line for _, line in document.section(heading)))
        if _REPORTED_NUMBER.search(body):
            return Found(heading.line, f"a '{heading.text}' section with numbers")
    return None


def _results_context(document: Document, line: int) -> str:
    """The results heading a table sits under (its own section's or an enclosing one's), or ""."""
    level = 8
    for heading in reversed(document.headings):
        if heading.line >= line or heading.level >= level:
            continue
        if RESULTS_HEADINGS.search(heading.text):
            return f"'{heading.text}'"
        level = heading.level
    return ""


def commands(document: Document) -> Found | None:
    """A code block (fenced, indented, rst `::`, <pre>) holding a shell command."""
    for block in document.code_blocks:
        for offset, line in enumerate(block.lines):
            if is_shell_command(line):
                return Found(block.line + offset, f"`{line.strip()[:60]}`")
    return None


def is_shell_command(line: str) -> bool:
    text = line.strip()
    prompted = _PROMPT.sub("", text)
    if prompted != text:
        return True  # `$ anything`, `> python ...`
    words = text.split()
    while words and (_ASSIGNMENT.match(words[0]) or words[0] in ("sudo", "time", "nohup", "env")):
        words = words[1:]
    if not words:
        return False
    first = words[0].lower()
    return (
        first in SHELL_COMMANDS
        or bool(re.fullmatch(r"python\d(?:\.\d+)?|pip\d(?:\.\d+)?", first))
        or (first.startswith("./") and len(first) > 2)
        or (first.endswith((".sh", ".py")) and "/" in first and "(" not in first)
    )


def _heading(document: Document, pattern: re.Pattern[str]) -> Heading | None:
    """The shortest heading that matches: `## Install` rather than a question that mentions installing."""
    found = [heading for heading in document.headings if pattern.search(heading.text)]
    return min(found, key=lambda heading: (len(heading.text.split()), heading.line)) if found else None


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1
