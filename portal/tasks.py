"""Portal tasks."""

from celery import shared_task


@shared_task(name="portal.tasks.ping")
def ping() -> str:
    """A round trip through broker and worker, used by health probes and tests."""
    return "pong"
