"""Periodic scheduler work. Tasks re-read the database, call one service, and are idempotent."""

from celery import shared_task

from scheduler import admission, quota


@shared_task(name="scheduler.tasks.run_admission_cycle", acks_late=True, time_limit=120, soft_time_limit=100)
def run_admission_cycle(pool_id: int | None = None) -> list[int]:
    """Admit what fits. Two cycles at once serialise on each pool's row lock."""
    if pool_id is None:
        return admission.admit_pending_jobs()
    return admission.admit_pool(pool_id)


@shared_task(name="scheduler.tasks.expire_allocations", acks_late=True, time_limit=300, soft_time_limit=280)
def expire_allocations() -> list[int]:
    """Expire allocations past their end: release what they hold, cancel what is queued."""
    return quota.expire_allocations()
