"""Project membership by invitation: nobody becomes a member (and so loses the right to review) without
accepting, and an invitation never tells whether an account exists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.errors import WorkflowError
from portal.models import Application, AuditEntry, ConflictDeclaration, ProjectInvitation, ReviewAssignment
from portal.services import applications, assignment, invitations
from tests.portal.conftest import client_for

S = ProjectInvitation.State
A = ReviewAssignment.State


def _messages(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def reviewers(make_user):  # type: ignore[no-untyped-def]
    return [make_user(name, "reviewer", affiliation=f"{name} institute") for name in ("rosa", "ravi", "rhea")]


# --- the regression: an applicant listing reviewers as members --------------------------------


@pytest.mark.django_db
def test_listing_reviewers_as_members_does_not_take_them_off_the_application_until_they_accept(
    applicant, project, open_call, plan, reviewers
):
    """Seen: an applicant removed two reviewers from their own application by adding them as members."""
    rosa, ravi, _ = reviewers
    owner = client_for(applicant)
    members_url = reverse("portal:project_members", args=[project.pk])
    # Both the old field's name and the new one: on the old code this made them members at once.
    owner.post(members_url, {"members": "rosa, ravi@example.org", "invitees": "rosa, ravi@example.org"})
    project.refresh_from_db()
    assert not project.members.exists()
    draft = applications.save_draft(project, open_call, plan, actor=applicant)
    assert assignment.conflicts_of_interest(rosa, draft) == []
    assert {rosa, ravi} <= set(assignment.candidates(draft))
    submitted = applications.submit(draft, actor=applicant)
    assert {rosa, ravi} <= {a.reviewer for a in submitted.assignments.all()} | set(assignment.candidates(submitted))

    # Once rosa accepts she is a member: a conflict, and her open review goes to someone else.
    invitation = invitations.open_invitations_for(rosa).get()
    was_reviewing = submitted.assignments.filter(reviewer=rosa, state=A.ASSIGNED).exists()
    invitations.accept(invitation, actor=rosa)
    submitted = Application.objects.get(pk=submitted.pk)  # the members prefetched before she joined are stale
    assert assignment.conflicts_of_interest(rosa, submitted) == ["is a member of the project"]
    assert rosa not in assignment.candidates(submitted)
    if was_reviewing:
        ended = submitted.assignments.get(reviewer=rosa)
        assert ended.state == A.CONFLICTED and ended.reason == "joined the project as a member"
    active = submitted.assignments.filter(state__in=ReviewAssignment.ACTIVE_STATES)
    assert active.count() == open_call.reviews_per_application and rosa not in {a.reviewer for a in active}


@pytest.mark.django_db
def test_an_open_review_ends_as_conflicted_when_its_reviewer_joins_the_project(
    applicant, project, open_call, plan, reviewers
):
    submitted = applications.submit(applications.save_draft(project, open_call, plan, actor=applicant), actor=applicant)
    reviewing = submitted.assignments.filter(state=A.ASSIGNED).first().reviewer
    invitation = invitations.invite(project, reviewing.username, actor=applicant)
    assert submitted.assignments.get(reviewer=reviewing).state == A.ASSIGNED  # pending: nothing changes
    invitations.accept(invitation, actor=reviewing)
    assert submitted.assignments.get(reviewer=reviewing).state == A.CONFLICTED
    assert submitted.assignments.filter(state=A.ASSIGNED).count() == open_call.reviews_per_application


# --- no account enumeration -------------------------------------------------------------------


def _invite_page(owner, project, name):  # type: ignore[no-untyped-def]
    url = reverse("portal:project_members", args=[project.pk])
    with CaptureQueriesContext(connection) as queries:
        response = owner.post(url, {"invitees": name})
    return response, _messages(response), len(queries)


@pytest.mark.django_db
@pytest.mark.parametrize(("existing", "missing"), [("rosa", "nobody"), ("rosa@example.org", "ghost@example.org")])
def test_inviting_answers_the_same_whether_or_not_the_account_exists(applicant, project, reviewers, existing, missing):
    found, found_messages, found_queries = _invite_page(client_for(applicant), project, existing)
    unknown, unknown_messages, unknown_queries = _invite_page(client_for(applicant), project, missing)
    owner = client_for(applicant)
    assert found.status_code == unknown.status_code == 302
    assert found["Location"] == unknown["Location"]
    assert [m.replace(existing, "NAME") for m in found_messages] == [
        m.replace(missing, "NAME") for m in unknown_messages
    ]
    assert found_queries == unknown_queries  # the same work, so about the same time
    listing = owner.get(reverse("portal:project_members", args=[project.pk])).content.decode()
    assert "Rosa" not in listing.replace("rosa@example.org", "")  # named as typed, never by the account's name


@pytest.mark.django_db
def test_the_old_member_error_that_named_unknown_accounts_is_gone(applicant, make_user):
    response = client_for(applicant).post(
        reverse("portal:project_create"),
        {"name": "New", "repository_url": "https://github.com/example/new", "invitees": "nobody, ghost@example.org"},
    )
    assert response.status_code == 302
    assert "No account" not in " ".join(_messages(response))
    assert set(ProjectInvitation.objects.values_list("invitee_name", flat=True)) == {"nobody", "ghost@example.org"}


@pytest.mark.django_db
def test_malformed_names_are_refused_by_shape_and_change_nothing(applicant, project):
    owner = client_for(applicant)
    for bad in ("not an@address", "a@b", "white space!", "x" * 151):
        response = owner.post(reverse("portal:project_members", args=[project.pk]), {"invitees": bad})
        assert response.status_code == 400, bad
        assert "neither an email address nor a username" in response.content.decode()
    assert not ProjectInvitation.objects.exists()


# --- the invitee's side -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_invitee_sees_the_invitation_on_the_dashboard_and_accepts_it(applicant, project, make_user):
    bob = make_user("bob")
    invitation = invitations.invite(project, "BOB@example.org", actor=applicant)
    assert invitation.invitee == bob and invitation.invitee_name == "bob@example.org"
    bobs = client_for(bob)
    dashboard = bobs.get(reverse("portal:home")).content.decode()
    link = reverse("portal:invitation_detail", args=[invitation.token])
    assert link in dashboard and "Join Digits" in dashboard
    assert link in bobs.get(reverse("portal:invitation_list")).content.decode()
    assert bobs.get(reverse("portal:project_detail", args=[project.pk])).status_code == 403  # not yet a member
    assert "Accept" in bobs.get(link).content.decode()
    response = bobs.post(reverse("portal:invitation_accept", args=[invitation.token]))
    assert response.status_code == 302 and response["Location"] == reverse("portal:project_detail", args=[project.pk])
    assert list(project.members.all()) == [bob]
    assert bobs.get(reverse("portal:project_detail", args=[project.pk])).status_code == 200
    assert AuditEntry.objects.filter(verb="project.joined", details__invitee="bob@example.org").exists()
    # Answered: a second answer is refused with the reason, and changes nothing.
    response = bobs.post(reverse("portal:invitation_decline", args=[invitation.token]))
    assert "is accepted; it can no longer be answered" in " ".join(_messages(response))
    assert list(project.members.all()) == [bob]


@pytest.mark.django_db
def test_only_the_invitee_finds_the_invitation_even_with_its_link(applicant, project, make_user, maintainer):
    bob, eve = make_user("bob"), make_user("eve")
    invitation = invitations.invite(project, "bob", actor=applicant)
    for someone in (eve, applicant, maintainer):
        client = client_for(someone)
        assert client.get(reverse("portal:invitation_detail", args=[invitation.token])).status_code == 404
        assert client.post(reverse("portal:invitation_accept", args=[invitation.token])).status_code == 404
    assert client_for(bob).get(reverse("portal:invitation_detail", args=["no-such-token"])).status_code == 404
    assert not project.members.exists()
    assert ProjectInvitation.objects.get().state == S.PENDING


@pytest.mark.django_db
def test_declining_leaves_the_project_as_it_was(applicant, project, make_user):
    bob = make_user("bob")
    invitation = invitations.invite(project, "bob", actor=applicant)
    response = client_for(bob).post(reverse("portal:invitation_decline", args=[invitation.token]))
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.state == S.DECLINED and invitation.answered_at and not project.members.exists()


@pytest.mark.django_db
def test_an_invitation_to_an_address_waits_for_someone_to_sign_up_with_it(client, applicant, project):
    invitation = invitations.invite(project, "newcomer@example.org", actor=applicant)
    assert invitation.invitee is None
    response = client.post(
        reverse("portal:signup"),
        {
            "username": "newcomer",
            "email": "NewComer@example.org",
            "password1": "a-strong-test-pass-1",
            "password2": "a-strong-test-pass-1",
        },
    )
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.invitee.username == "newcomer" and invitation.state == S.PENDING
    assert reverse("portal:invitation_detail", args=[invitation.token]) in client.get("/").content.decode()


@pytest.mark.django_db
def test_an_expired_invitation_cannot_be_accepted(applicant, project, make_user):
    bob = make_user("bob")
    invitation = invitations.invite(project, "bob", actor=applicant)
    ProjectInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert not invitations.open_invitations_for(bob).exists()
    with pytest.raises(WorkflowError, match=r"This invitation expired on .*; ask for a new one\."):
        invitations.accept(invitation, actor=bob)
    assert not project.members.exists()
    assert [i.state for i in invitations.invitations_of(project)] == [S.EXPIRED]
    # A new invitation to the same name can be sent.
    assert invitations.invite(project, "bob", actor=applicant).pk != invitation.pk


# --- the project's side -----------------------------------------------------------------------


@pytest.mark.django_db
def test_inviting_twice_gives_one_invitation_and_revoking_it_ends_it(applicant, project, make_user):
    bob = make_user("bob")
    first = invitations.invite(project, "bob", actor=applicant)
    assert invitations.invite(project, " bob ", actor=applicant).pk == first.pk
    owner = client_for(applicant)
    response = owner.post(reverse("portal:invitation_revoke", args=[project.pk, first.pk]))
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.state == S.REVOKED
    with pytest.raises(WorkflowError, match="is revoked"):
        invitations.accept(first, actor=bob)
    response = owner.post(reverse("portal:invitation_revoke", args=[project.pk, first.pk]))
    assert "only a pending one is revoked" in " ".join(_messages(response))


@pytest.mark.django_db
def test_a_project_holds_a_bounded_number_of_waiting_invitations(applicant, project, monkeypatch):
    monkeypatch.setattr(invitations, "MAX_PENDING_PER_PROJECT", 2)
    invitations.invite(project, "a1", actor=applicant)
    invitations.invite(project, "a2", actor=applicant)
    with pytest.raises(WorkflowError, match="invitations waiting"):
        invitations.invite(project, "a3", actor=applicant)
    assert project.invitations.count() == 2


@pytest.mark.django_db
def test_members_leave_and_are_removed_but_the_owner_stays(applicant, project, make_user):
    bob, carol = make_user("bob"), make_user("carol")
    for person in (bob, carol):
        invitations.accept(invitations.invite(project, person.username, actor=applicant), actor=person)
    response = client_for(bob).post(reverse("portal:project_leave", args=[project.pk]))
    assert response.status_code == 302 and list(project.members.all()) == [carol]
    owner = client_for(applicant)
    response = owner.post(reverse("portal:project_member_remove", args=[project.pk, carol.pk]))
    assert response.status_code == 302 and not project.members.exists()
    response = owner.post(reverse("portal:project_leave", args=[project.pk]))
    assert invitations.OWNER_STAYS in _messages(response)
    response = owner.post(reverse("portal:project_member_remove", args=[project.pk, bob.pk]))
    assert "bob is not a member of this project." in _messages(response)
    # Someone who is not a member may not leave (nor remove anyone).
    assert client_for(bob).post(reverse("portal:project_leave", args=[project.pk])).status_code == 403
    assert (
        client_for(bob).post(reverse("portal:project_member_remove", args=[project.pk, applicant.pk])).status_code
        == 403
    )


# --- what maintainers see ---------------------------------------------------------------------


@pytest.mark.django_db
def test_maintainers_see_how_many_reviewers_conflicts_exclude_and_when_too_few_remain(
    applicant, project, open_call, plan, make_user, maintainer
):
    open_call.reviews_per_application = 2
    open_call.save()
    make_user("colleague", "reviewer", affiliation="Open Digits Lab")  # the project's organisation
    declared = make_user("declared", "reviewer", affiliation="Far")
    member = make_user("member", "reviewer", affiliation="Near")
    invited = make_user("invited", "reviewer", affiliation="Somewhere")
    ConflictDeclaration.objects.create(reviewer=declared, project=project, reason="co-author")
    invitations.accept(invitations.invite(project, "member", actor=applicant), actor=member)
    invitations.invite(project, "invited", actor=applicant)  # pending: no conflict
    submitted = applications.submit(applications.save_draft(project, open_call, plan, actor=applicant), actor=applicant)
    pool = assignment.reviewer_pool(submitted)
    assert (pool.reviewers, pool.reviewing, pool.excluded, pool.eligible) == (4, 1, 3, 0)
    assert pool.by_reason == {
        "member of the project": 1,
        "declared a conflict": 1,
        "works for the project's organisation": 1,
    }
    assert pool.short and pool.missing == 1
    assert [a.reviewer for a in submitted.assignments.all()] == [invited]
    html = client_for(maintainer).get(reverse("portal:application_reviews", args=[submitted.pk])).content.decode()
    assert "3 excluded by conflicts of interest" in html and "member of the project: 1" in html
    assert 'data-testid="reviewer-pool-short"' in html and "1 review still needed, 0 reviewers eligible" in html


@pytest.mark.django_db
def test_no_warning_while_the_pool_covers_the_reviews(applicant, project, open_call, plan, reviewers, maintainer):
    submitted = applications.submit(applications.save_draft(project, open_call, plan, actor=applicant), actor=applicant)
    pool = assignment.reviewer_pool(submitted)
    assert not pool.short and pool.excluded == 0 and pool.eligible == 1
    html = client_for(maintainer).get(reverse("portal:application_reviews", args=[submitted.pk])).content.decode()
    assert 'data-testid="reviewer-pool"' in html and "reviewer-pool-short" not in html


# --- existing memberships ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_existing_members_as_accepted_invitations(make_user, make_local_repo):
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("portal", "0006_audit_entry_call")])
    old = executor.loader.project_state([("portal", "0006_audit_entry_call")]).apps
    User, Project = old.get_model("portal", "User"), old.get_model("portal", "Project")
    owner = User.objects.create(username="own", email="own@example.org")
    member = User.objects.create(username="mem", email="mem@example.org")
    project = Project.objects.create(name="P", slug="p", owner=owner, repository_url="/tmp")
    project.members.add(member)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    invitation = ProjectInvitation.objects.get()
    assert (invitation.project_id, invitation.invitee_id, invitation.state) == (project.pk, member.pk, S.ACCEPTED)
    assert invitation.invitee_name == "mem" and invitation.inviter_id == owner.pk and invitation.answered_at
