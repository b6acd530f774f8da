"""Verification of examples/digits: time from submission to the verdict, with a cold and a warm
environment cache, against running the same training (a run and its same-seed repeat, 2 workers
each) directly, in the same run of the benchmark.

The verification goes the way every verification does after its bookkeeping: two jobs submitted
through the quota ledger, admitted on a 2-accelerator CPU pool (so one after the other, as the
direct runs are), each prepared (its environment from the repository's requirements.lock: resolved,
then installed or found cached) and launched by the runner, synced to their end, then judged
(reproducibility.verification). Cold: an empty environment cache; warm: the cache the cold one left.
Goal: warm overhead ratio at most 1.3. Last line: JSON. Uses its own SQLite database in a temp dir.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = tempfile.mkdtemp(prefix="cg-bench-verify-")
os.environ.update(
    {
        "CG_DATA_DIR": DATA,
        "DATABASE_URL": f"sqlite:///{DATA}/bench.sqlite3",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CG_LAUNCH_ON_ADMISSION": "0",  # launched here, as the runner's task would
    }
)
os.environ.pop("CELERY_BROKER_URL", None)
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from portal.models import Project, User  # noqa: E402
from reproducibility.verification import judge_jobs  # noqa: E402
from scheduler import admission, quota, runner  # noqa: E402
from scheduler.backends.local import free_ports  # noqa: E402
from scheduler.contract import tf_config  # noqa: E402
from scheduler.models import AcceleratorPool, TrainingJob  # noqa: E402

DIGITS = ROOT / "examples" / "digits"
ARGS = ["--epochs", "3", "--steps-per-epoch", "10"]
WORKERS = 2
SEED = 1234


def direct_training() -> float:
    """The run and its repeat started by hand, each with its 2 workers and TF_CONFIG: the floor."""
    start = time.perf_counter()
    for _ in range(2):
        out = Path(tempfile.mkdtemp(prefix="direct-", dir=DATA))
        addresses = [f"127.0.0.1:{p}" for p in free_ports(WORKERS)]
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
                "CG_SEED": str(SEED),
            }
            command = [sys.executable, "train.py", *ARGS]
            processes.append(
                subprocess.Popen(command, cwd=DIGITS, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
        codes = [p.wait() for p in processes]
        assert codes == [0] * WORKERS, codes
    return time.perf_counter() - start


def verification(project: Project, pool: AcceleratorPool) -> tuple[float, dict]:
    """Submission to verdict, through quota, admission, environments, the runner and the judge."""
    start = time.perf_counter()
    allocation = quota.award(project, pool, 2 * WORKERS * 600, expires_at=timezone.now() + timedelta(days=1))
    request = quota.JobRequest(
        entrypoint="train.py", workers=WORKERS, args=ARGS, max_runtime_seconds=600, seed=SEED, source_path=str(DIGITS)
    )
    jobs = [quota.submit_job(allocation, request) for _ in range(2)]
    while True:
        for job_id in admission.admit_pool(pool.pk):
            runner.launch_job(job_id)
        live = [job for job in TrainingJob.objects.filter(pk__in=[j.pk for j in jobs]) if not job.is_terminal]
        if not live:
            break
        for job in live:
            runner.sync_job(job.pk)
        time.sleep(0.05)
    first, repeat = (TrainingJob.objects.get(pk=job.pk) for job in jobs)
    result = judge_jobs(first, repeat)
    quota.revoke(allocation, memo="benchmark")
    return time.perf_counter() - start, result


def main() -> None:
    call_command("migrate", verbosity=0)
    owner = User.objects.create(username="bench")
    project = Project.objects.create(name="Digits", slug="digits", owner=owner, repository_url=str(DIGITS))
    pool = AcceleratorPool.objects.create(name="cpu-verify", kind="cpu", capacity=WORKERS)
    settings.CG_ENVIRONMENTS_ROOT = Path(DATA) / "environments"  # empty: the cold cache
    cold_s, cold = verification(project, pool)
    warm_s, warm = verification(project, pool)
    direct_s = direct_training()
    for name, result in (("cold", cold), ("warm", warm)):
        checks = ", ".join(f"{c['id']}={c['status']}" for c in result["checks"])
        print(f"{name}: verdict {result['verdict']} ({checks})")
    installs = next(c for c in warm["checks"] if c["id"] == "installs")
    print(f"installs (warm): {installs['reason']}")
    print(f"cold {cold_s:.2f} s, warm {warm_s:.2f} s, direct {direct_s:.2f} s; warm ratio {warm_s / direct_s:.3f}")
    print(
        json.dumps(
            {
                "benchmark": "verify",
                "cold_s": round(cold_s, 3),
                "warm_s": round(warm_s, 3),
                "direct_s": round(direct_s, 3),
                "warm_overhead_ratio": round(warm_s / direct_s, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
