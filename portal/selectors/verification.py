"""What the review and application pages read of a verification: its latest run and, while its runs
wait for the verification pool, their place in the pool's queue and why they wait."""

from __future__ import annotations

from portal.models import Application, Verification
from scheduler import selectors as scheduler_selectors
from scheduler.selectors import QueueWait


def latest(application: Application) -> Verification | None:
    return application.verifications.select_related("run__pool", "repeat_run__pool", "snapshot").first()


def waiting_runs(verification: Verification | None) -> list[tuple[str, QueueWait]]:
    """("run" or "repeat", its queue wait) for each of the verification's runs still queued."""
    if verification is None or verification.state != Verification.State.RUNNING:
        return []
    labelled = (("run", verification.run), ("repeat", verification.repeat_run))
    waits = [(label, scheduler_selectors.queue_wait(job)) for label, job in labelled if job is not None]
    return [(label, wait) for label, wait in waits if wait is not None]
