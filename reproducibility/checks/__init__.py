"""The registry of reproducibility checks.

A check is a function of a read-only RepoView returning a Result. Register it with @check; the
modules of this package are imported once so every check is in REGISTRY, in a stable order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import import_module

from reproducibility.repo_view import Location, RepoView


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a status, not a password
    PARTIAL = "partial"
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"


POINTS = {Status.PASS: 1.0, Status.PARTIAL: 0.5, Status.FAIL: 0.0, Status.ERROR: 0.0}


@dataclass(frozen=True)
class Evidence:
    path: str
    line: int
    snippet: str = ""

    @classmethod
    def at(cls, location: Location) -> Evidence:
        return cls(location.path, location.line, location.snippet)


@dataclass
class Result:
    status: Status
    reason: str
    evidence: list[Evidence] = field(default_factory=list)


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    category: str
    weight: int
    remedy: str  # what to change, with a small example
    run: Callable[[RepoView], Result]


REGISTRY: dict[str, Check] = {}
CATEGORIES = (
    "Dependencies",
    "Environment",
    "Entry points",
    "Documentation",
    "Determinism",
    "TensorFlow",
    "Data",
    "Quality",
    "Security",
)


def check(id: str, title: str, category: str, weight: int, remedy: str):
    """Register a check function under an id."""
    if category not in CATEGORIES:
        raise ValueError(f"Unknown category {category!r}")

    def register(function: Callable[[RepoView], Result]) -> Callable[[RepoView], Result]:
        if id in REGISTRY:
            raise ValueError(f"Duplicate check id {id!r}")
        REGISTRY[id] = Check(id, title, category, weight, remedy.strip(), function)
        return function

    return register


def passed(reason: str, *evidence: Location | Evidence) -> Result:
    return Result(Status.PASS, reason, [_ev(e) for e in evidence])


def partial(reason: str, *evidence: Location | Evidence) -> Result:
    return Result(Status.PARTIAL, reason, [_ev(e) for e in evidence])


def failed(reason: str, *evidence: Location | Evidence) -> Result:
    return Result(Status.FAIL, reason, [_ev(e) for e in evidence])


def not_applicable(reason: str) -> Result:
    return Result(Status.NOT_APPLICABLE, reason)


def _ev(item: Location | Evidence) -> Evidence:
    return item if isinstance(item, Evidence) else Evidence.at(item)


MODULES = (
    "dependencies",
    "environment",
    "entrypoints",
    "documentation",
    "determinism",
    "tensorflow",
    "data",
    "quality",
    "security",
)


def all_checks() -> list[Check]:
    for module in MODULES:
        import_module(f"reproducibility.checks.{module}")
    return list(REGISTRY.values())
