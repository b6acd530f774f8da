"""Reviewer assignment: conflicts of interest are never assigned, and the load stays balanced."""

import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.errors import WorkflowError
from portal.models import Application, ConflictDeclaration, ReviewAssignment
from portal.services import applications, assignment, projects

A = ReviewAssignment.State


def _open_loads(reviewers):
    return [ReviewAssignment.objects.filter(reviewer=r, state=A.ASSIGNED).count() for r in reviewers]


def _submit_new(owner, call, plan, repo, name, organisation=""):
    project = projects.create_project(owner, name=name, repository_url=str(repo), organisation=organisation)
    return applications.submit(applications.save_draft(project, call, plan, actor=owner), actor=owner)


@pytest.mark.django_db
def test_each_kind_of_conflict_of_interest_is_found(draft, make_user, applicant):
    member = make_user("member", affiliation="Elsewhere Inc")
    draft.project.members.add(member)
    member_reviewer = make_user("memrev", "reviewer")
    draft.project.members.add(member_reviewer)
    colleague = make_user("colleague", "reviewer", affiliation=" open digits lab ")
    colleague_of_member = make_user("friend", "reviewer", affiliation="ELSEWHERE INC")
    declared = make_user("declared", "reviewer", affiliation="Far Away")
    ConflictDeclaration.objects.create(reviewer=declared, project=draft.project, reason="former advisor")
    free = make_user("free", "reviewer", affiliation="Far Away")
    assert assignment.conflicts_of_interest(member_reviewer, draft) == ["is a member of the project"]
    assert "project's organisation" in assignment.conflicts_of_interest(colleague, draft)[0]
    assert "with a project member" in assignment.conflicts_of_interest(colleague_of_member, draft)[0]
    assert assignment.conflicts_of_interest(declared, draft) == ["declared a conflict with the project"]
    assert assignment.conflicts_of_interest(free, draft) == []
    assert "is a member of the project" in assignment.conflicts_of_interest(applicant, draft)
    draft.call.conflict_same_affiliation = False
    assert assignment.conflicts_of_interest(colleague, draft) == []


@pytest.mark.django_db
def test_automatic_assignment_skips_conflicts_and_takes_the_least_loaded(draft, applicant, make_user, make_local_repo):
    colleague = make_user("colleague", "reviewer", affiliation="Open Digits Lab")
    busy, idle, idler = (make_user(n, "reviewer", affiliation=n) for n in ("busy", "idle", "idler"))
    other = make_user("other-owner", affiliation="Somewhere")
    for i in range(2):  # two open reviews already on busy's desk
        project = projects.create_project(other, name=f"P{i}", repository_url=str(make_local_repo(f"r{i}")))
        elsewhere = applications.save_draft(project, draft.call, applications._plan_of(draft), actor=other)
        ReviewAssignment.objects.create(application=elsewhere, reviewer=busy)
    submitted = applications.submit(draft, actor=applicant)
    assert {a.reviewer for a in submitted.assignments.all()} == {idle, idler}
    assert colleague not in {a.reviewer for a in submitted.assignments.all()}


@pytest.mark.django_db
def test_many_applications_never_get_a_conflicted_reviewer_and_loads_stay_even(
    open_call, plan, make_user, make_local_repo
):
    rng = random.Random(7)
    affiliations = ["Lab A", "Lab B", "Lab C", "Lab D"]
    reviewers = [make_user(f"rev{i}", "reviewer", affiliation=rng.choice(affiliations)) for i in range(7)]
    repo = make_local_repo()
    owners = [make_user(f"owner{i}", affiliation=rng.choice(affiliations)) for i in range(20)]
    submitted = [
        _submit_new(owner, open_call, plan, repo, f"Project {i}", organisation=rng.choice(affiliations))
        for i, owner in enumerate(owners)
    ]
    for application in submitted:
        for a in application.assignments.select_related("reviewer"):
            assert assignment.conflicts_of_interest(a.reviewer, application) == []
        eligible = [r for r in reviewers if not assignment.conflicts_of_interest(r, application)]
        assert application.assignments.count() == min(2, len(eligible))


@pytest.mark.django_db
def test_without_conflicts_loads_differ_by_at_most_one_even_after_declines(open_call, plan, make_user, make_local_repo):
    reviewers = [make_user(f"rev{i}", "reviewer", affiliation=f"Institute {i}") for i in range(5)]
    repo = make_local_repo()
    owner = make_user("owner", affiliation="Project Org")
    submitted = [_submit_new(owner, open_call, plan, repo, f"P{i}") for i in range(10)]
    loads = _open_loads(reviewers)
    assert sum(loads) == 20 and max(loads) - min(loads) <= 1
    # The most loaded reviewer declines everything: each review goes to the least loaded reviewer
    # who may take it (not already on that application).
    leaving = reviewers[loads.index(max(loads))]
    remaining = [r for r in reviewers if r != leaving]
    for a in list(ReviewAssignment.objects.filter(reviewer=leaving, state=A.ASSIGNED)):
        on_it = set(a.application.assignments.values_list("reviewer_id", flat=True))
        eligible_loads = {
            r.pk: load for r, load in zip(remaining, _open_loads(remaining), strict=True) if r.pk not in on_it
        }
        assignment.decline(a, actor=leaving, reason="on leave")
        newcomer = a.application.assignments.get(state=A.ASSIGNED, reviewer_id__in=eligible_loads)
        assert eligible_loads[newcomer.reviewer_id] == min(eligible_loads.values())
    loads = _open_loads(remaining)
    assert sum(loads) == 20 and max(loads) - min(loads) <= 2
    for application in submitted:
        assert application.assignments.filter(state__in=ReviewAssignment.ACTIVE_STATES).count() == 2


@pytest.mark.django_db
def test_declaring_a_conflict_reassigns_and_the_reviewer_is_never_asked_again(draft, applicant, make_user):
    for name in ("r1", "r2", "r3"):
        make_user(name, "reviewer", affiliation=name)
    applications.submit(draft, actor=applicant)
    mine = draft.assignments.first()
    reviewer = mine.reviewer
    assert draft.project.has_assigned_reviewer(reviewer)
    with pytest.raises(WorkflowError, match="Say what"):
        assignment.declare_conflict(mine, actor=reviewer, reason=" ")
    assignment.declare_conflict(mine, actor=reviewer, reason="I co-authored with them")
    mine.refresh_from_db()
    assert mine.state == A.CONFLICTED and not mine.is_active
    assert ConflictDeclaration.objects.filter(reviewer=reviewer, project=draft.project).exists()
    assert draft.assignments.filter(state=A.ASSIGNED).count() == 2
    with pytest.raises(WorkflowError, match="conflict of interest"):
        assignment.assign_by_hand(draft, reviewer, actor=None)
    assert not draft.project.has_assigned_reviewer(reviewer)


@pytest.mark.django_db
def test_only_the_assigned_reviewer_declines_and_only_once(draft, applicant, make_user):
    make_user("r1", "reviewer")
    applications.submit(draft, actor=applicant)
    mine = draft.assignments.get()
    with pytest.raises(WorkflowError, match="Only the assigned reviewer"):
        assignment.decline(mine, actor=applicant)
    assignment.decline(mine, actor=mine.reviewer)
    with pytest.raises(WorkflowError, match="already declined"):
        assignment.decline(mine, actor=mine.reviewer)


@pytest.mark.django_db
def test_maintainers_assign_by_hand_only_active_reviewers_without_conflicts(draft, applicant, make_user, maintainer):
    applications.submit(draft, actor=applicant)
    not_a_reviewer = make_user("plain")
    with pytest.raises(WorkflowError, match="not an active reviewer"):
        assignment.assign_by_hand(draft, not_a_reviewer, actor=maintainer)
    colleague = make_user("colleague", "reviewer", affiliation="Open Digits Lab")
    with pytest.raises(WorkflowError, match="works for the project's organisation"):
        assignment.assign_by_hand(draft, colleague, actor=maintainer)
    chosen = make_user("chosen", "reviewer", affiliation="Elsewhere")
    made = assignment.assign_by_hand(draft, chosen, actor=maintainer)
    assert made.assigned_by == maintainer and draft.project.has_assigned_reviewer(chosen)
    draft.refresh_from_db()
    assert draft.state == "under_review"
    with pytest.raises(WorkflowError, match="already asked"):
        assignment.assign_by_hand(draft, chosen, actor=maintainer)


@pytest.mark.django_db
def test_finding_candidates_reads_the_projects_people_once_whatever_the_number_of_reviewers(draft, make_user):
    def queries_for_candidates() -> int:
        fresh = Application.objects.select_related("call", "project").get(pk=draft.pk)  # as assign_reviewers reads it
        with CaptureQueriesContext(connection) as captured:
            assignment.candidates(fresh)
        return len(captured)

    draft.project.members.add(make_user("member", affiliation="Elsewhere"))
    make_user("r0", "reviewer", affiliation="A")
    few = queries_for_candidates()
    for i in range(1, 6):
        make_user(f"r{i}", "reviewer", affiliation=f"A{i}")
    assert queries_for_candidates() == few
