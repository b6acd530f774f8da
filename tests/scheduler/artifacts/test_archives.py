"""Streamed tar.gz downloads of artifact folders."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from scheduler.artifacts import archives


def _open(chunks) -> tarfile.TarFile:  # type: ignore[no-untyped-def]
    return tarfile.open(fileobj=io.BytesIO(b"".join(chunks)), mode="r:gz")


def test_the_archive_holds_every_file_with_its_contents(saved_model_dir: Path) -> None:
    archive = _open(archives.stream_tar_gz(saved_model_dir, "job-3-model"))

    names = set(archive.getnames())
    assert {"job-3-model", "job-3-model/saved_model.pb", "job-3-model/variables"} <= names
    member = archive.extractfile("job-3-model/saved_model.pb")
    assert member is not None and member.read() == (saved_model_dir / "saved_model.pb").read_bytes()


def test_large_files_stream_in_many_chunks(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    payload = os.urandom(3 * 1024 * 1024)  # incompressible: the compressor must emit as it goes
    (folder / "big.bin").write_bytes(payload)

    chunks = list(archives.stream_tar_gz(folder, "logs"))

    assert len(chunks) > 2
    member = _open(chunks).extractfile("logs/big.bin")
    assert member is not None and member.read() == payload


def test_symlinks_are_left_out_of_the_archive(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("server secret")
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "saved_model.pb").write_bytes(b"pb")
    (folder / "leak.txt").symlink_to(secret)
    (folder / "etc").symlink_to(tmp_path, target_is_directory=True)

    archive = _open(archives.stream_tar_gz(folder, "model"))

    assert archive.getnames() == ["model", "model/saved_model.pb"]


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(archives.ArchiveError, match="Nothing to download"):
        archives.stream_tar_gz(tmp_path / "model", "model")


def test_an_empty_folder_gives_a_valid_archive(tmp_path: Path) -> None:
    assert _open(archives.stream_tar_gz(tmp_path, "logs")).getnames() == ["logs"]
