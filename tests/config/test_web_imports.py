"""The web process never imports TensorFlow: it takes seconds and hundreds of MB per process."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

LOAD_EVERY_VIEW = """
import sys, django
django.setup()
from django.urls import get_resolver

def walk(patterns):
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            walk(pattern.url_patterns)
        else:
            pattern.callback  # imports the view's module

walk(get_resolver().url_patterns)
import config.wsgi  # noqa: F401
loaded = sorted(name for name in sys.modules if name == "tensorflow" or name.startswith("tensorflow."))
print("TF-MODULES:", len(loaded), loaded[:5])
"""


def test_loading_every_url_and_view_does_not_import_tensorflow():
    result = subprocess.run(
        [sys.executable, "-c", LOAD_EVERY_VIEW], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "TF-MODULES: 0 []" in result.stdout, result.stdout


READ_RUN_ARTIFACTS = """
import sys, tempfile, django
django.setup()
from pathlib import Path
from scheduler.artifacts import cache
import config.wsgi  # the web process, as gunicorn loads it
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

logs = Path(tempfile.mkdtemp()) / "train"
writer = EventFileWriter(str(logs))
for step in range(3):
    value = summary_pb2.Summary.Value(tag="epoch_loss", simple_value=1.0 / (step + 1))
    writer.add_event(event_pb2.Event(step=step, wall_time=1.0, summary=summary_pb2.Summary(value=[value])))
writer.close()
scalars = cache.scalar_cache_of(logs.parent)
print("POINTS:", scalars["points_read"], "TF:", "tensorflow" in sys.modules)
"""


def test_reading_a_runs_event_files_does_not_import_tensorflow():
    result = subprocess.run(
        [sys.executable, "-c", READ_RUN_ARTIFACTS], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "POINTS: 3 TF: False" in result.stdout, result.stdout + result.stderr[-2000:]
