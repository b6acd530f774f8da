"""Work handed to Celery once a transaction commits: admission when a job arrives or ends, a
sync when a cancel is asked for. Beat's periodic tasks remain the safety net if a message is lost."""

from __future__ import annotations

import logging

from celery import current_app
from django.conf import settings
from django.db import transaction
from kombu.exceptions import KombuError

log = logging.getLogger(__name__)
ADMISSION_TASK = "scheduler.tasks.run_admission_cycle"
SYNC_TASK = "scheduler.runner_tasks.sync_job"


def _send(name: str, **kwargs: int) -> None:
    try:
        current_app.send_task(name, kwargs=kwargs)
    except (KombuError, OSError):  # the broker is down: beat's sweep does this work later
        log.warning("Could not send %s%s; the periodic sweep will do it.", name, kwargs, exc_info=True)


def admission_after_commit(pool_id: int) -> None:
    """An admission cycle for the pool once the caller's transaction commits (a job arrived or ended)."""
    if settings.CG_ADMIT_ON_SUBMIT:
        transaction.on_commit(lambda: _send(ADMISSION_TASK, pool_id=pool_id))


def cancel_after_commit(job_id: int) -> None:
    """Relay a cancel to the run once it is committed: the local supervisor's stop marker at once
    (so the run stops even with no Celery worker alive), and a sync for a worker to confirm it."""

    def relay() -> None:
        from scheduler import runner

        runner.relay_cancel(job_id)
        _send(SYNC_TASK, job_id=job_id)

    transaction.on_commit(relay)
