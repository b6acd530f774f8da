"""Demo pools and the demo allocation's runs for `manage.py seed_demo`. Idempotent."""

from __future__ import annotations

import time
from typing import Any

from django.db import transaction

from portal.models import User
from scheduler import admission, quota, runner
from scheduler.models import AcceleratorPool, Allocation, TrainingJob

S = TrainingJob.State

DEMO_POOLS = (
    {
        "name": "nvidia-v100",
        "kind": AcceleratorPool.Kind.GPU,
        "resource_name": "nvidia.com/gpu",
        "capacity": 8,
        # The demo runs on one machine: local processes. Production points this at Kubernetes.
        "backend": AcceleratorPool.Backend.LOCAL,
        "node_selectors": {"cloud.google.com/gke-accelerator": "nvidia-tesla-v100"},
        "default_image": "tensorflow/tensorflow:2.21.0-gpu",
    },
    {
        "name": "tpu-v4-8",
        "kind": AcceleratorPool.Kind.TPU,
        "resource_name": "google.com/tpu",
        "capacity": 4,
        "backend": AcceleratorPool.Backend.KUBERNETES,
        "node_selectors": {
            "cloud.google.com/gke-tpu-accelerator": "tpu-v4-podslice",
            "cloud.google.com/gke-tpu-topology": "2x2x1",
        },
        "default_image": "tensorflow/tensorflow:2.21.0",
    },
    {
        # The demo call's verification pool (portal.demo.seeders): applicants' training, a few minutes each.
        "name": "cpu-verify",
        "kind": AcceleratorPool.Kind.CPU,
        "resource_name": "cpu",
        "capacity": 4,
        "backend": AcceleratorPool.Backend.LOCAL,
        "default_image": "tensorflow/tensorflow:2.21.0",
    },
)
DEMO_PROJECT_SLUG = "digits"
DEMO_HOURS = 100  # portal.demo.story awards them
FINISHED_RUN, FAILED_RUN, QUEUED_RUN = "digits, first run", "digits, a typo in --epochs", "digits, two epochs"


@transaction.atomic
def seed_pools() -> list[str]:
    for values in DEMO_POOLS:
        AcceleratorPool.objects.get_or_create(name=values["name"], defaults=values)
    return [f"pools       {', '.join(str(p['name']) for p in DEMO_POOLS)}"]


def demo_allocation() -> Allocation | None:
    """The allocation the demo's Digits application was awarded (portal.demo.story); a database seeded
    before the story also holds one awarded without a review (no snapshot), which the runs skip."""
    return (
        Allocation.objects.filter(
            project__slug=DEMO_PROJECT_SLUG, pool__name="nvidia-v100", state="active", snapshot__isnull=False
        )
        .order_by("pk")
        .first()
    )


def seed_runs() -> list[str]:
    """Runs on the awarded allocation: one finished for real (trained now, a few seconds, unless an
    earlier seeding left one), one failed with its reason, one queued for the worker to start."""
    allocation = demo_allocation()
    if allocation is None:
        return []
    applicant = User.objects.filter(username="applicant").first()
    jobs = TrainingJob.objects.filter(allocation=allocation)
    pending = []
    if not jobs.filter(name=FINISHED_RUN, state=S.SUCCEEDED).exists():
        pending.append(_submit(allocation, applicant, FINISHED_RUN, ["--epochs", "3", "--steps-per-epoch", "10"]))
    if not jobs.filter(name=FAILED_RUN).exists():
        # A real mistake, refused by the training script itself: its reason is what the run says.
        pending.append(_submit(allocation, applicant, FAILED_RUN, ["--epochs", "five"]))
    if pending:
        run_to_end(pending)
    if not jobs.filter(name=QUEUED_RUN).exists():
        _submit(allocation, applicant, QUEUED_RUN, ["--epochs", "2", "--steps-per-epoch", "10"])
    return [
        f"allocation  {DEMO_HOURS} accelerator-hours of nvidia-v100 for the applicant's project 'Digits'",
        "runs        " + "; ".join(f"{job.name}: {job.state}" for job in jobs.order_by("pk")),
    ]


def _submit(allocation: Allocation, actor: User | None, name: str, args: list[str]) -> TrainingJob:
    request = quota.JobRequest(name=name, entrypoint="train.py", args=args, workers=1, max_runtime_seconds=600)
    return quota.submit_job(allocation, request, actor=actor)


def run_to_end(jobs: list[TrainingJob], timeout: float = 600, tick: Any = None) -> list[TrainingJob]:
    """Admit, launch and sync the jobs here until each ends, so this works without a Celery worker;
    with one running, both act and the runner's idempotence keeps each one run."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        for job in jobs:
            job.refresh_from_db()
            if job.state == S.QUEUED:
                admission.admit_pending_jobs(job.pool)
            elif job.state == S.ADMITTED:
                runner.launch_job(job.pk)
            elif job.state in (S.LAUNCHING, S.RUNNING):
                runner.sync_job(job.pk)
        if tick:
            tick(jobs, time.monotonic() - started)
        if all(job.is_terminal for job in jobs):
            break
        time.sleep(0.5)
    for job in jobs:
        job.refresh_from_db()
    return jobs
