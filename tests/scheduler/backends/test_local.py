"""The local backend runs real processes: a 2-worker MWMS run of the digits example, and failures."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from scheduler.backends.local import LocalBackend, _alive
from scheduler.contract import JobSpec, PoolSpec, job_artifact_paths, tf_config, worker_environment

DIGITS = Path(__file__).resolve().parents[3] / "examples" / "digits"
POOL = PoolSpec(name="cpu", kind="cpu", backend="local")


def spec(job_id: int, source: Path, entrypoint: str, *, workers: int = 2, runtime: int = 600, args=()) -> JobSpec:
    return JobSpec(
        job_id=job_id,
        workers=workers,
        accelerators_per_worker=1,
        max_runtime_seconds=runtime,
        seed=7,
        entrypoint=entrypoint,
        args=tuple(args),
        pool=POOL,
        artifacts=job_artifact_paths(job_id),
        source_path=str(source),
    )


def wait(backend, handle, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = backend.status(handle)
        if status.ended:
            return status
        time.sleep(0.3)
    raise AssertionError(f"still running after {timeout} s: {backend.log_tails(handle)}")


@pytest.fixture
def scripts(tmp_path) -> Path:
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "sleepy.py").write_text(
        "import os, sys, time\n"
        "print('worker', os.environ['CG_WORKER_INDEX'], 'up', flush=True)\n"
        "if os.environ['CG_WORKER_INDEX'] == '1' and '--crash' in sys.argv:\n"
        "    time.sleep(1); print('worker 1 gives up', flush=True); sys.exit(3)\n"
        "time.sleep(float(os.environ.get('SLEEP', '60')))\n"
    )
    (folder / "env.py").write_text(
        "import json, os\n"
        "keys = ['TF_CONFIG', 'AIP_MODEL_DIR', 'AIP_TENSORBOARD_LOG_DIR', 'AIP_CHECKPOINT_DIR', 'CG_JOB_ID', 'CG_SEED',"
        " 'DJANGO_SECRET_KEY', 'DATABASE_URL']\n"
        "print(json.dumps({k: os.environ.get(k) for k in keys}))\n"
    )
    return folder


def test_tf_config_is_the_kubeflow_form():
    assert json.loads(tf_config(["a:1", "b:2"], 1)) == {
        "cluster": {"worker": ["a:1", "b:2"]},
        "task": {"type": "worker", "index": 1},
    }


def test_tpu_pools_get_tpu_settings_instead_of_a_worker_cluster(settings, tmp_path):
    tpu = JobSpec(1, 1, 4, 60, 3, "train.py", (), PoolSpec("tpu-v4-8", "tpu", "kubernetes"), job_artifact_paths(1))
    env = worker_environment(tpu, 0, ["x:1"])
    assert env["CG_STRATEGY"] == "tpu" and "TF_CONFIG" not in env and env["CG_SEED"] == "3"


def test_every_worker_gets_the_contract_and_none_of_the_portals_secrets(scripts, monkeypatch):
    monkeypatch.setenv("DJANGO_SECRET_KEY", "portal-secret")
    backend = LocalBackend()
    handle = backend.submit(spec(9101, scripts, "env.py"))
    assert wait(backend, handle).phase == "succeeded"
    paths = job_artifact_paths(9101)
    seen = [json.loads((paths.workers / f"worker-{i}.log").read_text().splitlines()[-1]) for i in range(2)]
    configs = [json.loads(s["TF_CONFIG"]) for s in seen]
    assert configs[0]["cluster"] == configs[1]["cluster"] and [c["task"]["index"] for c in configs] == [0, 1]
    assert all(address.startswith("127.0.0.1:") for address in configs[0]["cluster"]["worker"])
    assert seen[0]["AIP_MODEL_DIR"] == str(paths.model) and seen[0]["CG_JOB_ID"] == "9101"
    assert seen[0]["DJANGO_SECRET_KEY"] is None and seen[0]["DATABASE_URL"] is None


@pytest.mark.slow
def test_a_two_worker_multiworkermirroredstrategy_run_of_digits_trains_and_exports():
    backend = LocalBackend()
    handle = backend.submit(spec(9102, DIGITS, "train.py", args=["--epochs", "3", "--steps-per-epoch", "10"]))
    status = wait(backend, handle)
    paths = job_artifact_paths(9102)
    assert status.phase == "succeeded", backend.log_tails(handle)
    assert len(status.worker_seconds) == 2 and all(s > 0 for s in status.worker_seconds)
    assert list(paths.logs.rglob("events.out.tfevents.*")) and (paths.model / "saved_model.pb").exists()
    epochs = [
        json.loads(line)
        for line in (paths.workers / "worker-0.log").read_text().splitlines()
        if line.startswith("{") and '"epoch"' in line
    ]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert epochs[-1]["loss"] < epochs[0]["loss"]
    done = [
        json.loads(line)
        for i in range(2)
        for line in (paths.workers / f"worker-{i}.log").read_text().splitlines()
        if '"done"' in line
    ]
    assert {d["workers"] for d in done} == {2}


def test_when_one_worker_fails_the_others_are_stopped_and_the_reason_kept(scripts):
    backend = LocalBackend()
    handle = backend.submit(spec(9103, scripts, "sleepy.py", args=["--crash"]))
    status = wait(backend, handle, timeout=60)
    assert status.phase == "failed" and status.exit_code == 3
    assert "Worker 1 exited with code 3" in status.reason and "worker 1 gives up" in status.reason
    assert max(status.worker_seconds) < 30  # worker 0 did not sleep its 60 s


def test_a_worker_killed_mid_run_fails_the_job(scripts):
    backend = LocalBackend()
    handle = backend.submit(spec(9104, scripts, "sleepy.py"))
    state = backend._load(handle)
    time.sleep(1)
    os.kill(state["pids"][1], signal.SIGKILL)
    status = wait(backend, handle, timeout=60)
    assert status.phase == "failed" and "Worker 1 exited with code -9" in status.reason
    assert max(status.worker_seconds) < 30  # worker 0 was stopped, not left to sleep its 60 s


def test_the_deadline_stops_the_run(scripts):
    backend = LocalBackend()
    handle = backend.submit(spec(9105, scripts, "sleepy.py", runtime=2))
    status = wait(backend, handle, timeout=60)
    assert status.phase == "failed" and "Deadline exceeded" in status.reason
    assert max(status.worker_seconds) < 15


def test_cancel_stops_every_worker(scripts):
    backend = LocalBackend()
    handle = backend.submit(spec(9106, scripts, "sleepy.py"))
    time.sleep(1)
    backend.cancel(handle)
    status = backend.status(handle)
    assert status.phase == "cancelled"
    state = backend._load(handle)
    assert len(state["pids"]) == 2 and not any(_alive(pid) for pid in [*state["pids"], state["supervisor"]])


def test_submitting_the_same_job_twice_starts_one_run(scripts):
    backend = LocalBackend()
    job = spec(9107, scripts, "sleepy.py")
    first = backend.submit(job)
    pids = backend._load(first)["pids"]
    assert backend.submit(job) == first
    assert backend._load(first)["pids"] == pids
    backend.cancel(first)


def test_an_entrypoint_outside_the_repository_is_refused(scripts):
    with pytest.raises(ValueError, match="not a file inside the repository"):
        LocalBackend().submit(spec(9108, scripts, "../../etc/passwd"))


def test_a_run_whose_processes_all_vanished_is_lost(scripts):
    backend = LocalBackend()
    handle = backend.submit(spec(9109, scripts, "sleepy.py"))
    state = backend._load(handle)
    time.sleep(0.5)
    # As if the host had restarted: the supervisor first (so it cannot record its workers' ends), then the rest.
    os.kill(state["supervisor"], signal.SIGKILL)
    os.killpg(state["pgid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in state["pids"]) and time.monotonic() < deadline:
        time.sleep(0.05)  # signals land asynchronously; a restarted host has no such in-between
    status = wait(backend, handle, timeout=30)
    assert status.phase == "lost" and "vanished" in status.reason


@pytest.mark.parametrize("detach", ["child", "new session", "double fork"])
def test_nothing_a_run_started_outlives_its_time_box(tmp_path, detach):
    """A worker that ignores SIGTERM and sleeps forever, having left a background process behind."""
    folder = tmp_path / "forks"
    folder.mkdir()
    pids = tmp_path / "pids"
    background = {
        "child": "subprocess.Popen(['sleep', '300'])",
        "new session": "subprocess.Popen(['sleep', '300'], start_new_session=True)",
        "double fork": "subprocess.Popen(['sh', '-c', 'setsid sleep 300 & echo $! >> " + str(pids) + "'])",
    }[detach]
    (folder / "train.py").write_text(
        "import os, signal, subprocess, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"child = {background}\n"
        f"open({str(pids)!r}, 'a').write(f'{{child.pid}}\\n{{os.getpid()}}\\n')\n"
        "print('step 1 loss 1.0', flush=True)\n"
        "while True:\n"
        "    time.sleep(1)\n"
    )
    backend = LocalBackend()
    handle = backend.submit(spec(9120, folder, "train.py", workers=1, runtime=2))
    status = wait(backend, handle, timeout=60)
    assert status.phase == "failed" and "Deadline exceeded" in status.reason
    time.sleep(0.5)
    started = [int(pid) for pid in pids.read_text().split()]
    assert len(started) >= 2 and not [pid for pid in started if _alive(pid)]
    state = backend._load(handle)
    assert not _alive(state["supervisor"])
