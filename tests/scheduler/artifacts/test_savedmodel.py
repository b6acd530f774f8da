"""SavedModel inspection: parsed as protobufs, never loaded or run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scheduler.artifacts import savedmodel


def test_signatures_list_input_and_output_names_dtypes_and_shapes(saved_model_dir: Path) -> None:
    summary = savedmodel.inspect_saved_model(saved_model_dir)

    (graph,) = summary.meta_graphs
    assert graph.tags == ["serve"]
    signatures = {signature.key: signature for signature in graph.signatures}
    assert set(signatures) == {"serving_default", "read"}
    predict = signatures["serving_default"]
    assert predict.method == "tensorflow/serving/predict"
    assert [(spec.name, spec.dtype, spec.shape) for spec in predict.inputs] == [("pixels", "float32", [-1, 64])]
    assert [(spec.name, spec.dtype, spec.shape) for spec in predict.outputs] == [
        ("label", "int64", [-1]),
        ("logits", "float32", [-1, 10]),
    ]
    assert graph.tensorflow_version


def test_file_reading_ops_are_flagged_as_risky(saved_model_dir: Path) -> None:
    (graph,) = savedmodel.inspect_saved_model(saved_model_dir).meta_graphs

    risky = {entry["op"]: entry for entry in graph.risky_ops}
    assert risky["ReadFile"]["category"] == "file"
    assert risky["SaveV2"]["category"] == "checkpoint"  # the saver, in every SavedModel
    assert graph.op_counts["MatMul"] >= 1  # ops of the function library are counted


def test_sizes_and_fingerprint_are_reported(saved_model_dir: Path) -> None:
    summary = savedmodel.inspect_saved_model(saved_model_dir)

    variables = sum(path.stat().st_size for path in (saved_model_dir / "variables").iterdir())
    assert summary.variables_bytes == variables
    assert summary.total_bytes > variables
    assert summary.fingerprint is not None and summary.fingerprint["saved_model_checksum"].isdigit()
    assert summary.as_json()["meta_graphs"][0]["signatures"]


def test_inspection_never_imports_tensorflow(saved_model_dir: Path) -> None:
    program = (
        "import sys\n"
        "from scheduler.artifacts.savedmodel import inspect_saved_model\n"
        f"inspect_saved_model({str(saved_model_dir)!r})\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'\n"
    )
    subprocess.run([sys.executable, "-c", program], check=True, cwd=Path(__file__).parents[3])


def test_a_malformed_saved_model_pb_is_a_clear_error(saved_model_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "model"
    shutil.copytree(saved_model_dir, broken)
    (broken / "saved_model.pb").write_bytes(b"\x12\xff\xff\xff\xff\x0f garbage")

    with pytest.raises(savedmodel.SavedModelError, match="not a valid SavedModel protobuf"):
        savedmodel.inspect_saved_model(broken)


def test_an_empty_saved_model_pb_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "saved_model.pb").write_bytes(b"")

    with pytest.raises(savedmodel.SavedModelError, match="holds no MetaGraph"):
        savedmodel.inspect_saved_model(tmp_path)


def test_a_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(savedmodel.SavedModelError, match="no model folder"):
        savedmodel.inspect_saved_model(tmp_path / "model")
    (tmp_path / "model").mkdir()
    with pytest.raises(savedmodel.SavedModelError, match=r"no saved_model\.pb"):
        savedmodel.inspect_saved_model(tmp_path / "model")


def test_a_saved_model_pb_over_the_size_limit_is_refused(saved_model_dir: Path) -> None:
    with pytest.raises(savedmodel.SavedModelError, match="over the"):
        savedmodel.inspect_saved_model(saved_model_dir, max_pb_bytes=100)


def test_a_broken_fingerprint_is_a_warning_not_an_error(saved_model_dir: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(saved_model_dir, model)
    (model / "fingerprint.pb").write_bytes(b"\xff\xff\xff")

    summary = savedmodel.inspect_saved_model(model)

    assert summary.fingerprint is None
    assert summary.warnings == ["fingerprint.pb is not a valid fingerprint protobuf; ignored."]


def test_dtype_names_follow_tensorflow() -> None:
    from tensorboard.compat.proto import types_pb2

    assert savedmodel.dtype_name(types_pb2.DT_FLOAT) == "float32"
    assert savedmodel.dtype_name(types_pb2.DT_INT64) == "int64"
    assert savedmodel.dtype_name(types_pb2.DT_STRING) == "string"
    assert savedmodel.dtype_name(9999) == "unknown(9999)"
