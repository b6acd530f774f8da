"""Scoring runs in workers on the "scoring" queue."""

from celery import shared_task

from reproducibility import services
from reproducibility.models import Snapshot


@shared_task(
    name="reproducibility.tasks.score_snapshot",
    acks_late=True,
    time_limit=services.SCORING_TIME_LIMIT,
    soft_time_limit=services.SCORING_SOFT_TIME_LIMIT,
)
def score_snapshot_task(snapshot_id: int) -> str:
    """Fetch and score one snapshot; a retried delivery of a finished one does nothing."""
    if not Snapshot.objects.filter(pk=snapshot_id).exists():
        return "missing"
    return services.score_snapshot(snapshot_id).status


@shared_task(name="reproducibility.tasks.fail_stalled_snapshots", time_limit=60, soft_time_limit=50)
def fail_stalled_snapshots_task() -> int:
    """Periodic: snapshots left fetching or scoring by a killed run end as failed, with the reason."""
    return services.fail_stalled_snapshots()
