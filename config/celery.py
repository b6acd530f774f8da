"""The Celery application: configured from Django settings (CELERY_* names)."""

import os

from celery import Celery
from celery.signals import worker_init

from portal.beat import BEAT_SCHEDULE as PORTAL_BEAT_SCHEDULE
from reproducibility.beat import BEAT_SCHEDULE as REPRODUCIBILITY_BEAT_SCHEDULE
from scheduler.artifacts import use_tensorboard_without_tensorflow
from scheduler.beat import BEAT_SCHEDULE

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("computegrant")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Task modules beyond each app's tasks.py.
app.autodiscover_tasks()
app.autodiscover_tasks(["scheduler"], related_name="runner_tasks")
app.autodiscover_tasks(["scheduler.artifacts"], related_name="tasks")
app.conf.beat_schedule = {**BEAT_SCHEDULE, **REPRODUCIBILITY_BEAT_SCHEDULE, **PORTAL_BEAT_SCHEDULE}


@worker_init.connect
def _keep_tensorflow_out_of_workers(**kwargs: object) -> None:
    """Workers read event files; training itself runs in subprocesses with their own imports."""
    use_tensorboard_without_tensorflow()
