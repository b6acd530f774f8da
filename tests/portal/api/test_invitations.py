"""The API's side of membership: invitations instead of a writable member list, the same answer for
every name, and each route for exactly the people it concerns."""

from __future__ import annotations

import pytest

from portal.api.serializers import MEMBERS_ARE_INVITED
from portal.models import ProjectInvitation
from portal.services import assignment, invitations, projects

S = ProjectInvitation.State
# What differs between two invitations whatever the names: their ids and times.
PER_ROW = {"id", "url", "created", "expires_at"}


@pytest.fixture
def project(applicant, make_local_repo):  # type: ignore[no-untyped-def]
    return projects.create_project(applicant, name="Digits", repository_url=str(make_local_repo()))


@pytest.mark.django_db
def test_members_cannot_be_set_through_the_project(api, applicant, project, reviewer, draft_of):
    """Seen: PATCH members=[reviewers] made them members at once, so they could not review the application."""
    owner = api(applicant)
    url = f"/api/v1/projects/{project.pk}/"
    for body in ({"members": ["rosa"]}, {"members": "rosa"}, {"members": ["rosa"], "licence": "MIT"}):
        response = owner.patch(url, body, format="json")
        assert response.status_code == 400 and response.json() == {"members": [MEMBERS_ARE_INVITED]}, body
    created = owner.post(
        "/api/v1/projects/",
        {"name": "X", "repository_url": project.repository_url, "members": ["rosa"]},
        format="json",
    )
    assert created.status_code == 400 and created.json() == {"members": [MEMBERS_ARE_INVITED]}
    project.refresh_from_db()
    assert not project.members.exists() and project.licence == "" and not projects.Project.objects.filter(name="X")
    assert assignment.conflicts_of_interest(reviewer, draft_of(project)) == []
    # Writing back what was read is no change, and is accepted.
    read = owner.get(url).json()
    assert owner.put(url, {**read, "licence": "MIT"}, format="json").status_code == 200


@pytest.fixture
def draft_of(open_call, plan, applicant):  # type: ignore[no-untyped-def]
    from portal.services import applications

    return lambda project: applications.save_draft(project, open_call, plan, actor=applicant)


@pytest.mark.django_db
@pytest.mark.parametrize(("existing", "missing"), [("rosa", "nobody"), ("ROSA@example.org", "ghost@example.org")])
def test_an_invitation_answers_the_same_whether_or_not_the_account_exists(
    api, applicant, project, reviewer, existing, missing
):
    owner = api(applicant)
    url = f"/api/v1/projects/{project.pk}/invitations/"
    found = owner.post(url, {"invitee": existing}, format="json")
    unknown = owner.post(url, {"invitee": missing}, format="json")
    assert found.status_code == unknown.status_code == 201
    strip = lambda body, name: {k: v for k, v in body.items() if k not in PER_ROW | {"invitee_name"}}  # noqa: E731
    assert strip(found.json(), existing) == strip(unknown.json(), missing)
    assert found.json()["invitee_name"] == existing.casefold() and unknown.json()["invitee_name"] == missing.casefold()
    assert set(found.json()) == set(unknown.json())
    listed = owner.get(url).json()["results"]
    assert [row["invitee_name"] for row in listed] == [missing.casefold(), existing.casefold()]
    assert not project.members.exists()


@pytest.mark.django_db
def test_a_malformed_invitee_is_refused_with_the_reason(api, applicant, project):
    response = api(applicant).post(f"/api/v1/projects/{project.pk}/invitations/", {"invitee": "a@b"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"invitee": ["'a@b' is neither an email address nor a username."]}
    assert not ProjectInvitation.objects.exists()


@pytest.mark.django_db
def test_the_invitee_lists_accepts_and_then_belongs(api, applicant, project, reviewer):
    invitation = invitations.invite(project, "rosa", actor=applicant)
    rosa = api(reviewer)
    listed = rosa.get("/api/v1/invitations/").json()["results"]
    assert [(row["id"], row["project_name"], row["state"], row["inviter"]) for row in listed] == [
        (invitation.pk, "Digits", "pending", "ada")
    ]
    assert rosa.get(f"/api/v1/projects/{project.pk}/").status_code == 403
    accepted = rosa.post(f"/api/v1/invitations/{invitation.pk}/accept/")
    assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"
    assert rosa.get(f"/api/v1/projects/{project.pk}/").json()["members"] == ["rosa"]
    again = rosa.post(f"/api/v1/invitations/{invitation.pk}/decline/")
    assert again.status_code == 400 and "can no longer be answered" in again.json()["non_field_errors"][0]
    left = rosa.post(f"/api/v1/projects/{project.pk}/leave/")
    assert left.status_code == 204 and not project.members.exists()


@pytest.mark.django_db
def test_only_the_invitee_answers_and_only_the_project_revokes(api, applicant, project, reviewer, make_user):
    eve = api(make_user("eve"))
    invitation = invitations.invite(project, "rosa", actor=applicant)
    for action in ("accept", "decline"):
        refused = api(applicant).post(f"/api/v1/invitations/{invitation.pk}/{action}/")
        assert refused.status_code == 403 and refused.json()["detail"] == "This invitation is not addressed to you."
        assert eve.post(f"/api/v1/invitations/{invitation.pk}/{action}/").status_code == 403
    assert eve.get(f"/api/v1/invitations/{invitation.pk}/").status_code == 403
    assert eve.get("/api/v1/invitations/").json()["results"] == []
    assert api(reviewer).post(f"/api/v1/invitations/{invitation.pk}/revoke/").status_code == 403
    assert eve.post(f"/api/v1/projects/{project.pk}/invitations/", {"invitee": "eve"}, format="json").status_code == 403
    revoked = api(applicant).post(f"/api/v1/invitations/{invitation.pk}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    refused = api(reviewer).post(f"/api/v1/invitations/{invitation.pk}/accept/")
    assert refused.status_code == 400 and "is revoked" in refused.json()["non_field_errors"][0]
    assert not project.members.exists()


@pytest.mark.django_db
def test_members_are_removed_by_the_project_and_the_owner_cannot_leave(api, applicant, project, reviewer):
    invitations.accept(invitations.invite(project, "rosa", actor=applicant), actor=reviewer)
    owner = api(applicant)
    url = f"/api/v1/projects/{project.pk}/remove-member/"
    assert owner.post(url, {"username": "ghost"}, format="json").json() == {
        "username": ["ghost is not a member of this project."]
    }
    removed = owner.post(url, {"username": "rosa"}, format="json")
    assert removed.status_code == 200 and removed.json()["members"] == []
    left = owner.post(f"/api/v1/projects/{project.pk}/leave/")
    assert left.status_code == 400 and left.json() == {"non_field_errors": [invitations.OWNER_STAYS]}


@pytest.mark.django_db(transaction=True)
def test_the_invitee_is_mailed_a_link_and_an_unknown_name_mails_nobody(applicant, project, reviewer, sent_mail):
    from django.urls import reverse

    invitation = invitations.invite(project, "rosa", actor=applicant)
    invitations.invite(project, "nobody", actor=applicant)
    invitations.invite(project, "ghost@example.org", actor=applicant)
    messages = sent_mail(1)
    assert [(m["To"], m["Subject"]) for m in messages] == [(reviewer.email, "[ComputeGrant] Invitation to join Digits")]
    assert reverse("portal:invitation_detail", args=[invitation.token]) in messages[0].get_payload()
    assert sent_mail(1, timeout=2) == []
