"""WSGI entry point for gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

from config.heap import freeze_startup_heap
from scheduler.artifacts import use_tensorboard_without_tensorflow

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

use_tensorboard_without_tensorflow()  # reading event files must not load TensorFlow here
application = get_wsgi_application()
freeze_startup_heap()
