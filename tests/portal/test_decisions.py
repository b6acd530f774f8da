"""Decisions: ranking, and awards that create allocations but never exceed the call's budget."""

import threading

import pytest
from django.db import connection

from portal.errors import WorkflowError
from portal.models import Application, CallPool
from portal.services import applications, assignment, decisions, projects, reviews
from reproducibility.models import Report, Snapshot
from scheduler.models import Allocation, LedgerEntry

HOUR = 3600
S = Application.State


def _under_review(owner, call, plan, repo, name, reviewer):  # type: ignore[no-untyped-def]
    project = projects.create_project(owner, name=name, repository_url=str(repo))
    application = applications.submit(applications.save_draft(project, call, plan, actor=owner), actor=owner)
    if application.state == S.SUBMITTED:
        assignment.assign_by_hand(application, reviewer, actor=None)
    application.refresh_from_db()
    return application


def _review(application, value):  # type: ignore[no-untyped-def]
    for a in application.assignments.filter(state="assigned"):
        reviews.submit_review(
            a,
            actor=a.reviewer,
            scores={c.pk: value for c in application.call.criteria.all()},
            comment_to_applicant="ok",
            recommendation="award",
        )


@pytest.fixture
def reviewer_free(make_user):  # type: ignore[no-untyped-def]
    return make_user("free", "reviewer", affiliation="Neutral")


@pytest.mark.django_db
def test_an_award_creates_the_allocation_and_counts_against_the_budget(draft, applicant, reviewer_free, maintainer):
    application = applications.submit(draft, actor=applicant)
    awarded = decisions.award(application, 100 * HOUR, actor=maintainer, message="Enjoy.")
    assert awarded.state == S.AWARDED and awarded.decision_message == "Enjoy."
    allocation = awarded.allocation
    assert (allocation.project, allocation.pool, allocation.awarded) == (draft.project, draft.pool, 100 * HOUR)
    assert LedgerEntry.objects.get(allocation=allocation).kind == "award"
    budget = CallPool.objects.get(call=draft.call, pool=draft.pool)
    assert budget.awarded_seconds == 100 * HOUR and budget.remaining_seconds == 900 * HOUR
    with pytest.raises(WorkflowError, match="awarded; it cannot be decided"):
        decisions.award(application, HOUR, actor=maintainer)


@pytest.mark.django_db
def test_an_award_over_the_remaining_budget_is_refused_and_nothing_changes(
    open_call, plan, applicant, reviewer_free, maintainer, make_local_repo
):
    repo = make_local_repo()
    first = _under_review(applicant, open_call, plan, repo, "First", reviewer_free)
    second = _under_review(applicant, open_call, plan, repo, "Second", reviewer_free)
    decisions.award(first, 900 * HOUR, actor=maintainer)
    with pytest.raises(WorkflowError, match="exceed the call's budget on nvidia-v100: 100 h of 1,000 h remain"):
        decisions.award(second, 101 * HOUR, actor=maintainer)
    second.refresh_from_db()
    assert second.state == S.UNDER_REVIEW and second.allocation is None
    assert Allocation.objects.count() == 1
    assert CallPool.objects.get(call=open_call, pool=plan.pool).awarded_seconds == 900 * HOUR
    with pytest.raises(WorkflowError, match="positive"):
        decisions.award(second, 0, actor=maintainer)


@pytest.mark.django_db(transaction=True)
def test_two_maintainers_awarding_at_once_never_exceed_the_budget(
    open_call, plan, applicant, reviewer_free, maintainer, make_local_repo
):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are what this checks")
    repo = make_local_repo()
    contenders = [_under_review(applicant, open_call, plan, repo, f"P{i}", reviewer_free) for i in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(application):  # type: ignore[no-untyped-def]
        try:
            barrier.wait()
            decisions.award(application, 600 * HOUR, actor=maintainer)
            outcomes.append("awarded")
        except WorkflowError as error:
            outcomes.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(a,)) for a in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 2 and outcomes.count("awarded") == 1
    assert "exceed the call's budget" in next(o for o in outcomes if o != "awarded")
    budget = CallPool.objects.get(call=open_call, pool=plan.pool)
    assert budget.awarded_seconds == 600 * HOUR
    assert sum(Allocation.objects.values_list("awarded", flat=True)) == 600 * HOUR


@pytest.mark.django_db
def test_decline_and_waitlist_need_a_message_and_waitlisted_can_still_be_awarded(
    draft, applicant, reviewer_free, maintainer
):
    application = applications.submit(draft, actor=applicant)
    with pytest.raises(WorkflowError, match="why"):
        decisions.decline(application, actor=maintainer, message="")
    waitlisted = decisions.waitlist(application, actor=maintainer, message="If budget frees up.")
    assert waitlisted.state == S.WAITLISTED and waitlisted.decided_at is not None
    awarded = decisions.award(waitlisted, 10 * HOUR, actor=maintainer)
    assert awarded.state == S.AWARDED


@pytest.mark.django_db
def test_a_draft_cannot_be_decided(draft, maintainer):
    with pytest.raises(WorkflowError, match="draft; it cannot be decided"):
        decisions.decline(draft, actor=maintainer, message="no")


@pytest.mark.django_db
def test_applications_rank_by_review_score_then_reproducibility_then_smaller_asks(
    open_call, plan, applicant, reviewer_free, make_local_repo
):
    repo = make_local_repo()
    low, high, tied_repro, _unreviewed = (
        _under_review(applicant, open_call, plan, repo, name, reviewer_free)
        for name in ("Low", "High", "Tied", "Unreviewed")
    )
    _review(low, 2)
    _review(high, 5)
    _review(tied_repro, 2)
    for application, score in ((low, 40.0), (tied_repro, 90.0)):
        Snapshot.objects.filter(pk=application.snapshot_id).update(status="done")
        Report.objects.create(
            snapshot=application.snapshot, checker_version="t", score=score, level="bronze", results={}
        )
    ranked = list(decisions.ranked_applications(open_call))
    assert [a.project.name for a in ranked] == ["High", "Tied", "Low", "Unreviewed"]
    assert ranked[0].review_mean == 5 and ranked[0].review_count == 1 and ranked[0].review_spread == 0
    assert ranked[1].reproducibility_score == 90.0 and ranked[3].review_mean is None
