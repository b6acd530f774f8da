"""Project configuration: settings, URLs, the Celery app and the WSGI entry point."""

from config import celery_metrics  # noqa: F401  (task outcomes for /metrics, in every worker)
from config.celery import app as celery_app

__all__ = ("celery_app",)
