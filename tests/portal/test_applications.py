"""Projects and applications: drafts, submission (snapshot + reviewers), withdrawal, and what is refused."""

from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.errors import WorkflowError
from portal.models import Application, AuditEntry, Project
from portal.services import applications, lifecycle, projects
from reproducibility.models import Snapshot

HOUR = 3600
S = Application.State


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("ext::sh -c touch% /tmp/pwned", "https"),
        ("file:///etc", "https"),
        ("http://github.com/a/b", "https"),
        ("https://evil.example/a/b", "not allowed"),
        ("https://user:secret@github.com/a/b", "credentials"),
        ("/etc/passwd.zip", "uploaded"),
        ("relative/folder", "absolute path"),
        ("", "repository"),
    ],
)
def test_a_project_with_a_refused_repository_is_not_created(applicant, source, message):
    with pytest.raises(WorkflowError, match=message):
        projects.create_project(applicant, name="Nope", repository_url=source)
    assert not Project.objects.exists()


@pytest.mark.django_db
def test_local_folders_are_refused_where_the_operator_does_not_allow_them(applicant, make_local_repo, settings):
    settings.CG_ALLOW_LOCAL_REPOSITORIES = False
    with pytest.raises(WorkflowError, match="https git URL"):
        projects.create_project(applicant, name="Local", repository_url=str(make_local_repo()))


@pytest.mark.django_db
def test_an_allowed_https_repository_makes_a_project_and_invites_its_members(applicant, make_user):
    member = make_user("bob")
    project = projects.create_project(
        applicant, name="Digits", repository_url="https://github.com/example/digits", invitees=["bob", "ada"]
    )
    assert project.slug == "digits" and not project.members.exists()
    assert sorted(project.invitations.values_list("invitee_name", flat=True)) == ["ada", "bob"]
    assert not project.is_member(member) and project.is_member(applicant)
    again = projects.create_project(member, name="Digits", repository_url="https://github.com/example/digits")
    assert again.slug == "digits-2"


@pytest.mark.django_db
def test_an_uploaded_archive_is_kept_under_the_uploads_folder_and_accepted(applicant, settings, tmp_path):
    import io

    settings.DATA_DIR = tmp_path
    path = projects.store_upload("repo.tar.gz", io.BytesIO(b"x" * 10), max_bytes=1 << 20)
    project = projects.create_project(applicant, name="Upload", repository_url=path)
    assert project.repository_url.startswith(str(tmp_path / "uploads"))
    with pytest.raises(WorkflowError, match="larger than"):
        projects.store_upload("big.zip", io.BytesIO(b"x" * (2 << 20)), max_bytes=1 << 20)
    with pytest.raises(WorkflowError, match=r"\.zip"):
        projects.store_upload("repo.exe", io.BytesIO(b"x"), max_bytes=1 << 20)
    assert sorted(p.name for p in (tmp_path / "uploads").iterdir()) == [path.rsplit("/", 1)[1]]


@pytest.mark.django_db
def test_a_draft_is_saved_and_edited_until_submitted(draft, project, open_call, plan, applicant):
    assert draft.state == S.DRAFT and draft.requested_hours == 100
    edited = applications.save_draft(project, open_call, replace(plan, requested_seconds=50 * HOUR), actor=applicant)
    assert edited.pk == draft.pk and edited.requested_seconds == 50 * HOUR
    assert list(AuditEntry.objects.order_by("pk").values_list("verb", flat=True))[-2:] == [
        "application.drafted",
        "application.edited",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"requested_seconds": 0}, "positive"),
        ({"requested_seconds": 1001 * HOUR}, "whole budget"),
        ({"workers": 5, "accelerators_per_worker": 2}, "do not fit"),
        ({"expected_runs": 0}, "at least 1"),
    ],
)
def test_a_plan_the_call_cannot_serve_is_refused(project, open_call, plan, applicant, change, message):
    with pytest.raises(WorkflowError, match=message):
        applications.save_draft(project, open_call, replace(plan, **change), actor=applicant)
    assert not Application.objects.exists()


@pytest.mark.django_db
def test_a_pool_the_call_does_not_offer_is_refused(project, open_call, plan, applicant):
    from scheduler.models import AcceleratorPool

    other = AcceleratorPool.objects.create(name="a100", kind="gpu", capacity=8)
    with pytest.raises(WorkflowError, match="does not offer a100"):
        applications.save_draft(project, open_call, replace(plan, pool=other), actor=applicant)


@pytest.mark.django_db
def test_applications_outside_the_call_window_are_refused(draft, project, open_call, plan, applicant):
    open_call.closes_at = timezone.now() - timedelta(minutes=1)
    open_call.opens_at = timezone.now() - timedelta(days=2)
    open_call.save()
    with pytest.raises(WorkflowError, match="not open now"):
        applications.save_draft(project, open_call, plan, actor=applicant)
    with pytest.raises(WorkflowError, match="not open now"):
        applications.submit(draft, actor=applicant)
    draft.refresh_from_db()
    assert draft.state == S.DRAFT and draft.snapshot is None


@pytest.mark.django_db
def test_submission_snapshots_the_repository_and_assigns_reviewers(draft, applicant, make_user):
    make_user("r1", "reviewer", affiliation="Elsewhere")
    make_user("r2", "reviewer", affiliation="Other place")
    submitted = applications.submit(draft, actor=applicant)
    assert submitted.state == S.UNDER_REVIEW and submitted.submitted_at is not None
    assert submitted.snapshot.status == Snapshot.Status.QUEUED
    assert submitted.snapshot.source == draft.project.repository_url
    assert submitted.assignments.count() == 2
    verbs = list(
        AuditEntry.objects.filter(target_id=draft.pk, verb__startswith="application.").values_list("verb", flat=True)
    )
    assert {"application.submitted", "application.under_review"} <= set(verbs)


@pytest.mark.django_db
def test_without_reviewers_a_submitted_application_waits_for_them(draft, applicant):
    submitted = applications.submit(draft, actor=applicant)
    assert submitted.state == S.SUBMITTED
    with pytest.raises(WorkflowError, match="only drafts"):
        applications.save_draft(draft.project, draft.call, applications._plan_of(draft), actor=applicant)


@pytest.mark.django_db
def test_withdrawal_ends_the_reviews_and_is_final(draft, applicant, make_user):
    make_user("r1", "reviewer")
    applications.submit(draft, actor=applicant)
    withdrawn = applications.withdraw(draft, actor=applicant, reason="found compute elsewhere")
    assert withdrawn.state == S.WITHDRAWN and withdrawn.decision_message == "found compute elsewhere"
    assert not withdrawn.assignments.filter(state="assigned").exists()
    with pytest.raises(lifecycle.InvalidTransition, match="is withdrawn; it cannot become submitted"):
        applications.submit(withdrawn, actor=applicant)


def test_the_lifecycle_table_ends_in_decisions_and_every_open_state_can_be_withdrawn():
    assert lifecycle.TRANSITIONS[S.DRAFT] == {S.SUBMITTED, S.WITHDRAWN}
    assert all(not lifecycle.TRANSITIONS[state] for state in (S.AWARDED, S.DECLINED, S.WITHDRAWN))
    assert {S.DRAFT, S.SUBMITTED, S.UNDER_REVIEW, S.WAITLISTED} == lifecycle.OPEN_STATES
    reachable = {S.DRAFT}
    frontier = [S.DRAFT]
    while frontier:
        for target in lifecycle.TRANSITIONS[frontier.pop()]:
            if target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(S.values)


@pytest.mark.django_db
def test_an_invalid_transition_is_refused_and_not_audited(draft):
    before = AuditEntry.objects.count()
    with pytest.raises(lifecycle.InvalidTransition, match="is draft; it cannot become awarded"):
        lifecycle.transition(draft, S.AWARDED)
    draft.refresh_from_db()
    assert draft.state == S.DRAFT and AuditEntry.objects.count() == before


@pytest.mark.django_db
def test_audit_entries_are_append_only(draft):
    entry = AuditEntry.objects.first()
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()


@pytest.mark.django_db
def test_a_local_repository_in_or_holding_the_portal_data_is_refused(applicant, settings, tmp_path):
    data = tmp_path / "var"
    (data / "snapshots").mkdir(parents=True)
    settings.DATA_DIR, settings.CG_SNAPSHOTS_ROOT = data, data / "snapshots"
    for source in (data, data / "snapshots", tmp_path):
        with pytest.raises(WorkflowError, match="the portal's own data folder"):
            projects.create_project(applicant, name="Recursive", repository_url=str(source))
    assert not Project.objects.exists()


@pytest.mark.django_db
def test_large_numbers_in_a_refusal_read_as_people_write_them(project, open_call, plan, applicant):
    with pytest.raises(WorkflowError) as refused:
        applications.save_draft(project, open_call, replace(plan, requested_seconds=1_000_000 * HOUR), actor=applicant)
    assert "1,000,000 accelerator-hours is more than the call's whole budget" in str(refused.value)
    assert "e+" not in str(refused.value)
