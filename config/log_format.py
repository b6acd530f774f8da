"""Log records as one JSON object per line (production), and a development filter that keeps
beat and the periodic tasks quiet unless something happened."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

# Celery's per-task lines (received, succeeded) and beat's "Sending due task" lines.
TASK_LOGGERS = ("celery.app.trace", "celery.worker.strategy")
NOTHING: tuple[object, ...] = (None, 0, "0", "[]", "{}", "None", "'nothing to do'", "nothing to do")


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, and the task's name and id or the exception when there are."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data = getattr(record, "data", None)
        if isinstance(data, dict):
            entry.update({f"task_{key}": str(data[key]) for key in ("name", "id") if key in data})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def periodic_task_names() -> set[str]:
    from config.celery import app

    return {str(entry["task"]) for entry in app.conf.beat_schedule.values()}


class QuietPeriodicTasks(logging.Filter):
    """Drop beat's INFO lines and the INFO lines of periodic tasks that returned nothing; warnings,
    errors and periodic tasks that did something (admitted jobs, say) still show."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        if record.name == "celery.beat":
            return False
        if record.name not in TASK_LOGGERS:
            return True
        data = getattr(record, "data", None) or {}
        if data.get("name") not in periodic_task_names():
            return True
        return "return_value" in data and data["return_value"] not in NOTHING
