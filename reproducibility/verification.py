"""Verification evidence: a finished run of the repository's own training, judged as dynamic checks.

Reads only what the run left (scheduler.environments' record, the cached curves and model inspection,
the chief's log) and hands it to reproducibility.dynamic_checks. Runs are made through the scheduler
like any other (quota, admission, the launch claim), so nothing here starts a process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from reproducibility.dynamic_checks import RunEvidence, as_scorecard, judge
from reproducibility.models import Report, Snapshot
from scheduler import environments
from scheduler.contract import job_artifact_paths
from scheduler.models import TrainingJob

LOG_TAIL_BYTES = 256 * 1024


def run_evidence(job: TrainingJob) -> RunEvidence:
    """What a finished run left, read from its artifacts folder."""
    from scheduler.artifacts import cache  # reads event files: workers only, never at the web's start-up

    paths = job_artifact_paths(job.pk)
    scalars = job.scalar_cache or cache.scalar_cache_of(paths.logs)
    model = job.model_summary or cache.model_summary_of(paths.model)
    event_files = sum(1 for _ in paths.logs.rglob("events.out.tfevents.*")) if paths.logs.is_dir() else 0
    return RunEvidence(
        phase=job.state,
        reason=job.failure_reason,
        exit_code=job.exit_code,
        environment=environments.evidence(paths.root),
        scalars=scalars,
        log=_chief_log(paths.workers / "worker-0.log"),
        model=model,
        event_files=event_files,
        max_runtime_seconds=job.max_runtime_seconds,
    )


def judge_jobs(run: TrainingJob, repeat: TrainingJob | None = None) -> dict[str, Any]:
    """The dynamic checks of a verification run (and its repeat), Scorecard-shaped."""
    checks = judge(run_evidence(run), run_evidence(repeat) if repeat is not None else None)
    return as_scorecard(checks, job_ids=[job.pk for job in (run, repeat) if job is not None])


def record_in_report(snapshot: Snapshot, dynamic: dict[str, Any]) -> bool:
    """Put the dynamic checks beside the static ones, under their own key of the snapshot's latest
    report (its JSON and page); False when the snapshot has no report."""
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(snapshot=snapshot).order_by("-created").first()
        if report is None:
            return False
        report.results = {**report.results, "dynamic": {**dynamic, "judged_at": timezone.now().isoformat()}}
        report.save(update_fields=["results"])
    return True


def _chief_log(path: Path) -> str:
    try:
        with path.open("rb") as log:
            size = path.stat().st_size
            log.seek(max(size - LOG_TAIL_BYTES, 0))
            return log.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
