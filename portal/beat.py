"""Periodic portal work for Celery beat. Plain data: config/celery.py reads it at start-up."""

BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "award-terms-sweep": {"task": "portal.tasks.award_terms_sweep", "schedule": 300.0},
    # The safety net of each verification's own judging chain (lost with a restarted worker).
    "judge-verifications": {"task": "portal.tasks.judge_verifications", "schedule": 60.0},
}
