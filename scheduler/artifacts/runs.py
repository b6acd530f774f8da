"""Where a run's artifacts live, and the training job a run page is about.

The folder layout is the contract agreed with the backends (settings.CG_ARTIFACTS_ROOT / "jobs" /
<id> / model, logs, checkpoints, workers). The job model is looked up through the app registry so
this package does not import the quota engineer's models at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.http import Http404

LIVE_STATES = frozenset({"admitted", "launching", "running"})
FINISHED_STATES = frozenset({"succeeded", "failed", "cancelled", "preempted", "lost"})


@dataclass(frozen=True)
class RunArtifacts:
    root: Path
    model: Path
    logs: Path
    checkpoints: Path
    workers: Path


def run_artifacts(job_id: int) -> RunArtifacts:
    """The artifact folders of a job (they may not exist yet)."""
    root = Path(settings.CG_ARTIFACTS_ROOT) / "jobs" / str(int(job_id))
    return RunArtifacts(
        root=root,
        model=root / "model",
        logs=root / "logs",
        checkpoints=root / "checkpoints",
        workers=root / "workers",
    )


def training_job_model() -> Any:
    app_label, name = "scheduler", "TrainingJob"  # two strings: the model may not exist yet
    return apps.get_model(app_label, name)


def get_job(job_id: int) -> Any:
    """The TrainingJob with its allocation and project (for the permission check), or 404."""
    try:
        model = training_job_model()
    except LookupError as error:
        raise Http404("Training runs are not available yet.") from error
    job = model.objects.select_related("allocation__project").filter(pk=job_id).first()
    if job is None:
        raise Http404("No such run.")
    return job


def is_live(job: Any) -> bool:
    return getattr(job, "state", None) in LIVE_STATES
