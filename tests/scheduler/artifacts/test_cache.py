"""What the run page caches: downsampled curves, model inspection, progress against the plan."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from scheduler.artifacts import cache, events

from .conftest import TRAIN_STEPS


def test_the_scalar_cache_keeps_every_point_of_short_curves(training_logs: Path) -> None:
    cached = cache.scalar_cache_of(training_logs)

    reading = events.read_scalars(training_logs)
    assert cached["runs"]["train"]["epoch_loss"] == [list(point) for point in reading.runs["train"]["epoch_loss"]]
    assert cached["last_steps"] == {"train": TRAIN_STEPS - 1, "validation": TRAIN_STEPS - 2, "legacy": 11}
    assert cached["error"] is None
    json.dumps(cached, allow_nan=False)  # storable in PostgreSQL jsonb


def test_long_curves_are_downsampled_keeping_their_extremes(training_logs: Path) -> None:
    cached = cache.scalar_cache_of(training_logs, limit=10)

    kept = cached["runs"]["train"]["epoch_loss"]
    full = events.read_scalars(training_logs).runs["train"]["epoch_loss"]
    assert len(kept) <= 10
    assert kept[0][1] == 0 and kept[-1][1] == TRAIN_STEPS - 1
    assert min(point[2] for point in kept) == min(point[2] for point in full)
    assert cached["points_read"] > 10


def test_a_diverged_loss_is_stored_as_a_gap_not_nan(tmp_path: Path) -> None:
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(tmp_path / "logs" / "train"))
    for step, value in enumerate([1.0, math.nan, math.inf]):
        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="loss", simple_value=value)])
        writer.add_event(event_pb2.Event(wall_time=1.0, step=step, summary=summary))
    writer.close()

    cached = cache.scalar_cache_of(tmp_path / "logs")

    assert [point[2] for point in cached["runs"]["train"]["loss"]] == [1.0, None, None]
    json.dumps(cached, allow_nan=False)


def test_missing_logs_are_an_error_message_in_the_cache(tmp_path: Path) -> None:
    cached = cache.scalar_cache_of(tmp_path / "logs")

    assert cached["runs"] == {}
    assert cached["error"].startswith("No TensorBoard logs yet")


def test_the_model_summary_is_json_or_an_error_message(saved_model_dir: Path, tmp_path: Path) -> None:
    summary = cache.model_summary_of(saved_model_dir)
    assert summary["error"] is None
    assert summary["meta_graphs"][0]["signatures"]
    json.dumps(summary, allow_nan=False)

    (tmp_path / "saved_model.pb").write_bytes(b"\xff\xff\xff\xff")
    assert "not a valid SavedModel protobuf" in cache.model_summary_of(tmp_path)["error"]


@pytest.mark.parametrize(
    ("args", "epochs"),
    [
        (["--epochs", "5"], 5),
        (["--epochs=7", "--seed", "1"], 7),
        ({"epochs": 3}, 3),
        (["--lr", "0.1"], None),
        (None, None),
    ],
)
def test_planned_epochs_are_read_from_the_job_arguments(args, epochs) -> None:  # type: ignore[no-untyped-def]
    assert cache.planned_epochs(args) == epochs


def test_progress_compares_epochs_and_runtime_with_the_plan(training_logs: Path) -> None:
    started = datetime(2026, 1, 1, tzinfo=UTC)
    job = SimpleNamespace(
        state="running",
        args=["--epochs", "80"],
        started_at=started,
        finished_at=None,
        max_runtime_seconds=600,
    )

    progress = cache.progress_of(job, cache.scalar_cache_of(training_logs), now=started + timedelta(seconds=150))

    assert progress["epochs_done"] == TRAIN_STEPS
    assert progress["epochs_planned"] == 80
    assert progress["epoch_fraction"] == 0.5
    assert progress["runtime_fraction"] == 0.25
    assert progress["last_step"] == TRAIN_STEPS - 1
