"""Celery tasks of the runner: launch on "launching", sync on "syncing". Idempotent."""

import logging
from collections.abc import Callable

from celery import shared_task

from scheduler import runner

SYNC_EVERY_SECONDS = 2
log = logging.getLogger(__name__)


@shared_task(name="scheduler.runner_tasks.launch_job", acks_late=True, time_limit=300, soft_time_limit=280)
def launch_job(job_id: int) -> str:
    result = runner.launch_job(job_id)
    if result == "launched":
        sync_job.apply_async(kwargs={"job_id": job_id}, countdown=1)
    return result


@shared_task(name="scheduler.runner_tasks.sync_job", acks_late=True, time_limit=120, soft_time_limit=100)
def sync_job(job_id: int) -> str:
    """Sync one job, and look again shortly while it is live (the beat sweep is the safety net)."""
    phase = runner.sync_job(job_id)
    if phase in ("pending", "running"):
        sync_job.apply_async(kwargs={"job_id": job_id}, countdown=SYNC_EVERY_SECONDS)
    return phase


@shared_task(name="scheduler.runner_tasks.sync_running_jobs", acks_late=True, time_limit=300, soft_time_limit=280)
def sync_running_jobs() -> int:
    """Periodic sweep: reconcile launches whose launcher died, launch admitted jobs nobody launched,
    sync every live job (e.g. after a worker restart lost the per-job chain)."""
    runner.reconcile_stale_launches()
    for job_id in runner.unlaunched_job_ids():
        _each(runner.launch_job, job_id)
    job_ids = runner.live_job_ids()
    for job_id in job_ids:
        _each(runner.sync_job, job_id)
    return len(job_ids)


def _each(step: Callable[[int], str], job_id: int) -> None:
    """One job's launch or sync; a cluster that fails it (a 500, a timeout) must not stop the sweep
    from reaching every other job. The job is left as it was; the next sweep tries again."""
    try:
        step(job_id)
    except Exception:
        what = step.__name__.replace("_", " ")
        log.warning("The sweep could not %s %s; it will try again", what, job_id, exc_info=True)
