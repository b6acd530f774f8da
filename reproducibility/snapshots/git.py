"""Hardened git: https only, allow-listed hosts, public addresses only, no submodules, hooks or LFS."""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from reproducibility.snapshots import Acquired, Caps, SnapshotError, check_depth, measure_tree

Resolver = Callable[[str, int], Sequence[str]]
COMMIT = re.compile(r"^[0-9a-f]{40}$")


def system_resolver(host: str, port: int) -> list[str]:
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)})
    except socket.gaierror as error:
        raise SnapshotError(f"The host {host} could not be resolved: {error.strerror}.") from error


def check_url(url: str, allowed_hosts: Sequence[str], resolve: Resolver = system_resolver) -> tuple[str, str]:
    """Refuse anything but https to an allowed host whose every address is public; returns (host, address)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or 443
    except ValueError as error:  # an unclosed [IPv6] host, a port that is not a port number
        raise SnapshotError(f"The repository URL is malformed: {error}.") from error
    if parts.scheme != "https":
        raise SnapshotError(f"Only https:// repository URLs are accepted (got {parts.scheme or 'no'} scheme).")
    if parts.username or parts.password:
        raise SnapshotError("Repository URLs must not contain credentials.")
    host = (parts.hostname or "").lower()
    if not host:
        raise SnapshotError("The repository URL has no host.")
    if host not in {h.lower() for h in allowed_hosts}:
        raise SnapshotError(f"The host {host} is not allowed; allowed hosts: {', '.join(allowed_hosts)}.")
    addresses = list(resolve(host, port))
    if not addresses:
        raise SnapshotError(f"The host {host} has no address.")
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise SnapshotError(f"The host {host} resolves to a non-public address ({ip}); refused.")
    return host, addresses[0]


def hardened_git(*args: str, cwd: Path | None = None, timeout: int, extra_config: Sequence[str] = ()) -> str:
    """Run git with every remote-code and exfiltration path closed; returns stdout.

    File names in the output are not always UTF-8: bytes that are not come back as Python's file
    system functions write them (surrogate escapes), so a listed name opens the file it names.
    """
    with tempfile.TemporaryDirectory() as home:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_LFS_SKIP_SMUDGE": "1",
            "GIT_ALLOW_PROTOCOL": "https",
            "GIT_ASKPASS": "/bin/false",
        }
        config = [
            "-c",
            "protocol.allow=never",
            "-c",
            "protocol.https.allow=always",
            "-c",
            f"core.hooksPath={os.devnull}",
            "-c",
            "core.fsmonitor=false",
            "-c",
            "submodule.recurse=false",
            "-c",
            "http.followRedirects=false",
            "-c",
            "filter.lfs.smudge=",
            "-c",
            "filter.lfs.process=",
            "-c",
            "filter.lfs.required=false",
            *[item for setting in extra_config for item in ("-c", setting)],
        ]
        try:
            result = subprocess.run(
                ["git", *config, *args],
                cwd=cwd,
                env=env,
                capture_output=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as error:
            raise SnapshotError(f"git took longer than {timeout} s and was stopped.") from error
    if result.returncode != 0:
        stderr = result.stderr.decode("utf-8", "backslashreplace")
        message = (stderr.strip().splitlines() or ["git failed"])[-1]
        raise SnapshotError(f"git could not fetch the repository: {message}")
    return os.fsdecode(result.stdout)


def clone(
    url: str,
    dest: Path,
    *,
    ref: str = "",
    allowed_hosts: Sequence[str],
    caps: Caps,
    resolve: Resolver = system_resolver,
) -> Acquired:
    """A shallow, hook-free clone of `url` at `ref` (a branch, tag or commit) into `dest`."""
    host, address = check_url(url, allowed_hosts, resolve)
    # Connect to the address we checked, not to whatever a second DNS answer says (rebinding).
    pin = [f"http.curloptResolve={host}:{urlsplit(url).port or 443}:{address}"]
    dest.mkdir(parents=True)
    hardened_git("init", "--quiet", str(dest), timeout=30)
    hardened_git("remote", "add", "origin", url, cwd=dest, timeout=30)
    hardened_git(
        "fetch",
        "--depth",
        "1",
        "--no-tags",
        "--no-recurse-submodules",
        "origin",
        ref or "HEAD",
        cwd=dest,
        timeout=caps.timeout_seconds,
        extra_config=pin,
    )
    return check_out_fetched(dest, caps)


def check_out_fetched(dest: Path, caps: Caps) -> Acquired:
    """Check out FETCH_HEAD in `dest`, refusing a tree past the file, size or depth caps before writing it."""
    # "<mode> <type> <object> <size>\t<name>": the sizes are the blobs' own, so a small pack that
    # inflates to gigabytes (zlib compresses zeros ~1000:1) is refused before checkout writes any of it.
    listing = hardened_git("ls-tree", "-r", "-z", "--long", "FETCH_HEAD", cwd=dest, timeout=60)
    entries = [entry.split("\t", 1) for entry in listing.split("\0") if entry]
    names = [name for _, name in entries]
    if len(names) > caps.max_files:
        raise SnapshotError(f"The repository has more than {caps.max_files:,} files.")
    check_depth(names, caps)
    size = sum(int(fields.split()[3]) for fields, _ in entries if fields.split()[3].isdigit())  # "-": a submodule
    if size > caps.max_bytes:
        raise SnapshotError(f"The repository is larger than {caps.max_bytes / 1024 / 1024:,.0f} MB.")
    hardened_git("checkout", "--quiet", "--detach", "FETCH_HEAD", cwd=dest, timeout=60)
    commit = hardened_git("rev-parse", "HEAD", cwd=dest, timeout=30).strip()
    size, count = measure_tree(dest, caps)
    return Acquired(commit=commit, size_bytes=size, file_count=count)


def head_commit(path: Path) -> str | None:
    """The commit of a local git work tree, read with hooks and config off; None if not a clean repository."""
    if not os.path.lexists(path / ".git"):
        return None
    try:
        commit = hardened_git("rev-parse", "HEAD", cwd=path, timeout=30).strip()
        dirty = hardened_git("status", "--porcelain", "--untracked-files=no", cwd=path, timeout=60).strip()
    except SnapshotError:
        return None
    return commit if COMMIT.match(commit) and not dirty else None
