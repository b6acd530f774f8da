"""Task outcomes counted for /metrics: connected when the Celery app is imported (workers too)."""

from __future__ import annotations

from typing import Any

from celery.signals import task_failure, task_retry, task_success


def _name(sender: Any) -> str:
    return str(getattr(sender, "name", sender))


@task_success.connect
def _succeeded(sender: Any = None, **_: Any) -> None:
    from config.metrics import count_task_outcome

    count_task_outcome(_name(sender), "success")


@task_failure.connect
def _failed(sender: Any = None, **_: Any) -> None:
    from config.metrics import count_task_outcome

    count_task_outcome(_name(sender), "failure")


@task_retry.connect
def _retried(sender: Any = None, request: Any = None, **_: Any) -> None:
    from config.metrics import count_task_outcome

    count_task_outcome(str(getattr(request, "task", None) or _name(sender)), "retry")
