"""Reading scalars from event files: equal to TensorBoard, and safe on bad input."""

from __future__ import annotations

import math
import os
import urllib.parse
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.artifacts import events

from .conftest import TRAIN_STEPS, write_images_only


def _event_file(run_dir: Path) -> Path:
    return next(path for path in sorted(run_dir.iterdir()) if "tfevents" in path.name)


def test_reads_train_and_validation_runs_with_their_tags(training_logs: Path) -> None:
    reading = events.read_scalars(training_logs)

    assert set(reading.runs) == {"train", "validation", "legacy"}
    assert set(reading.runs["train"]) == {"epoch_loss", "epoch_accuracy"}
    assert len(reading.runs["train"]["epoch_loss"]) == TRAIN_STEPS
    assert [point[1] for point in reading.runs["validation"]["epoch_loss"]] == list(range(0, TRAIN_STEPS, 2))
    assert reading.warnings == []


def test_curves_equal_point_for_point_what_tensorboard_serves(training_logs: Path, tensorboard_server) -> None:  # type: ignore[no-untyped-def]
    reading = events.read_scalars(training_logs)

    served_tags = tensorboard_server.get_json("/data/plugin/scalars/tags")
    assert {run: set(tags) for run, tags in served_tags.items() if tags} == {
        run: set(tags) for run, tags in reading.runs.items()
    }
    for run, tags in reading.runs.items():
        for tag, points in tags.items():
            query = urllib.parse.urlencode({"run": run, "tag": tag})
            served = tensorboard_server.get_json(f"/data/plugin/scalars/scalars?{query}")
            assert [list(point) for point in points] == served, (run, tag)


def test_hyperparameters_logged_with_the_hparams_plugin_are_read(training_logs: Path) -> None:
    reading = events.read_scalars(training_logs)

    assert reading.hparams == {"train": {"batch_size": 32.0, "learning_rate": 0.01, "optimizer": "adam"}}


def test_legacy_simple_value_scalars_are_read(training_logs: Path) -> None:
    points = events.read_scalars(training_logs).runs["legacy"]["loss"]

    assert [(step, value) for _, step, value in points][:3] == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]


def test_a_missing_log_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(events.EventFilesError, match="No TensorBoard logs yet"):
        events.read_scalars(tmp_path / "logs")


def test_a_file_instead_of_a_log_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "logs").write_text("not a folder")

    with pytest.raises(events.EventFilesError, match="is not a folder"):
        events.read_scalars(tmp_path / "logs")


def test_a_truncated_event_file_keeps_the_complete_records_and_warns(logs_copy: Path) -> None:
    path = _event_file(logs_copy / "validation")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 7])

    reading = events.read_scalars(logs_copy)

    # The last record (the last step's accuracy) is lost; everything before it is kept.
    assert len(reading.runs["validation"]["epoch_loss"]) == TRAIN_STEPS // 2
    assert len(reading.runs["validation"]["epoch_accuracy"]) == TRAIN_STEPS // 2 - 1
    assert any("validation/" in warning and "truncated" in warning for warning in reading.warnings)
    assert len(reading.runs["train"]["epoch_loss"]) == TRAIN_STEPS  # other runs untouched


def test_a_record_with_a_bad_checksum_stops_that_file_with_a_warning(logs_copy: Path) -> None:
    path = _event_file(logs_copy / "validation")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))

    reading = events.read_scalars(logs_copy)

    assert len(reading.runs["validation"]["epoch_loss"]) < TRAIN_STEPS // 2
    assert any("checksum mismatch" in warning for warning in reading.warnings)


def test_an_event_file_over_the_size_limit_is_skipped_with_a_warning(logs_copy: Path) -> None:
    size = _event_file(logs_copy / "train").stat().st_size

    reading = events.read_scalars(logs_copy, max_file_bytes=size - 1)

    assert "train" not in reading.runs
    assert any("train/" in warning and "over the" in warning for warning in reading.warnings)


def test_event_files_with_no_scalars_are_reported_not_drawn(tmp_path: Path) -> None:
    write_images_only(tmp_path / "logs" / "images")

    reading = events.read_scalars(tmp_path / "logs")

    assert reading.runs == {}
    assert any("no scalar summaries" in warning for warning in reading.warnings)


def test_a_random_bytes_file_named_like_an_event_file_is_a_warning(tmp_path: Path) -> None:
    run = tmp_path / "logs" / "train"
    run.mkdir(parents=True)
    (run / "events.out.tfevents.1.host").write_bytes(os.urandom(4096))

    reading = events.read_scalars(tmp_path / "logs")

    assert reading.runs == {}
    assert any("train/events.out.tfevents.1.host" in warning for warning in reading.warnings)


def test_symlinks_out_of_the_log_folder_are_not_followed(training_logs: Path, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "elsewhere").symlink_to(training_logs / "train", target_is_directory=True)
    (logs / "events.out.tfevents.0.link").symlink_to(_event_file(training_logs / "validation"))

    reading = events.read_scalars(logs)

    assert reading.runs == {}


def test_too_many_event_files_is_a_clear_error(tmp_path: Path) -> None:
    run = tmp_path / "logs"
    run.mkdir()
    for index in range(4):
        (run / f"events.out.tfevents.{index}.host").write_bytes(b"")

    with pytest.raises(events.EventFilesError, match="more than 3 event files"):
        events.read_scalars(run, max_files=3)


def test_a_restarted_run_drops_the_orphaned_steps_as_tensorboard_does(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing import plugin_event_accumulator
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(tmp_path / "logs"))
    start = event_pb2.SessionLog(status=event_pb2.SessionLog.START)
    # Crashed after step 5 and resumed from the checkpoint of step 3: steps 3-5 are orphaned.
    for restart_at, steps in [(0, range(6)), (3, range(3, 8))]:
        writer.add_event(event_pb2.Event(wall_time=10.0 * restart_at, step=restart_at, session_log=start))
        for step in steps:
            value = summary_pb2.Summary.Value(tag="loss", simple_value=float(step + restart_at))
            summary = summary_pb2.Summary(value=[value])
            writer.add_event(event_pb2.Event(wall_time=100.0 + step, step=step, summary=summary))
    writer.close()

    points = events.read_scalars(tmp_path / "logs").runs["."]["loss"]

    accumulator = plugin_event_accumulator.EventAccumulator(str(tmp_path / "logs"), size_guidance={"tensors": 0})
    accumulator.Reload()
    expected = [(event.step, float(event.tensor_proto.float_val[0])) for event in accumulator.Tensors("loss")]
    assert [(step, value) for _, step, value in points] == expected
    assert [step for _, step, _ in points] == list(range(8))


series = st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), min_size=1, max_size=400).map(
    lambda values: [(float(i), i, value) for i, value in enumerate(values)]
)


@settings(max_examples=200, deadline=None)
@given(points=series, limit=st.integers(min_value=4, max_value=120))
def test_downsampling_keeps_first_last_minimum_and_maximum_within_the_limit(points, limit) -> None:  # type: ignore[no-untyped-def]
    kept = events.downsample(points, limit)

    assert len(kept) <= max(limit, 0) or len(points) <= limit
    assert kept[0] == points[0] and kept[-1] == points[-1]
    values = [value for _, _, value in kept]
    assert min(values) == min(value for _, _, value in points)
    assert max(values) == max(value for _, _, value in points)
    assert [step for _, step, _ in kept] == sorted({step for _, step, _ in kept})  # a subsequence
    assert events.downsample(points, limit) == kept  # deterministic


def test_downsampling_leaves_short_series_untouched() -> None:
    points = [(0.0, i, math.sin(i)) for i in range(50)]

    assert events.downsample(points, 50) == points
