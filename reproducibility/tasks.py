"""Scoring runs in workers on the "scoring" queue."""

from celery import shared_task

from reproducibility import services
from reproducibility.models import Snapshot


@shared_task(name="reproducibility.tasks.score_snapshot", acks_late=True, time_limit=900, soft_time_limit=840)
def score_snapshot_task(snapshot_id: int) -> str:
    """Fetch and score one snapshot; a retried delivery of a finished one does nothing."""
    if not Snapshot.objects.filter(pk=snapshot_id).exists():
        return "missing"
    return services.score_snapshot(snapshot_id).status
