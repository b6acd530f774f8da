"""`manage.py score_repo`: any tree gives a report or one clear line, and no database is needed."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

ROOT = Path(__file__).resolve().parents[2]


def score(path: Path, *args: str) -> str:
    out = io.StringIO()
    call_command("score_repo", str(path), *args, stdout=out)
    return out.getvalue()


def test_special_files_and_odd_names_in_a_folder_are_problems_in_the_report(make_repo):
    root = make_repo({"train.py": "import tensorflow as tf\nmodel.fit(x)\n"})
    os.mkfifo(root / "pipe.py")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(root / "control.sock"))
    (root / os.fsdecode(b"caf\xe9.py")).write_bytes(b"import os\n")
    os.symlink("loop", root / "loop")
    os.symlink("/etc/passwd", root / "passwd.py")
    report = json.loads(score(root, "--json"))
    assert {p["path"]: p["reason"] for p in report["problems"]} == {
        "pipe.py": "not a regular file: FIFO",
        "control.sock": "not a regular file: socket",
        "caf\\xe9.py": "file name is not valid UTF-8: not read",
        "passwd.py": "symbolic link: not followed",
    }
    text = score(root)
    assert "\nProblems\n  ! caf\\xe9.py: file name is not valid UTF-8: not read\n" in text
    assert "  ! pipe.py: not a regular file: FIFO\n" in text


def test_unreadable_files_and_folders_are_problems_in_the_report(make_repo, permissions_enforced):
    root = make_repo({"train.py": "import os\n", "secret.py": "import os\n", "private/a.py": "import os\n"})
    (root / "secret.py").chmod(0)
    (root / "private").chmod(0)
    try:
        report = json.loads(score(root, "--json"))
    finally:
        (root / "private").chmod(0o755)
    assert {p["path"]: p["reason"] for p in report["problems"]} == {
        "secret.py": "unreadable: Permission denied",
        "private": "unreadable folder: Permission denied",
    }


def test_folders_nested_too_deeply_are_one_clear_error(make_repo, nest):
    with pytest.raises(CommandError, match="nests folders more than 100 deep"):
        score(nest(make_repo({"train.py": "import os\n"}), 1100))


@pytest.mark.parametrize("database", ["missing", "without tables"])
def test_a_path_is_scored_before_anything_is_migrated(make_repo, tmp_path, database):
    """A fresh checkout: no DATABASE_URL, so SQLite in a data folder `make run` never prepared."""
    data = tmp_path / "var"
    if database == "without tables":
        data.mkdir()
        (data / "computegrant.sqlite3").touch()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env["CG_DATA_DIR"] = str(data)
    repo = make_repo({"train.py": "import tensorflow as tf\nmodel.fit(x)\n"})
    done = subprocess.run(
        [sys.executable, "manage.py", "score_repo", str(repo), "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert json.loads(done.stdout)["score"] >= 0


def test_a_source_that_is_a_symlink_loop_a_fifo_or_missing_is_one_clear_error(tmp_path):
    os.symlink("loop", tmp_path / "loop")
    os.mkfifo(tmp_path / "upload.zip")
    cases = {
        tmp_path / "loop": "loop cannot be resolved: Symlink loop",
        tmp_path / "upload.zip": "The archive is not a regular file but a FIFO",
        tmp_path / "gone.tar.gz": "The archive cannot be read: No such file or directory",
        tmp_path / "gone": "is not a folder",
    }
    for source, message in cases.items():
        with pytest.raises(CommandError, match=message):
            score(source)
