"""Revoking an award: the allocation ends now and its unused hours, held tranches included, go back to the
call's budget through both ledgers (as at expiry); the usage bar shows held hours apart from the rest."""

from functools import partial

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.models import AllocationNotice, AuditEntry, BudgetEntry, CallPool
from portal.services import applications, award_terms, call_budget, decisions
from portal.tasks import send_email
from reproducibility.models import Snapshot
from scheduler import quota
from scheduler.models import LedgerEntry, TrainingJob
from scheduler.selectors import bar
from tests.portal.conftest import client_for
from tests.scheduler.factories import job_request, make_allocation

HOUR = 3600
pytestmark = pytest.mark.django_db


def _mails(callbacks):  # type: ignore[no-untyped-def]
    return [
        cb.args[:2]
        for cb in callbacks
        if isinstance(cb, partial) and getattr(cb.func, "__func__", None) is send_email.delay.__func__
    ]


@pytest.fixture
def awarded(draft, applicant, maintainer, make_user):  # type: ignore[no-untyped-def]
    """100 h awarded, 40 of them held for a later tranche; the snapshot scored so runs may start."""
    make_user("free", "reviewer", affiliation="Neutral")
    application = decisions.award(
        applications.submit(draft, actor=applicant), 100 * HOUR, actor=maintainer, held_seconds=40 * HOUR
    )
    Snapshot.objects.filter(pk=application.snapshot_id).update(status=Snapshot.Status.DONE, commit="a" * 40)
    application.allocation.refresh_from_db()
    return application


def test_revoking_credits_the_unused_and_held_hours_to_the_call_through_both_ledgers(
    awarded, open_call, applicant, maintainer, django_capture_on_commit_callbacks
):
    allocation = awarded.allocation
    queued = quota.submit_job(allocation, job_request(runtime=10 * HOUR))
    running = quota.submit_job(allocation, job_request(runtime=5 * HOUR))
    TrainingJob.objects.filter(pk=running.pk).update(state=TrainingJob.State.RUNNING, started_at=timezone.now())
    budget = CallPool.objects.get(call=open_call, pool=awarded.pool)
    assert budget.awarded_seconds == 100 * HOUR

    url = reverse("portal:allocation_revoke", args=[allocation.pk])
    assert client_for(applicant).post(url, {"reason": "mine"}).status_code == 403  # the project does not revoke
    refused = client_for(maintainer).post(url, {"reason": "  "}, follow=True)
    assert award_terms.NEEDS_REVOKE_REASON in refused.content.decode()
    allocation.refresh_from_db()
    assert allocation.state == "active" and not BudgetEntry.objects.filter(kind="revoke").exists()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        done = client_for(maintainer).post(url, {"reason": "The project broke the terms."}, follow=True)
    assert "95 unused accelerator-hours went back to the call" in done.content.decode()
    allocation.refresh_from_db()
    queued.refresh_from_db()
    assert queued.state == "cancelled"
    # the running run keeps its 5 h reserved until it ends; the 40 held and 55 free went back
    assert (allocation.state, allocation.awarded, allocation.reserved, allocation.held) == (
        "revoked",
        5 * HOUR,
        5 * HOUR,
        0,
    )
    assert allocation.ledger.filter(kind=LedgerEntry.Kind.REVOKE).get().seconds == -95 * HOUR
    budget.refresh_from_db()
    entry = BudgetEntry.objects.get(kind="revoke")
    assert (entry.seconds, entry.allocation_id, entry.actor) == (-95 * HOUR, allocation.pk, maintainer)
    assert budget.awarded_seconds == 5 * HOUR == call_budget.ledger_sum(budget)
    assert quota.ledger_balances(allocation) == {"awarded": 5 * HOUR, "reserved": 5 * HOUR, "used": 0, "held": 0}
    assert AuditEntry.objects.filter(verb="allocation.revoked", target_id=awarded.pk).count() == 1
    assert [s for a, s in _mails(callbacks) if a == applicant.email] == [
        "[ComputeGrant] Digits on nvidia-v100 was revoked"
    ]

    again = client_for(maintainer).post(url, {"reason": "twice"}, follow=True)
    assert "This allocation is revoked; only a running allocation is revoked." in again.content.decode()
    assert BudgetEntry.objects.filter(kind="revoke").count() == 1

    # the running run ends: its unused 3 h come back at the next sweep, once, without a second mail
    quota.finish_job(running, TrainingJob.State.SUCCEEDED, worker_seconds=[2 * HOUR])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert award_terms.sweep()["returned"] == [allocation.pk]
        assert award_terms.sweep()["returned"] == []
    assert not _mails(callbacks)
    allocation.refresh_from_db()
    budget.refresh_from_db()
    assert (allocation.awarded, allocation.used, allocation.remaining) == (2 * HOUR, 2 * HOUR, 0)
    assert list(BudgetEntry.objects.filter(kind="revoke").values_list("seconds", flat=True)) == [-95 * HOUR, -3 * HOUR]
    assert budget.awarded_seconds == 2 * HOUR == call_budget.ledger_sum(budget)
    assert quota.ledger_balances(allocation)["awarded"] == allocation.awarded
    assert AllocationNotice.objects.filter(allocation=allocation, kind="ended").count() == 1


def test_only_an_awarded_allocation_is_revoked_here(gpu_pool, maintainer):
    allocation = make_allocation(pool=gpu_pool, hours=3, days=1)
    with pytest.raises(Exception, match="Only an allocation awarded through a call"):
        award_terms.revoke(allocation, actor=maintainer, reason="no call")
    allocation.refresh_from_db()
    assert allocation.state == "active" and allocation.awarded == 3 * HOUR


def test_the_usage_page_offers_revocation_to_maintainers_only(awarded, applicant, maintainer):
    url = reverse("portal:allocation_usage", args=[awarded.allocation_id])
    assert 'data-testid="revoke-form"' in client_for(maintainer).get(url).content.decode()
    assert 'data-testid="revoke-form"' not in client_for(applicant).get(url).content.decode()


def test_the_usage_bar_shows_held_hours_apart_from_the_remaining_ones(awarded, applicant):
    allocation = awarded.allocation
    quota.submit_job(allocation, job_request(runtime=10 * HOUR))
    allocation.refresh_from_db()
    figures = bar(allocation)
    assert (figures.used, figures.reserved, figures.held, figures.remaining) == (0, 10, 40, 50)
    page = client_for(applicant).get(reverse("scheduler:allocation_detail", args=[allocation.pk])).content.decode()
    assert "0.0% used, 10.0% reserved, 40.0% held for later tranches, 50.0% remaining" in page
    assert '<rect class="bar-held" fill="#90a4ae" x="60.0" width="40.0" height="1"/>' in page


def _race(*steps):  # type: ignore[no-untyped-def]
    """Run the steps at once, each in its own thread and connection; what each ended with."""
    import threading

    from django.db import connection

    from portal.errors import WorkflowError

    barrier = threading.Barrier(len(steps))
    outcomes: list[str] = []

    def run(step):  # type: ignore[no-untyped-def]
        try:
            barrier.wait()
            step()
            outcomes.append("done")
        except WorkflowError as error:
            outcomes.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(step,)) for step in steps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_a_revocation_and_a_supplement_racing_on_one_award_keep_both_ledgers_whole(
    draft, open_call, plan, applicant, maintainer, make_user
):
    from django.db import connection

    from portal.services import award_requests, projects
    from scheduler.models import Allocation

    if connection.vendor != "postgresql":
        pytest.skip("row locks are what this checks")
    make_user("free", "reviewer", affiliation="Neutral")
    for attempt in range(3):  # either may win; neither deadlocks, and the ledgers agree afterwards
        project = projects.create_project(
            applicant, name=f"Race {attempt}", repository_url=draft.project.repository_url
        )
        application = applications.submit(
            applications.save_draft(project, open_call, plan, actor=applicant), actor=applicant
        )
        allocation = decisions.award(application, 100 * HOUR, actor=maintainer).allocation
        request = award_requests.request_supplement(allocation, actor=applicant, seconds=20 * HOUR, reason="More.")
        outcomes = _race(
            lambda: award_requests.approve(request, actor=maintainer),  # noqa: B023 - raced before the loop moves on
            lambda: award_terms.revoke(allocation, actor=maintainer, reason="Left the program."),  # noqa: B023
        )
        assert len(outcomes) == 2 and "done" in outcomes, outcomes  # both ended: no deadlock
        allocation.refresh_from_db()
        assert (allocation.state, allocation.awarded) == ("revoked", 0)
        budget = CallPool.objects.get(call=open_call, pool=plan.pool)
        assert budget.awarded_seconds == call_budget.ledger_sum(budget)
        assert budget.awarded_seconds == sum(
            Allocation.objects.filter(application__call=open_call).values_list("awarded", flat=True)
        )
        assert quota.ledger_balances(allocation)["awarded"] == 0
