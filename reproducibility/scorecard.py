"""The report as JSON, shaped like OpenSSF Scorecard's output, and its JSON Schema."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings

from reproducibility.guide import page_path
from reproducibility.scoring import Scored

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "ComputeGrant reproducibility report",
    "type": "object",
    "required": ["date", "repo", "scorecard", "score", "level", "checks"],
    "properties": {
        "date": {"type": "string", "format": "date-time"},
        "repo": {
            "type": "object",
            "required": ["name", "commit"],
            "properties": {"name": {"type": "string"}, "commit": {"type": "string"}},
        },
        "scorecard": {
            "type": "object",
            "required": ["version"],
            "properties": {"version": {"type": "string"}},
        },
        "score": {"type": "number", "minimum": 0, "maximum": 100},
        "level": {"enum": ["none", "bronze", "silver", "gold"]},
        "checks": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "id",
                    "name",
                    "category",
                    "weight",
                    "score",
                    "status",
                    "reason",
                    "details",
                    "remediation",
                    "documentation",
                ],
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "category": {"type": "string"},
                    "weight": {"type": "integer", "minimum": 1},
                    "score": {"type": "integer", "minimum": -1, "maximum": 10},
                    "status": {"enum": ["pass", "partial", "fail", "not_applicable", "error"]},
                    "reason": {"type": "string"},
                    "details": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["path", "line", "snippet"],
                            "properties": {
                                "path": {"type": "string"},
                                "line": {"type": "integer"},
                                "snippet": {"type": "string"},
                            },
                        },
                    },
                    "remediation": {"type": "string"},
                    "documentation": {
                        "type": "object",
                        "required": ["short", "url"],
                        "properties": {"short": {"type": "string"}, "url": {"type": "string"}},
                    },
                },
            },
        },
        "problems": {"type": "array"},
        "subprojects": {"type": "array", "items": {"type": "string"}},
        # What a verification run of the repository's own training showed (reproducibility.dynamic_checks).
        "dynamic": {
            "type": "object",
            "required": ["verdict", "runs", "checks"],
            "properties": {
                "verdict": {"type": "string"},
                "runs": {"type": "array", "items": {"type": "integer"}},
                "judged_at": {"type": "string", "format": "date-time"},
                "checks": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["id", "name", "status", "reason", "evidence"],
                        "properties": {
                            "id": {"type": "string"},
                            "name": {"type": "string"},
                            "status": {"enum": ["pass", "partial", "fail", "not_applicable"]},
                            "reason": {"type": "string"},
                            "evidence": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                },
            },
        },
    },
}

# Scorecard scores checks 0..10 and -1 when a check does not apply or errs.
CHECK_SCORE = {"pass": 10, "partial": 5, "fail": 0, "not_applicable": -1, "error": -1}


def documentation_url(check_id: str) -> str:
    """The check's page on this portal, as an absolute URL: reports are read away from it (CI logs, the API)."""
    return settings.CG_SITE_URL + page_path(check_id)


def to_scorecard(scored: Scored, *, repo: str, commit: str, date: datetime) -> dict[str, Any]:
    return {
        "date": date.isoformat(),
        "repo": {"name": repo, "commit": commit},
        "scorecard": {"version": scored.checker_version},
        "score": scored.score,
        "level": scored.level,
        "checks": [
            {
                "id": o.check.id,
                "name": o.check.title,
                "category": o.check.category,
                "weight": o.check.weight,
                "score": CHECK_SCORE[o.result.status.value],
                "status": o.result.status.value,
                "reason": o.result.reason,
                "details": [{"path": e.path, "line": e.line, "snippet": e.snippet} for e in o.result.evidence],
                "remediation": o.check.remedy,
                "documentation": {"short": o.check.title, "url": documentation_url(o.check.id)},
            }
            for o in scored.outcomes
        ],
        "problems": scored.problems,
        "subprojects": scored.subprojects,
    }
