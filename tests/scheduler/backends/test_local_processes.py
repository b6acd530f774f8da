"""What the local backend leaves behind: no defunct process under the Celery worker once runs end, and
no TensorFlow CUDA-probe noise in the logs and failure reasons shown to users on a CPU machine."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from config.celery import app
from scheduler import quota
from scheduler.backends.local import LocalBackend
from scheduler.models import TrainingJob
from tests.scheduler.backends.test_local import spec, wait
from tests.scheduler.backends.test_runner import wait_for
from tests.scheduler.factories import PoolFactory, job_request, make_allocation
from tests.support.celery_worker import settle

S = TrainingJob.State


def processes() -> dict[int, tuple[int, str, str]]:
    """Every process: pid -> (parent pid, state letter, command line)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # ended while we looked
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        found[int(entry.name)] = (int(parent), state, command or stat.split("(", 1)[1].rsplit(")", 1)[0])
    return found


def descendants(root: int) -> dict[int, tuple[int, str, str]]:
    table = processes()
    found: dict[int, tuple[int, str, str]] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, row in table.items():
            if row[0] == parent and pid not in found:
                found[pid] = row
                frontier.append(pid)
    return found


@pytest.fixture
def quick(tmp_path) -> Path:
    folder = tmp_path / "quick"
    folder.mkdir()
    (folder / "train.py").write_text(
        "import os, sys, time\n"
        "print('worker', os.environ['CG_WORKER_INDEX'], 'up', flush=True)\n"
        "time.sleep(1)\n"
        "sys.exit(3 if '--fail' in sys.argv else 0)\n"
    )
    return folder


@pytest.mark.django_db(transaction=True)
def test_finished_runs_leave_no_defunct_process_under_the_celery_worker(celery_worker, quick):
    pool = PoolFactory(kind="cpu", capacity=8)
    allocation = make_allocation(pool=pool, hours=10)
    jobs = [
        quota.submit_job(allocation, job_request(workers=2, runtime=120, source_path=str(quick), args=args))
        for args in ([], [], ["--fail"])
    ]
    app.send_task("scheduler.tasks.run_admission_cycle", kwargs={"pool_id": pool.pk}).get(timeout=60)
    ended = [wait_for(job, {S.SUCCEEDED, S.FAILED, S.LOST}, timeout=120) for job in jobs]
    assert [job.state for job in ended] == [S.SUCCEEDED, S.SUCCEEDED, S.FAILED], celery_worker.log_tail()
    worker = celery_worker.process.pid
    # The supervisors exit just after the last worker's exit is recorded: give them a moment.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        running = {pid: row for pid, row in descendants(worker).items() if row[1] != "Z"}
        if not running:
            break
        time.sleep(0.2)
    left = descendants(worker)
    defunct = {pid: row for pid, row in left.items() if row[1] == "Z"}
    assert not defunct, f"defunct processes under the Celery worker {worker}: {defunct}"
    assert not left, f"processes still running under the Celery worker {worker}: {left}"
    # The runs' ends queued admission cycles: let the worker finish them before the tables are emptied.
    settle(app, timeout=30)


NOISE = ("cuda", "cuInit", "oneDNN", "absl::InitializeLog", "rebuild TensorFlow", "cpu_feature_guard")


# Two real failures after TensorFlow started: its own error (a long traceback), and a script's short
# refusal, whose last ten log lines would otherwise be mostly TensorFlow's start-up lines.
FAILURES = {
    "shapes": (
        "tf.constant([1.0, 2.0]) + tf.constant([1.0, 2.0, 3.0])\n",
        "tensorflow.python.framework.errors_impl.InvalidArgumentError",
        "Incompatible shapes: [2] vs. [3]",
    ),
    "short": (
        "tf.zeros([2])\nraise SystemExit('error: --data-dir /nope does not exist')\n",
        "error: --data-dir /nope does not exist",
        "building",
    ),
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_a_failing_tensorflow_run_shows_its_real_error_without_the_cuda_probe(tmp_path, failure):
    code, last_line, also = FAILURES[failure]
    folder = tmp_path / failure
    folder.mkdir()
    # The run asks for every C++ log line (as some scripts do): the filter, not only the level, keeps it out.
    (folder / "train.py").write_text(
        "import os\n"
        "os.environ['TF_CPP_MIN_LOG_LEVEL'] = '0'\n"
        "import tensorflow as tf\n"
        "print('building', flush=True)\n" + code
    )
    backend = LocalBackend()
    handle = backend.submit(spec(9150 + len(failure), folder, "train.py", workers=1, runtime=300))
    status = wait(backend, handle, timeout=180)
    assert status.phase == "failed", status
    assert status.reason.splitlines()[-1].startswith(last_line), status.reason
    assert also in status.reason, status.reason
    shown = backend.log_tails(handle)[0]
    assert "building" in shown  # the run's own output is still shown
    for noise in NOISE:
        assert noise not in status.reason, (noise, status.reason)
        assert noise not in shown, (noise, shown)
    # The log file keeps every line: TensorFlow did print its start-up lines among the last ones.
    kept = Path(backend._load(handle)["workers_dir"], "worker-0.log").read_text().splitlines()
    assert any(noise in line for line in kept[-20:] for noise in NOISE), kept
    if failure == "short":
        assert any(noise in line for line in kept[-10:] for noise in NOISE), kept


def test_the_training_processes_get_tensorflows_quiet_log_level(tmp_path):
    folder = tmp_path / "level"
    folder.mkdir()
    (folder / "train.py").write_text("import os\nprint('level', os.environ.get('TF_CPP_MIN_LOG_LEVEL'))\n")
    backend = LocalBackend()
    handle = backend.submit(spec(9151, folder, "train.py", workers=1, runtime=60))
    assert wait(backend, handle, timeout=60).phase == "succeeded"
    assert backend.log_tails(handle)[0] == "level 2"


# What TensorFlow 2.20 printed here, on a machine without a GPU, before a failed run's traceback.
START_UP = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796233387.871398   30921 port.cc:153] oneDNN custom operations are on. You may see slightly different \
numerical results due to floating-point round-off errors from different computation orders.
I0000 00:00:1796233387.872249   30921 cudart_stub.cc:31] Could not find cuda drivers on your machine, \
GPU will not be used.
I0000 00:00:1796233388.016117   30921 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available \
CPU instructions in performance-critical operations.
To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow with the appropriate \
compiler flags.
E0000 00:00:1796233391.655271   30921 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed call \
to cuInit: UNKNOWN ERROR (303)
Traceback (most recent call last):
  File "/tmp/train.py", line 4, in <module>
ValueError: the run's own error"""


def test_only_the_start_up_lines_are_dropped_and_the_cuda_probe_only_without_a_gpu():
    from scheduler.tensorflow_noise import without_start_up_noise

    traceback = START_UP.splitlines()[-3:]
    assert without_start_up_noise(START_UP, gpu=False).splitlines() == traceback
    on_a_gpu = without_start_up_noise(START_UP, gpu=True).splitlines()
    assert on_a_gpu[-3:] == traceback
    assert [line for line in on_a_gpu[:-3] if "cuda" in line.lower()] == on_a_gpu[:-3]
    assert len(on_a_gpu) == 5  # the missing drivers and the failed cuInit are a GPU worker's real problem
    plain = "epoch 1 loss 0.5\nCUDA is mentioned by the user's own script"
    assert without_start_up_noise(plain, gpu=False) == plain


def test_whichever_process_submits_a_run_is_left_no_defunct_child(quick):
    """The same from the process that submits (a prefork pool process, a command): here, this test's."""
    backend = LocalBackend()
    handles = [backend.submit(spec(9170 + index, quick, "train.py", workers=1, runtime=60)) for index in range(2)]
    assert [wait(backend, handle, timeout=60).phase for handle in handles] == ["succeeded", "succeeded"]
    supervisors = {backend._load(handle)["supervisor"] for handle in handles}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and supervisors & set(processes()):
        time.sleep(0.1)
    assert not supervisors & set(processes()), {pid: processes().get(pid) for pid in supervisors}
