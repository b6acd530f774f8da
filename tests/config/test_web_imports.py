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
