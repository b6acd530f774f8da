"""Scalars from a run's TensorBoard event files, read with TensorBoard's own event-processing code.

Event files come from applicants' training code, so they are untrusted: a damaged, truncated or
enormous file becomes a warning on that file, a missing folder a `EventFilesError`; nothing else
escapes. Records are read once with TensorBoard's raw loader (no reservoirs, no compat rewrites)
but tags, values and restart purges follow TensorBoard's rules, so the curves equal what
TensorBoard itself serves for the same run and tag.

Importing this module is cheap; reading files loads TensorFlow's record reader (via
`tensorboard.compat.tf`), so reading belongs in a worker, not in a web request.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf.message import DecodeError
from tensorboard.compat.proto import event_pb2, types_pb2

# A point as TensorBoard's scalars API serves it: [wall_time, step, value].
Point = tuple[float, int, float]

MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_EVENT_FILES = 500
SCALARS_PLUGIN = "scalars"
HPARAMS_PLUGIN = "hparams"
HPARAMS_SESSION_START_TAG = "_hparams_/session_start_info"
ROOT_RUN = "."

_RECORD_OVERHEAD = 16  # length (8) + length CRC (4) + data CRC (4)
_FLOAT = struct.Struct("<f")
_DOUBLE = struct.Struct("<d")
_SESSION_START = event_pb2.SessionLog.START


class EventFilesError(Exception):
    """The log folder cannot be read at all (missing, not a folder, too many files)."""


@dataclass
class ScalarReading:
    """Every scalar series of a log folder, by run (sub-folder) and tag, with what went wrong."""

    runs: dict[str, dict[str, list[Point]]] = field(default_factory=dict)
    hparams: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    files_read: int = 0

    @property
    def point_count(self) -> int:
        return sum(len(points) for tags in self.runs.values() for points in tags.values())


def is_event_file(name: str) -> bool:
    """TensorBoard's own test (io_wrapper.IsSummaryEventsFile) for an event file name."""
    return "tfevents" in name


def find_runs(log_dir: Path, max_files: int = MAX_EVENT_FILES) -> dict[str, list[Path]]:
    """Event files by run name, as TensorBoard names runs: the folder's path relative to log_dir.

    Symlinks are never followed: a log folder must not lead the reader elsewhere on the disk.
    """
    if not log_dir.exists():
        raise EventFilesError(f"No TensorBoard logs yet: {log_dir.name}/ does not exist.")
    if log_dir.is_symlink() or not log_dir.is_dir():
        raise EventFilesError(f"The TensorBoard log location {log_dir.name} is not a folder.")
    runs: dict[str, list[Path]] = {}
    count = 0
    for folder, dirs, files in os.walk(log_dir, followlinks=False):
        dirs.sort()
        names = sorted(name for name in files if is_event_file(name) and not os.path.islink(os.path.join(folder, name)))
        if not names:
            continue
        count += len(names)
        if count > max_files:
            raise EventFilesError(f"The log folder holds more than {max_files} event files; not reading it.")
        relative = os.path.relpath(folder, log_dir)
        runs[relative.replace(os.sep, "/")] = [Path(folder, name) for name in names]
    return runs


def read_scalars(
    log_dir: Path | str, max_file_bytes: int = MAX_FILE_BYTES, max_files: int = MAX_EVENT_FILES
) -> ScalarReading:
    """Read every scalar series and logged hyperparameters under a TensorBoard log folder."""
    log_dir = Path(log_dir)
    reading = ScalarReading()
    for run, files in find_runs(log_dir, max_files).items():
        state = _RunState()
        for path in files:
            _read_file(path, state, reading.warnings, max_file_bytes, log_dir)
            reading.files_read += 1
        if state.series:
            reading.runs[run] = {tag: points for tag, points in state.series.items() if points}
        if state.hparams:
            reading.hparams[run] = state.hparams
    if not reading.runs and not reading.warnings:
        reading.warnings.append("The event files hold no scalar summaries (tf.summary.scalar) yet.")
    return reading


class _RunState:
    """What TensorBoard's accumulator tracks per run: first metadata per tag, restarts."""

    def __init__(self) -> None:
        self.series: dict[str, list[Point]] = {}
        self.plugin_of: dict[str, str] = {}
        self.hparams: dict[str, Any] = {}
        self.file_version: float | None = None
        self.seen_session_start = False
        self.most_recent_step = -1

    def purge(self, step: int, tags: Iterator[str] | None) -> None:
        """Drop points at or after `step`: they were orphaned by a restart of the training."""
        for tag in tags if tags is not None else list(self.series):
            points = self.series.get(tag)
            if points:
                self.series[tag] = [point for point in points if point[1] < step]


def _read_file(path: Path, state: _RunState, warnings: list[str], max_bytes: int, root: Path) -> None:
    from tensorboard.backend.event_processing import event_file_loader

    name = path.relative_to(root).as_posix()
    try:
        size = path.stat().st_size
    except OSError as error:
        warnings.append(f"{name}: cannot be read ({error.strerror}).")
        return
    if size > max_bytes:
        warnings.append(
            f"{name}: {size / 2**20:.1f} MiB is over the {max_bytes / 2**20:.0f} MiB limit for an event file; not read."
        )
        return
    consumed = 0
    scalars_before = sum(len(points) for points in state.series.values())
    undecodable = 0
    try:
        loader = event_file_loader.RawEventFileLoader(str(path))
        for record in loader.Load():
            consumed += len(record) + _RECORD_OVERHEAD
            try:
                event = event_pb2.Event.FromString(record)
            except DecodeError:
                undecodable += 1
                continue
            _process_event(event, state)
    except OSError as error:
        warnings.append(f"{name}: cannot be read ({error}).")
        return
    except Exception as error:  # untrusted bytes: one odd file must not hide the others
        warnings.append(f"{name}: could not be read ({type(error).__name__}); skipped.")
        return
    if undecodable:
        warnings.append(f"{name}: {undecodable} record(s) are not TensorBoard events; skipped.")
    if consumed < size:
        warnings.append(f"{name}: {_describe_damage(path, consumed, size)}")
    scalars_after = sum(len(points) for points in state.series.values())
    if consumed and scalars_after == scalars_before and not state.hparams:
        warnings.append(f"{name}: no scalar summaries in this file (other kinds of data only).")


def _describe_damage(path: Path, offset: int, size: int) -> str:
    """Why the record reader stopped early, for the warning shown on the run page."""
    with path.open("rb") as handle:
        handle.seek(offset)
        header = handle.read(12)
    if len(header) == 12:
        (length,) = struct.unpack("<Q", header[:8])
        if offset + length + _RECORD_OVERHEAD <= size:
            return (
                f"corrupted record (checksum mismatch) at byte {offset} of {size}; the rest of the "
                "file is not shown (TensorBoard skips it too)."
            )
    return f"truncated at byte {offset} of {size} (an incomplete last record); the rest is not shown."


def _process_event(event: event_pb2.Event, state: _RunState) -> None:
    """Mirror of plugin_event_accumulator's _ProcessEvent, for scalars and hparams only."""
    what = event.WhichOneof("what")
    if what == "file_version":
        try:
            state.file_version = float(event.file_version.split(":")[-1])
        except ValueError:
            state.file_version = None
    # Orphaned data after a restart, purged as TensorBoard purges it.
    if state.file_version is not None and state.file_version >= 2:
        if what == "session_log" and event.session_log.status == _SESSION_START:
            if state.seen_session_start:
                state.purge(event.step, None)
            state.seen_session_start = True
    elif what == "summary" and event.step < state.most_recent_step:
        state.purge(event.step, iter([value.tag for value in event.summary.value]))
    if what != "summary":
        return
    state.most_recent_step = event.step
    for value in event.summary.value:
        tag = value.tag
        kind = value.WhichOneof("value")
        if kind == "simple_value":
            # TensorBoard migrates legacy simple values to scalar-plugin tensors (data_compat).
            if tag not in state.plugin_of:
                state.plugin_of[tag] = SCALARS_PLUGIN
            if state.plugin_of[tag] == SCALARS_PLUGIN:
                state.series.setdefault(tag, []).append((event.wall_time, event.step, value.simple_value))
            continue
        if kind != "tensor":
            if tag not in state.plugin_of and value.HasField("metadata"):
                state.plugin_of[tag] = value.metadata.plugin_data.plugin_name
            continue
        if not tag:
            tag = value.node_name
        if tag not in state.plugin_of and value.HasField("metadata"):
            state.plugin_of[tag] = value.metadata.plugin_data.plugin_name
            if state.plugin_of[tag] == HPARAMS_PLUGIN and tag == HPARAMS_SESSION_START_TAG:
                _read_hparams(value.metadata.plugin_data.content, state)
        if state.plugin_of.get(tag) == SCALARS_PLUGIN:
            number = _scalar_of(value.tensor)
            if number is not None:
                state.series.setdefault(tag, []).append((event.wall_time, event.step, number))


def _scalar_of(tensor: Any) -> float | None:
    """The number in a scalar tensor proto, decoded without numpy for the common dtypes."""
    for dim in tensor.tensor_shape.dim:
        if dim.size != 1:
            return None
    dtype = tensor.dtype
    if dtype == types_pb2.DT_FLOAT:
        if tensor.tensor_content:
            return _FLOAT.unpack_from(tensor.tensor_content)[0]
        return tensor.float_val[0] if tensor.float_val else None
    if dtype == types_pb2.DT_DOUBLE:
        if tensor.tensor_content:
            return _DOUBLE.unpack_from(tensor.tensor_content)[0]
        return tensor.double_val[0] if tensor.double_val else None
    from tensorboard.util import tensor_util

    try:
        array = tensor_util.make_ndarray(tensor)
        return float(array.item()) if array.size == 1 else None
    except (TypeError, ValueError):
        return None


def _read_hparams(content: bytes, state: _RunState) -> None:
    """Hyperparameters a run logged with the hparams plugin (session start info)."""
    from tensorboard.plugins.hparams import error as hparams_error
    from tensorboard.plugins.hparams import metadata as hparams_metadata

    try:
        start_info = hparams_metadata.parse_session_start_info_plugin_data(content)
    except (DecodeError, hparams_error.HParamsError):
        return
    for name, proto in sorted(start_info.hparams.items()):
        kind = proto.WhichOneof("kind")
        if kind in {"number_value", "string_value", "bool_value"}:
            state.hparams[name] = getattr(proto, kind)


def downsample(points: list[Point], limit: int) -> list[Point]:
    """At most `limit` points keeping the first, the last and each bucket's minimum and maximum.

    Deterministic (no reservoir sampling): the same series always gives the same curve, so two
    runs with identical logs draw identical charts.
    """
    if len(points) <= limit:
        return list(points)
    if limit < 4:
        return [points[0], points[-1]][:limit]
    buckets = (limit - 2) // 2
    inner = points[1:-1]
    keep: list[Point] = [points[0]]
    size = len(inner) / buckets
    for index in range(buckets):
        chunk = inner[int(index * size) : int((index + 1) * size)]
        if not chunk:
            continue
        low = min(range(len(chunk)), key=lambda i: chunk[i][2])
        high = max(range(len(chunk)), key=lambda i: chunk[i][2])
        for i in sorted({low, high}):
            keep.append(chunk[i])
    keep.append(points[-1])
    return keep
