"""Whatever bytes an applicant's run leaves behind, the readers answer with data or a clear error."""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.artifacts import events, savedmodel


def _record(payload: bytes) -> bytes:
    """A well-framed TFRecord (valid checksums) around arbitrary bytes: parsed as an Event."""
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

    header = struct.pack("<Q", len(payload))
    return header + struct.pack("<I", masked_crc32c(header)) + payload + struct.pack("<I", masked_crc32c(payload))


def _event(step: int, tag: str, kind: int, raw: bytes) -> bytes:
    """A real Event whose summary value is built from fuzzed parts (any dtype, shape, bytes)."""
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2

    tensor = tensor_pb2.TensorProto(dtype=kind, tensor_content=raw, tensor_shape=tensor_shape_pb2.TensorShapeProto())
    metadata = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))
    value = summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=metadata)
    return event_pb2.Event(step=step, summary=summary_pb2.Summary(value=[value])).SerializeToString()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(
        st.binary(max_size=2048),
        st.lists(st.binary(max_size=64), max_size=8).map(lambda payloads: b"".join(_record(p) for p in payloads)),
    )
)
def test_arbitrary_event_file_bytes_never_raise(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder) / "train"
        run.mkdir()
        (run / "events.out.tfevents.1.host").write_bytes(data)

        reading = events.read_scalars(folder)

    assert reading.runs == {} or all(
        isinstance(v, float) for t in reading.runs.values() for p in t.values() for _, _, v in p
    )
    assert reading.warnings or not data


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=4096))
def test_arbitrary_saved_model_bytes_are_a_summary_or_a_saved_model_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "saved_model.pb").write_bytes(data)
        try:
            summary = savedmodel.inspect_saved_model(folder)
        except savedmodel.SavedModelError as error:
            assert str(error)
        else:
            assert summary.meta_graphs
