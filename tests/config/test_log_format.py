"""JSON logs in production; in development, beat and idle periodic tasks stay quiet."""

from __future__ import annotations

import json
import logging

import pytest
from celery.app.trace import LOG_RECEIVED, LOG_SUCCESS

from config.log_format import JsonFormatter, QuietPeriodicTasks
from tests.config.test_settings import run_python

ADMISSION = "scheduler.tasks.run_admission_cycle"  # on beat's schedule every 10 s


def record(name: str, level: int, message: str, *args: object, data: dict | None = None) -> logging.LogRecord:
    made = logging.LogRecord(name, level, __file__, 1, message, args, None)
    if data is not None:
        made.data = data
    return made


def celery_line(logger: str, fmt: str, **context: object) -> logging.LogRecord:
    """A record as Celery makes it: logger.info(fmt, context, extra={'data': context})."""
    return record(logger, logging.INFO, fmt, context, data=context)


SCORE = "reproducibility.tasks.score"
LINES = [
    (record("celery.beat", logging.INFO, "Scheduler: Sending due task admission-cycle"), False),
    (celery_line("celery.worker.strategy", LOG_RECEIVED, name=ADMISSION, id="1", args="()", kwargs="{}"), False),
    (celery_line("celery.app.trace", LOG_SUCCESS, name=ADMISSION, id="1", return_value="[]", runtime=0.1), False),
    (celery_line("celery.app.trace", LOG_SUCCESS, name=ADMISSION, id="1", return_value="[7]", runtime=0.1), True),
    (celery_line("celery.app.trace", LOG_SUCCESS, name=SCORE, id="2", return_value="0", runtime=1), True),
    (record("celery.beat", logging.ERROR, "beat: connection lost"), True),
    (record("scheduler.runner", logging.INFO, "launched job 3"), True),
]


@pytest.mark.parametrize(("line", "shown"), LINES)
def test_development_drops_beats_and_idle_periodic_tasks_lines_only(line, shown):
    assert QuietPeriodicTasks().filter(line) is shown


def test_a_json_line_says_when_what_where_and_which_task():
    line = celery_line("celery.app.trace", LOG_SUCCESS, name=ADMISSION, id="abc", return_value="[1]", runtime=0.5)
    entry = json.loads(JsonFormatter().format(line))
    assert entry["level"] == "INFO" and entry["logger"] == "celery.app.trace"
    assert entry["task_name"] == ADMISSION and entry["task_id"] == "abc" and "succeeded" in entry["message"]
    try:
        raise ValueError("boom")
    except ValueError:
        failing = logging.LogRecord("x", logging.ERROR, __file__, 1, "it failed", (), __import__("sys").exc_info())
    entry = json.loads(JsonFormatter().format(failing))
    assert "ValueError: boom" in entry["exception"] and entry["time"].endswith("+00:00")


def test_production_logs_one_json_object_per_line(tmp_path):
    code = "import django, logging; django.setup(); logging.getLogger('scheduler').warning('pool %s is full', 'v100')"
    env = {"DJANGO_ENV": "production", "DJANGO_SECRET_KEY": "x" * 60, "CG_DATA_DIR": str(tmp_path)}
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stderr.strip().splitlines()[-1])
    assert entry["message"] == "pool v100 is full" and entry["logger"] == "scheduler"
    refused = run_python(code, {**env, "CG_LOG_FORMAT": "xml"})
    assert "CG_LOG_FORMAT must be json or plain" in refused.stderr
