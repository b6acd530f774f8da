"""Requests during the award: no-cost extensions and supplements, each asked by the project and decided
by a maintainer; supplements come from the call's budget under its lock and never overspend it."""

import re
import threading
from datetime import timedelta
from functools import partial

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from portal.errors import WorkflowError
from portal.models import AllocationNotice, AuditEntry, AwardRequest, BudgetEntry, CallPool
from portal.services import applications, award_requests, award_terms, call_budget, decisions, projects
from scheduler.models import Allocation, LedgerEntry
from tests.portal.conftest import client_for

HOUR = 3600


def _mails(callbacks):  # type: ignore[no-untyped-def]
    return [cb.args[:2] for cb in callbacks if isinstance(cb, partial) and len(cb.args) == 3]


@pytest.fixture
def reviewer_free(make_user):  # type: ignore[no-untyped-def]
    return make_user("free", "reviewer", affiliation="Neutral")


@pytest.fixture
def awarded(draft, applicant, maintainer, reviewer_free):  # type: ignore[no-untyped-def]
    return decisions.award(applications.submit(draft, actor=applicant), 100 * HOUR, actor=maintainer)


@pytest.mark.django_db
def test_an_extension_is_asked_on_the_page_and_approval_moves_the_end_notices_and_final_report(
    awarded, applicant, maintainer, django_capture_on_commit_callbacks
):
    allocation = awarded.allocation
    url = reverse("portal:allocation_requests", args=[allocation.pk])
    old_end = allocation.expires_at
    new_end = (old_end + timedelta(days=90)).replace(second=0, microsecond=0)
    client = client_for(applicant)
    for post, says in (
        ({"kind": "extension", "reason": "Data arrived late."}, "Say when the allocation should end instead."),
        (
            {"kind": "extension", "new_end": (old_end - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"), "reason": "x"},
            "Ask for an end after the current one",
        ),
        (
            {"kind": "extension", "new_end": (old_end + timedelta(days=400)).strftime("%Y-%m-%dT%H:%M"), "reason": "x"},
            "at most a year",
        ),
        ({"kind": "extension", "new_end": new_end.strftime("%Y-%m-%dT%H:%M"), "reason": ""}, "This field is required."),
    ):
        refused = client.post(url, post)
        assert refused.status_code == 400 and says in refused.content.decode(), says
    assert not AwardRequest.objects.exists()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sent = client.post(
            url, {"kind": "extension", "new_end": new_end.strftime("%Y-%m-%dT%H:%M"), "reason": "Data arrived late."}
        )
    assert sent.status_code == 302
    assert (maintainer.email, f"[ComputeGrant] No-cost extension for {allocation}: to decide") in _mails(callbacks)
    again = client.post(url, {"kind": "extension", "new_end": new_end.strftime("%Y-%m-%dT%H:%M"), "reason": "again"})
    assert "already waiting for a decision" in again.content.decode()

    # the 30-day notice already went out for the old end: after the extension it is owed again
    Allocation.objects.filter(pk=allocation.pk).update(expires_at=timezone.now() + timedelta(days=20))
    award_terms.send_expiry_notices()
    assert allocation.notices.filter(kind="expiry_30").exists()
    request = AwardRequest.objects.get()
    Allocation.objects.filter(pk=allocation.pk).update(expires_at=old_end)
    decide = reverse("portal:award_request_decide", args=[request.pk])
    assert client.post(decide, {"decision": "approve"}).status_code == 403  # the project does not decide
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert client_for(maintainer).post(decide, {"decision": "approve", "message": "Fine."}).status_code == 302
    allocation.refresh_from_db()
    request.refresh_from_db()
    assert allocation.expires_at == new_end and request.state == "approved" and request.decided_by == maintainer
    assert not AllocationNotice.objects.filter(allocation=allocation).exists()
    assert allocation.reports.get(kind="final").due_at == new_end
    assert (applicant.email, f"[ComputeGrant] No-cost extension for {allocation}: Approved") in _mails(callbacks)
    verbs = set(AuditEntry.objects.filter(target_id=awarded.pk).values_list("verb", flat=True))
    assert {"award_request.extension", "award_request.approved"} <= verbs
    with pytest.raises(WorkflowError, match="cannot be decided again"):
        award_requests.decline(request, actor=maintainer, message="no")


@pytest.mark.django_db
def test_a_supplement_above_half_the_award_needs_the_maintainers_reason_and_comes_from_the_budget(
    awarded, applicant, maintainer, open_call
):
    allocation = awarded.allocation
    request = award_requests.request_supplement(allocation, actor=applicant, seconds=60 * HOUR, reason="Ablations.")
    with pytest.raises(WorkflowError, match=r"at most half the award \(50 h\); say why this one gives 60 h"):
        award_requests.approve(request, actor=maintainer)
    allocation.refresh_from_db()
    budget = CallPool.objects.get(call=open_call, pool=allocation.pool)
    assert (allocation.awarded, budget.awarded_seconds) == (100 * HOUR, 100 * HOUR)  # nothing moved
    page = client_for(maintainer).get(reverse("portal:allocation_requests", args=[allocation.pk])).content.decode()
    assert "Above half the award (50.00 h)" in page
    award_requests.approve(request, actor=maintainer, override_reason="The ablations are the paper's core.")
    allocation.refresh_from_db()
    budget.refresh_from_db()
    assert (allocation.awarded, allocation.remaining) == (160 * HOUR, 160 * HOUR)
    assert allocation.ledger.filter(kind=LedgerEntry.Kind.TOP_UP).get().seconds == 60 * HOUR
    assert BudgetEntry.objects.get(kind="supplement").seconds == 60 * HOUR
    assert budget.awarded_seconds == 160 * HOUR == call_budget.ledger_sum(budget)
    assert AwardRequest.objects.get().override_reason == "The ablations are the paper's core."


@pytest.mark.django_db
def test_a_decline_needs_a_message_and_strangers_cannot_ask(awarded, applicant, maintainer, make_user):
    request = award_requests.request_supplement(awarded.allocation, actor=applicant, seconds=HOUR, reason="One more.")
    with pytest.raises(WorkflowError, match="why the request is declined"):
        award_requests.decline(request, actor=maintainer, message=" ")
    award_requests.decline(request, actor=maintainer, message="The budget is spoken for.")
    assert AwardRequest.objects.get().state == "declined"
    other = make_user("eve", "applicant")
    url = reverse("portal:allocation_requests", args=[awarded.allocation_id])
    assert client_for(other).post(url, {"kind": "supplement", "hours": "5", "reason": "mine"}).status_code == 403
    assert AwardRequest.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_supplement_and_an_award_racing_for_the_last_hours_never_overspend_the_budget(
    draft, open_call, plan, applicant, reviewer_free, maintainer, make_local_repo
):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are what this checks")
    first = decisions.award(applications.submit(draft, actor=applicant), 100 * HOUR, actor=maintainer)
    CallPool.objects.filter(call=open_call, pool=plan.pool).update(budget_seconds=140 * HOUR)  # 40 h left
    rival_project = projects.create_project(applicant, name="Rival", repository_url=str(make_local_repo("rival")))
    rival = applications.submit(
        applications.save_draft(rival_project, open_call, plan, actor=applicant), actor=applicant
    )
    request = award_requests.request_supplement(first.allocation, actor=applicant, seconds=40 * HOUR, reason="More.")
    barrier = threading.Barrier(2)
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

    steps = [
        lambda: award_requests.approve(request, actor=maintainer),
        lambda: decisions.award(rival, 40 * HOUR, actor=maintainer),
    ]
    threads = [threading.Thread(target=run, args=(step,)) for step in steps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 2 and outcomes.count("done") == 1
    assert "exceed the call's budget" in next(o for o in outcomes if o != "done")
    budget = CallPool.objects.get(call=open_call, pool=plan.pool)
    assert budget.awarded_seconds == 140 * HOUR == call_budget.ledger_sum(budget)
    assert sum(Allocation.objects.values_list("awarded", flat=True)) == 140 * HOUR


@pytest.mark.django_db
def test_each_pending_request_has_its_own_decision_form_whose_labels_name_its_own_fields(
    awarded, applicant, maintainer
):
    allocation = awarded.allocation
    award_requests.request_extension(
        allocation, actor=applicant, new_end=allocation.expires_at + timedelta(days=30), reason="Late data."
    )
    award_requests.request_supplement(allocation, actor=applicant, seconds=HOUR, reason="Ablations.")
    page = client_for(maintainer).get(reverse("portal:allocation_requests", args=[allocation.pk])).content.decode()
    ids = re.findall(r' id="(id_[^"]+)"', page)
    assert len(ids) == len(set(ids)), "two fields share an id: a label names another form's field"
    for request in AwardRequest.objects.all():
        assert f'<label for="id_request_{request.pk}_decision">' in page
