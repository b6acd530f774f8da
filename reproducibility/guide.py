"""Each check's documentation, read from checks/guide.yaml: what counts, when each status is given, why.

The guide is the one source of a check's page (/checks/<id>/) and of the sentence the report puts
beside each status. It is read once per process; `problems()` lists where it and the registry
disagree (the test suite requires none), and the pages show what there is rather than fail.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from django.urls import reverse

from reproducibility.checks import CATEGORIES, Check, Status, all_checks
from reproducibility.scoring import LEVELS

logger = logging.getLogger(__name__)

GUIDE_PATH = Path(__file__).resolve().parent / "checks" / "guide.yaml"
STATUS_FIELDS = ("pass", "partial", "fail", "not_applicable")  # named as the statuses they explain
FIELDS = ("counts", *STATUS_FIELDS, "why")
STATUS_NAMES = {"pass": "Pass", "partial": "Partial", "fail": "Fail", "not_applicable": "Not applicable"}
# How the report introduces the guide's line for a status (not applicable: the line says why not).
MEANING_LABELS = {
    "pass": "A pass means",
    "partial": "Partial means",
    "fail": "A fail means",
    "not_applicable": "Why it does not apply",
}
# The guide does not explain an error: the check itself broke on the repository's files.
ERROR_MEANING = (
    "The check itself broke on these files and scored nothing: a fault of the checker, not of the repository."
)


@dataclass(frozen=True)
class Guide:
    """The parsed guide file: its entries by check id, and why it could not be read (if so)."""

    entries: dict[str, dict[str, str]]
    unreadable: str = ""


@dataclass(frozen=True)
class CheckPage:
    """What a check's documentation page shows: the registration joined with its guide entry."""

    check: Check
    counts: str
    statuses: list[tuple[str, str, str]]  # (status, its name, when it is given)
    why: str
    required_for: list[tuple[str, str]]  # (level, the least status it needs)

    @property
    def url(self) -> str:
        return page_path(self.check.id)


def page_path(check_id: str) -> str:
    return reverse("checks:detail", args=[check_id])


def load(path: Path | None = None) -> Guide:
    """The guide at `path` (default: checks/guide.yaml), parsed once per process."""
    return _parse(path or GUIDE_PATH)


@functools.cache
def _parse(path: Path) -> Guide:
    """A broken file gives an empty guide and a logged reason: the pages then say what is missing."""
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        logger.error("The checks' guide %s cannot be read: %s", path, error)
        return Guide({}, unreadable=f"{path.name} cannot be read: {error}")
    if not isinstance(raw, dict):
        return Guide({}, unreadable=f"{path.name} is not a mapping of check ids to entries.")
    entries = {
        str(check_id): {name: " ".join(str(text).split()) for name, text in entry.items() if isinstance(text, str)}
        for check_id, entry in raw.items()
        if isinstance(entry, dict)
    }
    return Guide(entries)


def problems(path: Path | None = None) -> list[str]:
    """Where the guide and the registry disagree: a check without a whole entry, an entry without a check."""
    guide = load(path)
    if guide.unreadable:
        return [guide.unreadable]
    registered = {check.id for check in all_checks()}
    found = [f"{check_id}: no entry in the guide" for check_id in sorted(registered - guide.entries.keys())]
    found += [f"{check_id}: no such check is registered" for check_id in sorted(guide.entries.keys() - registered)]
    for check_id in sorted(registered & guide.entries.keys()):
        entry = guide.entries[check_id]
        found += [f"{check_id}: {name} is missing or empty" for name in FIELDS if not entry.get(name)]
        found += [f"{check_id}: {name} is not a field of the guide" for name in sorted(entry.keys() - set(FIELDS))]
    return found


def check_page(check_id: str) -> CheckPage | None:
    """The documentation of a registered check (None for an unknown id); fields the guide lacks are empty."""
    check = next((c for c in all_checks() if c.id == check_id), None)
    if check is None:
        return None
    entry = load().entries.get(check_id, {})
    return CheckPage(
        check=check,
        counts=entry.get("counts", ""),
        statuses=[(status, STATUS_NAMES[status], entry.get(status, "")) for status in STATUS_FIELDS],
        why=entry.get("why", ""),
        required_for=[
            (level, STATUS_NAMES[least.value])
            for level, _, required in LEVELS
            for required_id, least in required
            if required_id == check_id
        ],
    )


def checks_by_category() -> list[tuple[str, list[CheckPage]]]:
    """Every check's page, grouped by category in the registry's category order."""
    pages = [page for check in all_checks() if (page := check_page(check.id))]
    grouped = [(category, [p for p in pages if p.check.category == category]) for category in CATEGORIES]
    return [(category, members) for category, members in grouped if members]


def levels() -> list[tuple[str, float, list[tuple[CheckPage, str]]]]:
    """The levels a report can reach: the least score and, per required check, the least status."""
    return [
        (name, minimum, [(page, STATUS_NAMES[least.value]) for rid, least in required if (page := check_page(rid))])
        for name, minimum, required in LEVELS
    ]


def status_meaning(check_id: str, status: str) -> tuple[str, str]:
    """(label, sentence) saying what a check's status means, from the guide; empty when it has none.

    A line that says the status is never given is not shown: beside a result with that status it
    would contradict the result, and the check's reason says what was found.
    """
    if status == Status.ERROR:
        return "What this means", ERROR_MEANING
    line = load().entries.get(check_id, {}).get(status, "")
    if not line or line.startswith("Never"):
        return "", ""
    return MEANING_LABELS.get(status, "What this means"), line


def explain_report(checks: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A stored report's checks by category, each with its status explained and its page's path.

    A stored report may name a check that no longer exists: it keeps its reason, without a page.
    """
    registered = {check.id for check in all_checks()}
    categories: dict[str, list[dict[str, Any]]] = {}
    for item in checks:
        label, meaning = status_meaning(item["id"], item["status"])
        page = page_path(item["id"]) if item["id"] in registered else ""
        categories.setdefault(item["category"], []).append(
            {
                **item,
                "status_name": STATUS_NAMES.get(item["status"], "Error"),
                "meaning_label": label,
                "meaning": meaning,
                "page": page,
            }
        )
    return categories
