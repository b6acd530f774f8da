"""Periodic scheduler work for Celery beat. Plain data: config/celery.py reads it at start-up."""

BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "admission-cycle": {"task": "scheduler.tasks.run_admission_cycle", "schedule": 10.0},
    "expire-allocations": {"task": "scheduler.tasks.expire_allocations", "schedule": 300.0},
    "sync-running-jobs": {"task": "scheduler.runner_tasks.sync_running_jobs", "schedule": 15.0},
    "refresh-live-runs": {"task": "scheduler.artifacts.tasks.refresh_live_runs", "schedule": 30.0},
}
