"""Inspect an exported SavedModel by parsing its protobufs: never loading or running it.

A SavedModel is a program written by an applicant; the portal only reads `saved_model.pb` (and
`fingerprint.pb`) as data. The messages come from TensorBoard's copies of TensorFlow's protos
(`tensorboard.compat.proto`), so the web process never imports TensorFlow. TensorBoard ships no
copy of the two small wrapper messages (SavedModel, FingerprintDef); they are declared below with
TensorFlow's field numbers, around TensorBoard's MetaGraphDef and VersionDef.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format
from google.protobuf.message import DecodeError, Message
from tensorboard.compat.proto import meta_graph_pb2, types_pb2, versions_pb2

MAX_PB_BYTES = 512 * 1024 * 1024

# Ops that touch the world outside the graph's tensors. The saver's ops are in every SavedModel
# (its save/restore functions) and are listed as expected; the rest deserve a reviewer's look.
RISKY_OPS: dict[str, tuple[str, str]] = {
    "PyFunc": ("code", "runs Python code captured at export time"),
    "PyFuncStateless": ("code", "runs Python code captured at export time"),
    "EagerPyFunc": ("code", "runs Python code captured at export time"),
    "ReadFile": ("file", "reads any file the serving process can read"),
    "WriteFile": ("file", "writes files"),
    "MatchingFiles": ("file", "lists files by glob pattern"),
    "DeleteFile": ("file", "deletes files"),
    "ImmutableConst": ("file", "memory-maps a file"),
    "InitializeTableFromTextFile": ("file", "reads a file into a table"),
    "InitializeTableFromTextFileV2": ("file", "reads a file into a table"),
    "WholeFileReader": ("file", "reads whole files"),
    "WholeFileReaderV2": ("file", "reads whole files"),
    "TFRecordDataset": ("file", "reads record files"),
    "TFRecordDatasetV2": ("file", "reads record files"),
    "TextLineDataset": ("file", "reads text files"),
    "FixedLengthRecordDataset": ("file", "reads files"),
    "FixedLengthRecordDatasetV2": ("file", "reads files"),
    "PrintV2": ("file", "prints, possibly to a file path"),
    "WriteSummary": ("file", "writes summary files"),
    "CreateSummaryFileWriter": ("file", "writes summary files"),
    "DebugIdentity": ("network", "can send tensors to a file or gRPC address"),
    "DebugIdentityV2": ("network", "can send tensors to a file or gRPC address"),
    "Rpc": ("network", "makes RPC calls"),
    "TryRpc": ("network", "makes RPC calls"),
    "Save": ("checkpoint", "saves a checkpoint"),
    "SaveSlices": ("checkpoint", "saves a checkpoint"),
    "Restore": ("checkpoint", "restores a checkpoint"),
    "RestoreSlice": ("checkpoint", "restores a checkpoint"),
    "SaveV2": ("checkpoint", "the saver: present in every SavedModel"),
    "RestoreV2": ("checkpoint", "the saver: present in every SavedModel"),
    "MergeV2Checkpoints": ("checkpoint", "the saver: present in every SavedModel"),
}

_DTYPE_NAMES = {
    "FLOAT": "float32",
    "DOUBLE": "float64",
    "HALF": "float16",
    "BFLOAT16": "bfloat16",
    "COMPLEX64": "complex64",
    "COMPLEX128": "complex128",
}


class SavedModelError(Exception):
    """The folder holds no SavedModel, or its saved_model.pb cannot be parsed."""


@dataclass
class TensorSpec:
    name: str
    tensor: str
    dtype: str
    shape: list[int] | None  # None: unknown rank; -1: unknown size


@dataclass
class Signature:
    key: str
    method: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]


@dataclass
class MetaGraphSummary:
    tags: list[str]
    tensorflow_version: str
    signatures: list[Signature]
    op_counts: dict[str, int]
    risky_ops: list[dict[str, Any]]
    function_count: int


@dataclass
class SavedModelSummary:
    schema_version: int
    meta_graphs: list[MetaGraphSummary]
    fingerprint: dict[str, str] | None
    total_bytes: int
    variables_bytes: int
    file_count: int
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@cache
def _wrapper_messages() -> tuple[type[Message], type[Message]]:
    """SavedModel and FingerprintDef message classes built over TensorBoard's protos."""
    pool = descriptor_pool.Default()
    name = "computegrant/saved_model_wrappers.proto"
    try:
        file = pool.FindFileByName(name)
    except KeyError:
        proto = descriptor_pb2.FileDescriptorProto(
            name=name,
            package="computegrant.savedmodel",
            syntax="proto3",
            dependency=[meta_graph_pb2.DESCRIPTOR.name, versions_pb2.DESCRIPTOR.name],
        )
        saved = proto.message_type.add(name="SavedModel")
        saved.field.add(name="saved_model_schema_version", number=1, type=3, label=1)  # int64
        saved.field.add(name="meta_graphs", number=2, type=11, label=3, type_name=".tensorboard.MetaGraphDef")
        fingerprint = proto.message_type.add(name="FingerprintDef")
        for number, field_name in enumerate(
            [
                "saved_model_checksum",
                "graph_def_program_hash",
                "signature_def_hash",
                "saved_object_graph_hash",
                "checkpoint_hash",
            ],
            start=1,
        ):
            fingerprint.field.add(name=field_name, number=number, type=4, label=1)  # uint64
        fingerprint.field.add(name="version", number=6, type=11, label=1, type_name=".tensorboard.VersionDef")
        fingerprint.field.add(name="uuid", number=7, type=9, label=1)  # string
        file = pool.Add(proto)
    return (
        message_factory.GetMessageClass(file.message_types_by_name["SavedModel"]),
        message_factory.GetMessageClass(file.message_types_by_name["FingerprintDef"]),
    )


def inspect_saved_model(model_dir: Path | str, max_pb_bytes: int = MAX_PB_BYTES) -> SavedModelSummary:
    """Tags, signatures, ops (risky ones flagged), sizes of the SavedModel in `model_dir`."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir() or model_dir.is_symlink():
        raise SavedModelError("No exported model: the run has no model folder.")
    binary = model_dir / "saved_model.pb"
    text = model_dir / "saved_model.pbtxt"
    source = binary if binary.is_file() else text if text.is_file() else None
    if source is None or source.is_symlink():
        raise SavedModelError("No SavedModel in the model folder (no saved_model.pb).")
    size = source.stat().st_size
    if size > max_pb_bytes:
        raise SavedModelError(
            f"{source.name} is {size / 2**20:.0f} MiB, over the {max_pb_bytes / 2**20:.0f} MiB limit."
        )
    saved_model_class, fingerprint_class = _wrapper_messages()
    saved_model = saved_model_class()
    try:
        if source is binary:
            saved_model.ParseFromString(source.read_bytes())
        else:
            text_format.Parse(source.read_text(encoding="utf-8"), saved_model)
    except (DecodeError, text_format.ParseError, UnicodeDecodeError) as error:
        raise SavedModelError(f"{source.name} is not a valid SavedModel protobuf ({error}).") from error
    if not saved_model.meta_graphs:  # type: ignore[attr-defined]
        raise SavedModelError(f"{source.name} holds no MetaGraph: not a usable SavedModel.")

    warnings: list[str] = []
    total, variables, files = _folder_sizes(model_dir)
    return SavedModelSummary(
        schema_version=saved_model.saved_model_schema_version,  # type: ignore[attr-defined]
        meta_graphs=[_summarise_meta_graph(graph) for graph in saved_model.meta_graphs],  # type: ignore[attr-defined]
        fingerprint=_read_fingerprint(model_dir / "fingerprint.pb", fingerprint_class, warnings),
        total_bytes=total,
        variables_bytes=variables,
        file_count=files,
        warnings=warnings,
    )


def _summarise_meta_graph(graph: Any) -> MetaGraphSummary:
    ops: Counter[str] = Counter(node.op for node in graph.graph_def.node)
    for function in graph.graph_def.library.function:
        ops.update(node.op for node in function.node_def)
    risky = [
        {"op": op, "count": ops[op], "category": RISKY_OPS[op][0], "reason": RISKY_OPS[op][1]}
        for op in sorted(ops)
        if op in RISKY_OPS
    ]
    signatures = [
        Signature(
            key=key,
            method=signature.method_name,
            inputs=[_tensor_spec(name, info) for name, info in sorted(signature.inputs.items())],
            outputs=[_tensor_spec(name, info) for name, info in sorted(signature.outputs.items())],
        )
        for key, signature in sorted(graph.signature_def.items())
        if not key.startswith("__")  # __saved_model_init_op: TensorFlow's own, not callable
    ]
    return MetaGraphSummary(
        tags=list(graph.meta_info_def.tags),
        tensorflow_version=graph.meta_info_def.tensorflow_version,
        signatures=signatures,
        op_counts=dict(sorted(ops.items())),
        risky_ops=risky,
        function_count=len(graph.graph_def.library.function),
    )


def _tensor_spec(name: str, info: Any) -> TensorSpec:
    shape = None if info.tensor_shape.unknown_rank else [dim.size for dim in info.tensor_shape.dim]
    return TensorSpec(name=name, tensor=info.name, dtype=dtype_name(info.dtype), shape=shape)


def dtype_name(dtype: int) -> str:
    """TensorFlow's name for a DataType enum value (float32, int64, string...)."""
    try:
        raw = types_pb2.DataType.Name(dtype)
    except ValueError:
        return f"unknown({dtype})"
    base = raw.removeprefix("DT_").removesuffix("_REF")
    return _DTYPE_NAMES.get(base, base.lower())


def _read_fingerprint(path: Path, message_class: type[Message], warnings: list[str]) -> dict[str, str] | None:
    if not path.is_file() or path.is_symlink():
        return None
    if path.stat().st_size > 1024 * 1024:
        warnings.append("fingerprint.pb is too large to be a fingerprint; ignored.")
        return None
    fingerprint = message_class()
    try:
        fingerprint.ParseFromString(path.read_bytes())
    except DecodeError:
        warnings.append("fingerprint.pb is not a valid fingerprint protobuf; ignored.")
        return None
    # uint64 hashes as strings: JSON numbers lose precision past 2**53 in browsers.
    return {
        name: str(getattr(fingerprint, name))
        for name in (
            "saved_model_checksum",
            "graph_def_program_hash",
            "signature_def_hash",
            "saved_object_graph_hash",
            "checkpoint_hash",
            "uuid",
        )
    }


def _folder_sizes(model_dir: Path) -> tuple[int, int, int]:
    """Total bytes, bytes under variables/, and file count; symlinks are not followed."""
    total = variables = count = 0
    variables_dir = model_dir / "variables"
    for folder, _dirs, files in os.walk(model_dir, followlinks=False):
        for name in files:
            path = Path(folder, name)
            if path.is_symlink():
                continue
            size = path.stat().st_size
            total += size
            count += 1
            if variables_dir in path.parents:
                variables += size
    return total, variables, count
