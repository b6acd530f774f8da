"""Hostile sources fail cleanly, and nothing is written outside the snapshot folder."""

from __future__ import annotations

import contextlib
import io
import os
import socket
import stat
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from reproducibility.snapshots import Caps, Omitted, SnapshotError, content_digest
from reproducibility.snapshots.archives import extract_archive
from reproducibility.snapshots.git import check_out_fetched, check_url, clone, hardened_git
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


GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}


def git(path: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=path, check=True, env={**os.environ, **GIT_ENV}, capture_output=True)


def make_git_repo(path: Path, more: dict[str, bytes] | None = None) -> Path:
    """A committed work tree; `more` adds files by byte names (git takes names that are not UTF-8)."""
    path.mkdir()
    (path / "train.py").write_text("print('hi')\n")
    (path / "ignored.log").write_text("noise\n")
    (path / ".gitignore").write_text("*.log\n")
    for name, content in (more or {}).items():
        target = path / os.fsdecode(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "init"]):
        git(path, *args)
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


# --- trees that are hard to copy: special files, odd names, loops, no permission, deep nesting ----


def odd_folder(path: Path) -> Path:
    """A folder holding a FIFO, a socket, a /dev/null device (where we may make one), a file and a
    folder whose names are not UTF-8, a symlink loop and a link out of the tree."""
    path.mkdir()
    (path / "train.py").write_text("import os\n")
    os.mkfifo(path / "pipe.py")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path / "control.sock"))
    with contextlib.suppress(PermissionError):  # creating a device needs CAP_MKNOD
        os.mknod(path / "null", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    (path / os.fsdecode(b"caf\xe9.py")).write_bytes(b"import os\n")
    (path / os.fsdecode(b"d\xe9")).mkdir()
    (path / os.fsdecode(b"d\xe9") / "inner.py").write_bytes(b"import os\n")
    os.symlink("loop", path / "loop")
    os.symlink("/etc", path / "etc")
    return path


def test_special_files_are_left_out_of_a_local_snapshot_and_said_so_odd_names_and_links_kept(tmp_path):
    source = odd_folder(tmp_path / "odd")
    acquired = copy_local(source, tmp_path / "snap", Caps())
    left_out = {o.path: o.reason for o in acquired.omitted}
    assert left_out == {
        "pipe.py": "not a regular file: FIFO",
        "control.sock": "not a regular file: socket",
        **({"null": "not a regular file: character device"} if (source / "null").exists() else {}),
    }
    snap = tmp_path / "snap"
    assert files_under(snap) == {"train.py", "caf\udce9.py", "d\udce9", "d\udce9/inner.py", "loop", "etc"}
    assert os.readlink(snap / "loop") == "loop" and os.readlink(snap / "etc") == "/etc"
    assert acquired.file_count == 5 and acquired.commit == copy_local(source, tmp_path / "again", Caps()).commit


def test_unreadable_files_and_folders_are_left_out_and_said_so(tmp_path, permissions_enforced):
    source = tmp_path / "locked"
    source.mkdir()
    (source / "train.py").write_text("import os\n")
    (source / "secret.py").write_text("import os\n")
    (source / "private").mkdir()
    (source / "private" / "inner.py").write_text("import os\n")
    (source / "secret.py").chmod(0)
    (source / "private").chmod(0)
    try:
        acquired = copy_local(source, tmp_path / "snap", Caps())
    finally:
        (source / "private").chmod(0o755)
    assert set(acquired.omitted) == {
        Omitted("secret.py", "unreadable: Permission denied"),
        Omitted("private", "unreadable folder: Permission denied"),
    }
    assert files_under(tmp_path / "snap") == {"train.py", "private"}


def test_an_unreadable_folder_given_as_the_source_is_one_clear_error(tmp_path, permissions_enforced):
    source = tmp_path / "locked"
    source.mkdir()
    source.chmod(0)
    try:
        with pytest.raises(SnapshotError, match="locked cannot be read: Permission denied"):
            copy_local(source, tmp_path / "snap", Caps())
    finally:
        source.chmod(0o755)


def test_a_local_git_work_tree_with_names_that_are_not_utf8_is_copied(tmp_path):
    origin = make_git_repo(tmp_path / "origin", {b"caf\xe9.py": b"x = 1\n", b"d\xe9/a.py": b"y = 2\n"})
    acquired = copy_local(origin, tmp_path / "snap", Caps())
    assert files_under(tmp_path / "snap") == {"train.py", ".gitignore", "caf\udce9.py", "d\udce9", "d\udce9/a.py"}
    assert acquired.omitted == () and len(acquired.commit) == 40


def test_a_tracked_file_that_became_a_fifo_or_unreadable_is_left_out_of_a_work_tree_snapshot(
    tmp_path, permissions_enforced
):
    origin = make_git_repo(tmp_path / "origin", {b"pipe.py": b"x = 1\n", b"secret.py": b"y = 2\n"})
    (origin / "pipe.py").unlink()
    os.mkfifo(origin / "pipe.py")
    (origin / "secret.py").chmod(0)
    acquired = copy_local(origin, tmp_path / "snap", Caps())
    assert set(acquired.omitted) == {
        Omitted("pipe.py", "not a regular file: FIFO"),
        Omitted("secret.py", "unreadable: Permission denied"),
    }
    assert acquired.commit.startswith("sha256:")  # not the commit: files of it are missing
    assert files_under(tmp_path / "snap") == {"train.py", ".gitignore"}


def test_a_tracked_folder_replaced_by_a_link_out_of_the_tree_is_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "model.py").write_text("SECRET = 1\n")
    origin = make_git_repo(tmp_path / "origin", {b"pkg/model.py": b"x = 1\n"})
    (origin / "pkg" / "model.py").unlink()
    (origin / "pkg").rmdir()
    os.symlink(outside, origin / "pkg")
    acquired = copy_local(origin, tmp_path / "snap", Caps())
    assert acquired.omitted == (Omitted("pkg/model.py", "inside a linked folder: not followed"),)
    assert not (tmp_path / "snap" / "pkg").exists()


def test_folders_nested_too_deeply_are_refused_before_anything_is_copied(tmp_path, nest):
    # 1,100 levels: os.walk and shutil.copytree recurse once per level and died of RecursionError.
    source = nest(tmp_path / "deep", 1100)
    with pytest.raises(SnapshotError, match="nests folders more than 100 deep"):
        copy_local(source, tmp_path / "snap", Caps())
    assert not (tmp_path / "snap").exists()
    shallow = nest(tmp_path / "shallow", 100)
    assert copy_local(shallow, tmp_path / "snap", Caps()).file_count == 1


def test_a_fetched_git_tree_with_odd_names_checks_out_and_a_deep_one_is_refused_before_checkout(tmp_path, nest):
    origin = make_git_repo(tmp_path / "origin", {b"caf\xe9.py": b"x = 1\n"})
    deep = nest(tmp_path / "deep", 150)
    git(deep, "init", "-q")
    git(deep, "add", ".")
    git(deep, "commit", "-qm", "deep")
    for source, dest in ((origin, tmp_path / "c1"), (deep, tmp_path / "c2")):
        dest.mkdir()
        git(dest, "init", "-q")
        git(dest, "fetch", "-q", "--depth", "1", str(source), "HEAD")  # what clone() fetches over https
    acquired = check_out_fetched(tmp_path / "c1", Caps())
    assert (tmp_path / "c1" / os.fsdecode(b"caf\xe9.py")).read_bytes() == b"x = 1\n" and acquired.file_count == 3
    with pytest.raises(SnapshotError, match="nests folders more than 100 deep"):
        check_out_fetched(tmp_path / "c2", Caps())
    assert not (tmp_path / "c2" / "d").exists()


def test_a_fetched_git_tree_over_the_size_cap_is_refused_before_checkout_writes_it(tmp_path):
    # 5 MB of zeros packs into a few kB: the cap must hold against what checkout would write.
    origin = make_git_repo(tmp_path / "origin", {b"weights.bin": bytes(5 * 1024 * 1024)})
    dest = tmp_path / "clone"
    dest.mkdir()
    git(dest, "init", "-q")
    git(dest, "fetch", "-q", "--depth", "1", str(origin), "HEAD")
    with pytest.raises(SnapshotError, match="larger than 1 MB"):
        check_out_fetched(dest, Caps(max_bytes=1024 * 1024))
    assert not (dest / "weights.bin").exists() and not (dest / "train.py").exists()
    assert check_out_fetched(dest, Caps()).size_bytes > 5 * 1024 * 1024


def test_the_content_digest_hashes_names_that_are_not_utf8_and_never_opens_a_fifo(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / os.fsdecode(b"caf\xe9.py")).write_bytes(b"x = 1\n")
    os.symlink(os.fsdecode(b"caf\xe9.py"), tree / "alias")
    os.mkfifo(tree / "pipe")
    first = content_digest(tree)
    (tree / os.fsdecode(b"caf\xe9.py")).write_bytes(b"x = 2\n")
    assert first.startswith("sha256:") and content_digest(tree) != first


def zip_with_raw_name(tmp_path: Path, raw: bytes) -> Path:
    """A zip whose member name is flagged UTF-8 but is the raw bytes given (same length as "café.py")."""
    path = tmp_path / "raw.zip"
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr("café.py", b"x = 1\n")
    path.write_bytes(path.read_bytes().replace("café.py".encode(), raw))
    return path


def test_archive_members_whose_names_are_not_utf8_are_refused_clearly(tmp_path):
    with pytest.raises(SnapshotError, match=r"member 'caf\\xe9A.py' has a name that is not valid UTF-8"):
        extract_archive(zip_with_raw_name(tmp_path, b"caf\xe9A.py"), tmp_path / "z", Caps())
    for form in (tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        archive = tmp_path / f"raw{form}.tar"
        with tarfile.open(archive, "w", format=form) as bundle:
            info = tarfile.TarInfo(os.fsdecode(b"caf\xe9.py"))
            info.size = 2
            bundle.addfile(info, io.BytesIO(b"1\n"))
        with pytest.raises(SnapshotError, match=r"member 'caf\\xe9.py' has a name that is not valid UTF-8"):
            extract_archive(archive, tmp_path / f"t{form}", Caps())
        assert files_under(tmp_path / f"t{form}") == set()


def test_archives_with_a_file_and_a_folder_of_one_name_or_deep_nesting_are_refused_clearly(tmp_path):
    archive = zip_with(tmp_path, ("a", b"1"), ("a/b.py", b"2"))
    with pytest.raises(SnapshotError, match=r"'a/b\.py' cannot be written"):
        extract_archive(archive, tmp_path / "z", Caps())
    deep = tar_with(tmp_path, (tarfile.TarInfo("d/" * 101 + "x.py"), b"1"))
    with pytest.raises(SnapshotError, match="nests folders more than 100 deep"):
        extract_archive(deep, tmp_path / "t", Caps())
    assert files_under(tmp_path / "t") == set()
