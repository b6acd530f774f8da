"""Periodic reproducibility work for Celery beat. Plain data: config/celery.py reads it at start-up."""

BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "fail-stalled-snapshots": {"task": "reproducibility.tasks.fail_stalled_snapshots", "schedule": 300.0},
}
