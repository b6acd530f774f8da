"""Periodic scheduler work for Celery beat. Plain data: config/celery.py reads it at start-up."""

BEAT_SCHEDULE: dict[str, dict[str, object]] = {}
