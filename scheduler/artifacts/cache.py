"""What a run page shows, computed in a worker and cached on the TrainingJob.

`refresh_run_artifacts` reads the event files and the SavedModel (both untrusted) and stores
plain JSON on the job: downsampled curves (`scalar_cache`), the model inspection
(`model_summary`) and progress against the plan (`progress`). Pages then draw from the database
without touching the files. Bad input becomes an "error" or "warnings" entry, never an exception.

Shapes (for other pages that want to show them):
- scalar_cache: {"runs": {run: {tag: [[wall_time, step, value|null], ...]}}, "hparams": {run: {...}},
  "warnings": [str], "error": str|null, "points_read": int, "last_steps": {run: int}, ...}
- model_summary: {"error": str|null, "meta_graphs": [{"tags", "signatures", "risky_ops", ...}],
  "total_bytes", "variables_bytes", "fingerprint", ...} (see savedmodel.SavedModelSummary)
- progress: {"epochs_done", "epochs_planned", "epoch_fraction", "last_step", "elapsed_seconds",
  "max_runtime_seconds", "runtime_fraction", "state", "updated_at"}
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

from django.utils import timezone

from scheduler.artifacts import events, runs, savedmodel

POINTS_PER_SERIES = 500
CACHE_VERSION = 1


def _json_number(value: float) -> float | None:
    # PostgreSQL's jsonb has no NaN or infinity: a diverged loss is stored as a gap.
    return value if math.isfinite(value) else None


def scalar_cache_of(log_dir: Path, limit: int = POINTS_PER_SERIES) -> dict[str, Any]:
    """Downsampled curves, hyperparameters and warnings of a log folder, as JSON-ready data."""
    try:
        reading = events.read_scalars(log_dir)
    except events.EventFilesError as error:
        return {"version": CACHE_VERSION, "runs": {}, "hparams": {}, "warnings": [], "error": str(error)}
    series: dict[str, dict[str, list[list[Any]]]] = {}
    last_steps: dict[str, int] = {}
    for run, tags in reading.runs.items():
        series[run] = {}
        for tag, points in tags.items():
            kept = events.downsample(points, limit)
            series[run][tag] = [[wall, step, _json_number(value)] for wall, step, value in kept]
            last_steps[run] = max(last_steps.get(run, -1), points[-1][1])
    return {
        "version": CACHE_VERSION,
        "runs": series,
        "hparams": reading.hparams,
        "warnings": reading.warnings,
        "error": None,
        "points_read": reading.point_count,
        "last_steps": last_steps,
        "downsampled_to": limit,
    }


def model_summary_of(model_dir: Path) -> dict[str, Any]:
    """The SavedModel inspection as JSON, or {"error": ...} when there is no usable model."""
    try:
        return {"error": None, **savedmodel.inspect_saved_model(model_dir).as_json()}
    except savedmodel.SavedModelError as error:
        return {"error": str(error)}
    except OSError as error:
        return {"error": f"The model folder cannot be read ({error.strerror})."}


def planned_epochs(args: Any) -> int | None:
    """Epochs the job's plan asks for, from its arguments (`--epochs 5`, `--epochs=5`, {"epochs": 5})."""
    if isinstance(args, dict):
        value = args.get("epochs")
        return int(value) if isinstance(value, int | str) and str(value).isdigit() else None
    if isinstance(args, list | tuple):
        items = [str(item) for item in args]
        for index, item in enumerate(items):
            if item == "--epochs" and index + 1 < len(items) and items[index + 1].isdigit():
                return int(items[index + 1])
            if item.startswith("--epochs=") and item.split("=", 1)[1].isdigit():
                return int(item.split("=", 1)[1])
    return None


def progress_of(job: Any, scalars: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """Where the run is against its plan: epochs done of planned, runtime used of the maximum."""
    now = now or timezone.now()
    all_runs: dict[str, dict[str, list[Any]]] = scalars.get("runs", {})
    train = all_runs.get("train") or next(iter(all_runs.values()), {})
    epoch_steps = {point[1] for tag, points in train.items() if tag.startswith("epoch_") for point in points}
    last_steps = scalars.get("last_steps", {})
    epochs_done = (max(epoch_steps) + 1) if epoch_steps else None
    epochs_planned = planned_epochs(getattr(job, "args", None))
    started = getattr(job, "started_at", None)
    ended = getattr(job, "finished_at", None)
    elapsed = int(((ended or now) - started).total_seconds()) if started else None
    max_runtime = getattr(job, "max_runtime_seconds", None)
    return {
        "state": getattr(job, "state", None),
        "epochs_done": epochs_done,
        "epochs_planned": epochs_planned,
        "epoch_fraction": (
            min(1.0, epochs_done / epochs_planned) if epochs_done is not None and epochs_planned else None
        ),
        "last_step": max(last_steps.values()) if last_steps else None,
        "elapsed_seconds": elapsed,
        "max_runtime_seconds": max_runtime,
        "runtime_fraction": min(1.0, elapsed / max_runtime) if elapsed is not None and max_runtime else None,
        "updated_at": now.isoformat(),
    }


def refresh_run_artifacts(job: Any, now: datetime | None = None) -> Any:
    """Re-read a job's logs and model and store the results on the job (only these fields)."""
    paths = runs.run_artifacts(job.pk)
    job.scalar_cache = scalar_cache_of(paths.logs)
    # A running job's model folder is still being written: inspect it once the run is over.
    if not runs.is_live(job) or paths.model.joinpath("saved_model.pb").exists():
        job.model_summary = model_summary_of(paths.model)
    job.progress = progress_of(job, job.scalar_cache, now)
    job.save(update_fields=["scalar_cache", "model_summary", "progress"])
    return job
