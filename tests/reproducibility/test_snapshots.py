"""Hostile sources fail cleanly, and nothing is written outside the snapshot folder."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from reproducibility.snapshots import Caps, SnapshotError
from reproducibility.snapshots.archives import extract_archive
from reproducibility.snapshots.git import check_url, clone, hardened_git
from reproducibility.snapshots.local import copy_local

ALLOWED = ["github.com", "gitlab.com"]
PUBLIC = lambda host, port: ["140.82.112.3"]  # noqa: E731 - a resolver answering like github.com


def files_under(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")} if path.exists() else set()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ext::sh -c touch% /tmp/pwned", "Only https://"),
        ("file:///etc", "Only https://"),
        ("http://github.com/a/b", "Only https://"),
        ("git://github.com/a/b", "Only https://"),
        ("https://evil.example/a/b", "not allowed"),
        ("https://user:token@github.com/a/b", "credentials"),
    ],
)
def test_urls_other_than_https_to_allowed_hosts_are_refused(url, message):
    with pytest.raises(SnapshotError, match=message):
        check_url(url, ALLOWED, PUBLIC)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "192.168.0.10", "fd00::1"])
def test_hosts_resolving_to_private_loopback_or_link_local_addresses_are_refused(address):
    with pytest.raises(SnapshotError, match="non-public address"):
        check_url("https://github.com/a/b", ALLOWED, lambda host, port: [address])


def test_one_private_address_among_public_ones_is_enough_to_refuse():
    with pytest.raises(SnapshotError, match="non-public"):
        check_url("https://github.com/a/b", ALLOWED, lambda host, port: ["140.82.112.3", "127.0.0.1"])


def test_a_refused_clone_writes_nothing(tmp_path):
    dest = tmp_path / "snap"
    with pytest.raises(SnapshotError):
        clone(
            "https://github.com/a/b",
            dest,
            allowed_hosts=ALLOWED,
            caps=Caps(),
            resolve=lambda host, port: ["10.0.0.1"],
        )
    assert not dest.exists()


def make_git_repo(path: Path) -> Path:
    path.mkdir()
    (path / "train.py").write_text("print('hi')\n")
    (path / "ignored.log").write_text("noise\n")
    (path / ".gitignore").write_text("*.log\n")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
    }
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=path, check=True, env=env, capture_output=True)
    return path


def test_git_itself_refuses_file_and_ext_transports_even_if_asked_directly(tmp_path):
    origin = make_git_repo(tmp_path / "origin")
    marker = tmp_path / "pwned"
    for url in (f"file://{origin}", str(origin), f"ext::sh -c touch% {marker}"):
        with pytest.raises(SnapshotError, match="git could not fetch"):
            hardened_git("clone", "--depth", "1", url, str(tmp_path / "c"), timeout=30)
    assert not marker.exists() and not (tmp_path / "c" / "train.py").exists()


def test_a_local_git_work_tree_is_snapshotted_at_its_commit_with_tracked_files_only(tmp_path):
    origin = make_git_repo(tmp_path / "origin")
    acquired = copy_local(origin, tmp_path / "snap", Caps())
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=origin, capture_output=True, text=True).stdout.strip()
    assert acquired.commit == head
    assert files_under(tmp_path / "snap") == {"train.py", ".gitignore"}


def test_a_plain_folder_gets_a_content_digest_and_keeps_links_as_links(tmp_path):
    source = tmp_path / "plain"
    source.mkdir()
    (source / "a.py").write_text("x = 1\n")
    os.symlink("/etc/passwd", source / "passwd")
    first = copy_local(source, tmp_path / "s1", Caps())
    second = copy_local(source, tmp_path / "s2", Caps())
    assert first.commit == second.commit and first.commit.startswith("sha256:")
    assert (tmp_path / "s1" / "passwd").is_symlink()


def test_a_repository_over_the_size_cap_is_refused_before_copying(tmp_path):
    source = tmp_path / "big"
    source.mkdir()
    (source / "blob.bin").write_bytes(b"x" * 5000)
    with pytest.raises(SnapshotError, match="larger than"):
        copy_local(source, tmp_path / "snap", Caps(max_bytes=1000))
    assert not (tmp_path / "snap").exists()
    with pytest.raises(SnapshotError, match="more than 0 files"):
        copy_local(source, tmp_path / "snap2", Caps(max_files=0))


def tar_with(tmp_path: Path, *members: tuple[tarfile.TarInfo, bytes]) -> Path:
    path = tmp_path / "upload.tar.gz"
    with tarfile.open(path, "w:gz") as bundle:
        for info, data in members:
            info.size = len(data)
            bundle.addfile(info, io.BytesIO(data))
    return path


def zip_with(tmp_path: Path, *members: tuple[str, bytes], symlink: str | None = None) -> Path:
    path = tmp_path / "upload.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in members:
            bundle.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo("link")
            info.external_attr = 0o120777 << 16
            bundle.writestr(info, symlink)
    return path


def test_a_good_archive_extracts_and_a_single_top_folder_is_unwrapped(tmp_path):
    archive = zip_with(tmp_path, ("project/train.py", b"x = 1\n"), ("project/project/inner.py", b"y = 2\n"))
    acquired = extract_archive(archive, tmp_path / "snap", Caps())
    assert files_under(tmp_path / "snap") == {"train.py", "project", "project/inner.py"}
    assert acquired.file_count == 2 and acquired.commit.startswith("sha256:")


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("../evil.py", "outside the archive"),
        ("/etc/evil.py", "absolute path"),
        ("a/../../evil.py", "outside the archive"),
        ("C:\\evil.py", "absolute path"),
    ],
)
def test_zip_slip_and_absolute_members_are_refused(tmp_path, member, message):
    with pytest.raises(SnapshotError, match=message):
        extract_archive(zip_with(tmp_path, ("ok.py", b"1"), (member, b"2")), tmp_path / "snap", Caps())
    assert not (tmp_path / "evil.py").exists() and files_under(tmp_path / "snap") == set()


@pytest.mark.parametrize(("name", "message"), [("../evil.py", "outside"), ("/tmp/evil.py", "absolute")])
def test_tar_slip_and_absolute_members_are_refused(tmp_path, name, message):
    archive = tar_with(tmp_path, (tarfile.TarInfo("ok.py"), b"1"), (tarfile.TarInfo(name), b"2"))
    with pytest.raises(SnapshotError, match=message):
        extract_archive(archive, tmp_path / "snap", Caps())
    assert not (tmp_path / "evil.py").exists() and files_under(tmp_path / "snap") == set()


def test_a_tar_symlink_pointing_at_etc_is_refused(tmp_path):
    link = tarfile.TarInfo("etc")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc"
    with pytest.raises(SnapshotError, match="refused"):
        extract_archive(tar_with(tmp_path, (link, b"")), tmp_path / "snap", Caps())
    assert files_under(tmp_path / "snap") == set()


def test_a_zip_symlink_is_refused(tmp_path):
    with pytest.raises(SnapshotError, match="symbolic link"):
        extract_archive(zip_with(tmp_path, ("a.py", b"1"), symlink="/etc/passwd"), tmp_path / "snap", Caps())


def test_a_zip_bomb_is_refused(tmp_path):
    archive = zip_with(tmp_path, ("bomb.txt", b"\0" * (50 * 1024 * 1024)))
    assert archive.stat().st_size < 200 * 1024
    with pytest.raises(SnapshotError, match="zip bomb"):
        extract_archive(archive, tmp_path / "snap", Caps())
    assert files_under(tmp_path / "snap") == set()


def test_archives_over_the_caps_are_refused(tmp_path):
    archive = tar_with(tmp_path, *[(tarfile.TarInfo(f"f{i}.py"), b"x" * 100) for i in range(5)])
    with pytest.raises(SnapshotError, match="more than 3 members"):
        extract_archive(archive, tmp_path / "a", Caps(max_files=3))
    with pytest.raises(SnapshotError, match="expands to more than"):
        extract_archive(archive, tmp_path / "b", Caps(max_bytes=300))


def test_not_an_archive_is_a_clear_error(tmp_path):
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"not a zip")
    with pytest.raises(SnapshotError, match="Not a valid zip"):
        extract_archive(fake, tmp_path / "snap", Caps())
    other = tmp_path / "x.rar"
    other.write_bytes(b"x")
    with pytest.raises(SnapshotError, match=r"\.zip or \.tar\.gz"):
        extract_archive(other, tmp_path / "snap2", Caps())
