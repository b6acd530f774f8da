"""What a run executes on the local backend: its snapshot's files at the recorded commit, copied for
the run (reproducibility.checkout), never the project's repository as it is now.

Kubernetes runs fetch the repository at the recorded commit themselves (CG_REPOSITORY, CG_COMMIT).
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from django.conf import settings

from reproducibility.checkout import check_out
from reproducibility.snapshots import SnapshotError
from scheduler.contract import JobSpec, job_artifact_paths
from scheduler.models import AcceleratorPool, TrainingJob


def sources_root() -> Path:
    return Path(settings.DATA_DIR) / "job-sources"


def source_folder(job: TrainingJob) -> Path:
    # Named by the submission time too: a job id reused after a database reset gets a fresh copy.
    return sources_root() / f"{job.pk}-{int(job.submitted_at.timestamp() * 1_000_000)}"


def prepare(job: TrainingJob, spec: JobSpec) -> JobSpec:
    """The spec with the run's own copy of its snapshot; a retried launch reuses the copy it made.

    Raises ValueError (the runner fails the job with it) when the recorded commit cannot be had.
    """
    if job.snapshot_id is None or job.pool.backend != AcceleratorPool.Backend.LOCAL:
        return spec
    folder = source_folder(job)
    if not folder.is_dir():
        try:
            check_out(job.snapshot, folder)  # type: ignore[arg-type]
        except SnapshotError as error:
            if not folder.is_dir():  # else a concurrent launch of the same job made the copy
                raise ValueError(f"The run's commit {job.commit[:19]} could not be prepared: {error}") from error
    return dataclasses.replace(spec, source_path=str(folder))


# Event files are small; a run that writes gigabytes of them in its work folder keeps the first ones.
MAX_COLLECTED_BYTES = 200 * 1024 * 1024
WORK_FOLDER_LOGS = "work-folder"


def collect_event_files(job: TrainingJob) -> int:
    """Copy TensorBoard event files the run wrote in its work folder (instead of, or besides,
    AIP_TENSORBOARD_LOG_DIR) into its logs, keeping their folders, before the copy is removed.
    Links are never followed; returns how many were collected."""
    folder = source_folder(job)
    if job.snapshot_id is None or not folder.is_dir():
        return 0
    target = job_artifact_paths(job.pk).logs / WORK_FOLDER_LOGS
    copied, total = 0, 0
    inside = folder.resolve()
    for path in sorted(folder.rglob("events.out.tfevents.*")):
        if path.is_symlink() or not path.is_file() or inside not in path.resolve().parents:
            continue
        total += path.stat().st_size
        if total > MAX_COLLECTED_BYTES:
            break
        destination = target / path.relative_to(folder)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
        copied += 1
    return copied


def discard(job: TrainingJob) -> None:
    """Remove the run's copy once it ended (its logs and model are kept elsewhere)."""
    shutil.rmtree(source_folder(job), ignore_errors=True)
