"""The Celery application: configured from Django settings (CELERY_* names)."""

import os

from celery import Celery

from scheduler.beat import BEAT_SCHEDULE

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("computegrant")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Task modules beyond each app's tasks.py.
app.autodiscover_tasks()
app.autodiscover_tasks(["scheduler"], related_name="runner_tasks")
app.autodiscover_tasks(["scheduler.artifacts"], related_name="tasks")
app.conf.beat_schedule = BEAT_SCHEDULE
