"""Celery tasks of the artifacts package: small, idempotent, each calling one service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from scheduler.artifacts import cache, runs

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, soft_time_limit=10 * 60, time_limit=11 * 60, ignore_result=True)
def refresh_run_artifacts(job_id: int) -> None:
    """Re-read a job's event files and model into its cached fields (safe to run any time)."""
    model = runs.training_job_model()
    job = model.objects.filter(pk=job_id).first()
    if job is None:
        logger.info("refresh_run_artifacts: job %s no longer exists", job_id)
        return
    cache.refresh_run_artifacts(job)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90, ignore_result=True)
def refresh_live_runs() -> None:
    """Periodic: queue a refresh for every job that is running now (progress while it runs)."""
    model = runs.training_job_model()
    for job_id in model.objects.filter(state__in=runs.LIVE_STATES).values_list("pk", flat=True):
        refresh_run_artifacts.delay(job_id)


def enqueue_refresh(job_id: int) -> None:
    """Queue a refresh once the current transaction commits (e.g. when a run has just ended)."""
    transaction.on_commit(lambda: refresh_run_artifacts.delay(job_id))
