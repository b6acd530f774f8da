"""Launch latency and the runner's overhead on the local backend, with examples/digits.

Measures (1) the time from admission to the first training step, through the quota services,
the runner and the local backend, and (2) the wall time of a 2-worker run through the runner
against running examples/digits directly with the same TF_CONFIG, in the same run (ratio).
Goal: overhead ratio at most 1.05. Last line: JSON. Uses its own SQLite database in a temp dir.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = tempfile.mkdtemp(prefix="cg-bench-launch-")
os.environ.update(
    {
        "CG_DATA_DIR": DATA,
        "DATABASE_URL": f"sqlite:///{DATA}/bench.sqlite3",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
)
os.environ.pop("CELERY_BROKER_URL", None)
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from scheduler import admission, quota, runner  # noqa: E402
from scheduler.backends.local import free_ports  # noqa: E402
from scheduler.contract import tf_config  # noqa: E402
from scheduler.models import Allocation, TrainingJob  # noqa: E402

DIGITS = ROOT / "examples" / "digits"
ARGS = ["--epochs", "3", "--steps-per-epoch", "10"]
WORKERS = 2


def direct_run() -> float:
    """Both workers started by hand with the same TF_CONFIG: the floor."""
    out = Path(tempfile.mkdtemp(prefix="direct-"))
    addresses = [f"127.0.0.1:{p}" for p in free_ports(WORKERS)]
    start = time.perf_counter()
    processes = []
    for index in range(WORKERS):
        env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", str(out)),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "CUDA_VISIBLE_DEVICES": "",
            "TF_CONFIG": tf_config(addresses, index),
            "AIP_MODEL_DIR": str(out / "model"),
            "AIP_TENSORBOARD_LOG_DIR": str(out / "logs"),
            "AIP_CHECKPOINT_DIR": str(out / "ckpt"),
            "CG_SEED": "42",
        }
        processes.append(
            subprocess.Popen(
                [sys.executable, "train.py", *ARGS],
                cwd=DIGITS,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    codes = [p.wait() for p in processes]
    assert codes == [0] * WORKERS, codes
    return time.perf_counter() - start


def runner_run(allocation: Allocation) -> tuple[float, float]:
    """Submit, admit, launch and sync to the end; returns (admission to first step, total wall time)."""
    job = quota.submit_job(
        allocation,
        quota.JobRequest(
            entrypoint="train.py",
            workers=WORKERS,
            args=ARGS,
            max_runtime_seconds=600,
            # The demo's award runs its reviewed snapshot (of examples/digits); an older demo's, the folder.
            source_path="" if allocation.snapshot_id else str(DIGITS),
        ),
    )
    start = time.perf_counter()
    admission.admit_pending_jobs(job.pool)
    runner.launch_job(job.pk)
    job.refresh_from_db()
    log = Path(job.artifacts_dir) / "workers" / "worker-0.log"
    first_step = None
    while True:
        if first_step is None and log.exists() and '"first_step"' in log.read_text(errors="replace"):
            first_step = time.perf_counter() - start
        if runner.sync_job(job.pk) in ("succeeded", "failed", "cancelled", "lost", "nothing to do"):
            break
        time.sleep(0.05)
    total = time.perf_counter() - start
    job.refresh_from_db()
    assert job.state == TrainingJob.State.SUCCEEDED, job.failure_reason
    return first_step or total, total


def main() -> None:
    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    allocation = Allocation.objects.get(project__slug="digits")
    for queued in TrainingJob.objects.filter(state=TrainingJob.State.QUEUED):  # the demo's queued run
        quota.cancel_job(queued, reason="out of the benchmark's way")
    direct, through_runner, first_steps = [], [], []
    direct_run()  # warm the page cache for both
    for _ in range(3):  # interleaved, so both see the same machine load
        direct.append(direct_run())
        first, total = runner_run(allocation)
        first_steps.append(first)
        through_runner.append(total)
    direct_s, runner_s = statistics.median(direct), statistics.median(through_runner)
    first_s = statistics.median(first_steps)
    print(f"direct 2-worker run: {direct_s:.2f} s (median of {len(direct)}: {[round(d, 2) for d in direct]})")
    print(
        f"through the runner: {runner_s:.2f} s (median of {len(through_runner)}: "
        f"{[round(r, 2) for r in through_runner]})"
    )
    print(f"admission to first training step: {first_s:.2f} s; overhead ratio {runner_s / direct_s:.3f}")
    print(
        json.dumps(
            {
                "benchmark": "launch",
                "workers": WORKERS,
                "admit_to_first_step_s": round(first_s, 3),
                "direct_s": round(direct_s, 3),
                "runner_s": round(runner_s, 3),
                "runner_overhead_ratio": round(runner_s / direct_s, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
