"""What a Kubernetes job's preparation pod runs (`python -c` this file's text, with the pool's base
image's Python): publish the fetched source on the environments volume, install the repository's
declared requirements into the environment named by their key, and say how it went.

Standard library only: it runs inside the image, not in the portal. It mirrors
scheduler/environments.py: resolve preferring the image's own versions (TensorFlow is reused, not
downloaded), install only what the image lacks (--no-deps) into a virtual environment that sees the
image's packages through a .pth file, publish it under its key by an atomic rename (a second job
with the same key finds `.complete` and installs nothing). The outcome goes to the container's
termination message (the API carries it in the pod's status) and, for the training pods waiting on
the shared volume, to `jobs/<job>.json`.
"""

import importlib.metadata
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;*,]+)(\s*;.*)?$")
MESSAGE_LIMIT = 3800  # the API keeps 4096 bytes of a termination message


class Failed(Exception):
    def __init__(self, log):
        super().__init__(log)
        self.log = log


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def image_packages():
    return {canonical(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}


def uv(arguments, cwd, timeout):
    env = {key: os.environ[key] for key in ("PATH", "HOME", "SSL_CERT_FILE") if key in os.environ}
    env.update(
        UV_INDEX_URL=os.environ["CG_PACKAGE_INDEX_URL"],
        UV_CACHE_DIR=os.path.join(os.environ.get("CG_ENVIRONMENTS_DIR", "/environments"), "uv-cache"),
        UV_NO_CONFIG="1",
        UV_PYTHON_DOWNLOADS="never",
        NO_COLOR="1",
    )
    try:
        done = subprocess.run(
            [os.environ.get("CG_UV", "/tools/uv"), *arguments],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise Failed(f"error: installing took longer than {timeout} s and was stopped.") from None
    if done.returncode != 0:
        raise Failed(done.stderr.strip())
    return done.stdout


def pins_of(lines):
    """The lines as they are when every one is an exact pin (a lock), else None."""
    pins = []
    for line in lines:
        if not PIN.match(line.split(" --hash", 1)[0].strip()):
            return None
        pins.append(line)
    return pins


def install(root, key, lines, timeout):
    """The environment `key` for `lines`: found complete, or made now. Returns what went in."""
    final = os.path.join(root, key)
    if os.path.exists(os.path.join(final, ".complete")):
        os.utime(os.path.join(final, ".complete"))  # last used now: kept from eviction
        with open(os.path.join(final, ".complete")) as handle:
            return dict(json.load(handle), cached=True)
    work = os.path.join(root, f".partial-{key}-{socket.gethostname()}")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    try:
        image = image_packages()
        pins = pins_of(lines)
        if pins is None:
            with open(os.path.join(work, "requirements.in"), "w") as handle:
                handle.write("\n".join(lines) + "\n")
            # uv prefers the versions already in its output file: the image's.
            with open(os.path.join(work, "resolved.txt"), "w") as handle:
                handle.write("".join(f"{name}=={version}\n" for name, version in sorted(image.items())))
            arguments = ["pip", "compile", "requirements.in", "-o", "resolved.txt", "--no-header", "--no-annotate"]
            uv([*arguments, "--python", sys.executable], work, timeout)
            with open(os.path.join(work, "resolved.txt")) as handle:
                pins = [line.strip() for line in handle if "==" in line]
        missing = []
        for pin in pins:
            match = PIN.match(pin.split(" --hash", 1)[0].strip())
            if not match or image.get(canonical(match.group(1))) != match.group(3):
                missing.append(pin)
        venv = os.path.join(work, "venv")
        uv(["venv", "--python", sys.executable, venv], work, timeout)
        site = subprocess.run(
            [os.path.join(venv, "bin", "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        with open(os.path.join(site, "_computegrant_image.pth"), "w") as handle:
            paths = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
            handle.write("".join(f"{path}\n" for path in paths))
        if missing:
            with open(os.path.join(work, "missing.txt"), "w") as handle:
                handle.write("\n".join(missing) + "\n")
            hashed = all("--hash" in pin for pin in missing)
            arguments = ["pip", "install", "--python", os.path.join(venv, "bin", "python"), "--no-deps"]
            uv([*arguments, "-r", "missing.txt", *(["--require-hashes"] if hashed else [])], work, timeout)
        outcome = {
            "requirements": len(pins),
            "from_image": len(pins) - len(missing),
            "installed": [pin.split()[0] for pin in missing],
        }
        with open(os.path.join(venv, ".complete"), "w") as handle:
            json.dump(outcome, handle)
        try:
            os.rename(venv, final)  # atomic: a training pod never sees half an environment
        except OSError:
            if not os.path.exists(os.path.join(final, ".complete")):
                raise  # not another installer of the same key winning the race
        return dict(outcome, cached=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def publish_source(source, prepared):
    """The fetched files where the job's training pods copy them from (no network in those pods)."""
    partial = f"{prepared}.partial-{socket.gethostname()}"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(source, partial, symlinks=True)
    shutil.rmtree(prepared, ignore_errors=True)
    os.rename(partial, prepared)


def sweep_old_sources(jobs, keep_seconds):
    """Earlier jobs' sources and outcomes, past any run's length: their training pods are long gone."""
    cutoff = time.time() - keep_seconds
    for entry in os.listdir(jobs):
        path = os.path.join(jobs, entry)
        try:
            if os.lstat(path).st_mtime < cutoff:
                shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
        except OSError:
            pass  # another preparation pod swept it first


def sweep_abandoned_installs(root, older_than_seconds):
    """Half-made environments of preparation pods stopped mid-install (a cancel, a node lost): a live
    install is younger than its time limits."""
    cutoff = time.time() - older_than_seconds
    for entry in os.listdir(root):
        path = os.path.join(root, entry)
        try:
            if entry.startswith(".partial-") and os.lstat(path).st_mtime < cutoff:
                shutil.rmtree(path)
        except OSError:
            pass


def evict_unused_environments(root, keep_seconds, current):
    """Environments no preparation has used for `keep_seconds` (longer than any run's life, so no
    training pod still runs in one): renamed away first, so no pod ever finds half of one."""
    cutoff = time.time() - keep_seconds
    for entry in os.listdir(root):
        marker = os.path.join(root, entry, ".complete")
        try:
            if entry != current and os.path.exists(marker) and os.lstat(marker).st_mtime < cutoff:
                doomed = os.path.join(root, f".partial-evicted-{entry}-{socket.gethostname()}")
                os.rename(os.path.join(root, entry), doomed)
                shutil.rmtree(doomed)
        except OSError:
            pass  # another preparation pod evicted it first


def write_atomically(path, text):
    partial = f"{path}.partial-{socket.gethostname()}"
    with open(partial, "w") as handle:
        handle.write(text)
    os.replace(partial, path)


def main():
    started = time.monotonic()
    root = os.environ.get("CG_ENVIRONMENTS_DIR", "/environments")
    key = os.environ.get("CG_ENVIRONMENT_KEY", "")
    lines = [line for line in os.environ.get("CG_REQUIREMENTS", "").splitlines() if line.strip()]
    manifest = os.environ.get("CG_MANIFEST", "")
    prepared = os.path.join(root, "jobs", os.environ["CG_JOB_NAME"])
    os.makedirs(os.path.dirname(prepared), exist_ok=True)
    sweep_old_sources(os.path.dirname(prepared), int(os.environ.get("CG_KEEP_SOURCES_SECONDS", str(7 * 86400))))
    sweep_abandoned_installs(root, 2 * int(os.environ.get("CG_INSTALL_SECONDS", "120")) + 3600)
    result: dict = {"key": key, "manifest": manifest, "python": os.path.join(root, key, "bin", "python") if key else ""}
    try:
        result["step"] = "publish"
        publish_source(os.environ.get("CG_SOURCE_DIR", "/workspace"), prepared)
        result["step"] = "install"
        if key:
            result.update(install(root, key, lines, int(os.environ.get("CG_INSTALL_SECONDS", "120"))))
        evict_unused_environments(root, int(os.environ.get("CG_KEEP_ENVIRONMENTS_SECONDS", str(30 * 86400))), key)
        result["status"] = "installed"
    except Failed as error:
        result.update(status="failed", log="\n".join(error.log.splitlines()[-30:]))
    except OSError as error:
        result.update(status="failed", log=f"error: {error}")
    result["seconds"] = round(time.monotonic() - started, 3)
    text = json.dumps(result)
    write_atomically(f"{prepared}.json", text)
    while len(text.encode()) > MESSAGE_LIMIT and result.get("log"):
        result["log"] = result["log"][len(result["log"]) // 4 :]  # keep the tail: the cause is last
        text = json.dumps(result)
    if len(text.encode()) > MESSAGE_LIMIT:
        result["installed"] = result.get("installed", [])[:20]
        text = json.dumps(result)[:MESSAGE_LIMIT]
    with open(os.environ.get("CG_TERMINATION_LOG", "/dev/termination-log"), "w") as handle:
        handle.write(text)
    return 0 if result["status"] == "installed" else 1


if __name__ == "__main__":
    sys.exit(main())
