"""The applicant's pages: dashboard, projects, open calls, the application form and page.

Driven through the Django test client against the real services: a project on a local repository
folder, an application saved, submitted, scored in-process, reviewed and awarded.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.models import Application, AuditEntry, Project
from portal.services import applications, calls, decisions, projects, reviews
from reproducibility.models import Snapshot
from reproducibility.services import score_snapshot
from scheduler import quota
from scheduler.models import AcceleratorPool
from tests.portal.conftest import REPO_FILES

HOUR = 3600
S = Application.State
PASSWORD = "a-strong-test-pass-1"


def page(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


def form_error(response) -> str:  # type: ignore[no-untyped-def]
    """The text of the page's alerts (form errors), whitespace collapsed."""
    alerts = re.findall(r'role="alert"[^>]*>(.*?)</', page(response), flags=re.S)
    return html.unescape(" ".join(" ".join(a.split()) for a in alerts))


def application_data(project: Project, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "project": project.pk,
        "pool": "nvidia-v100",
        "requested_hours": "100",
        "justification": "Train the digits model across two workers.",
        "entrypoint": "python train.py --epochs 5",
        "workers": 2,
        "accelerators_per_worker": 1,
        "expected_runs": 3,
        "action": "save",
    }
    data.update(overrides)
    return data


@pytest.fixture
def signed_in(client, applicant):  # type: ignore[no-untyped-def]
    client.force_login(applicant)
    return client


# --- the whole flow ------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_applicant_goes_from_a_repository_to_an_award_through_the_pages(
    client, applicant, make_user, reviewer, maintainer, open_call, make_local_repo
):
    bob = make_user("bob")
    carol = make_user("carol")
    response = client.post(reverse("login"), {"username": "ada", "password": PASSWORD})
    assert response.status_code == 302

    dashboard = client.get(reverse("portal:home"))
    assert "No projects yet" in page(dashboard)
    assert 'href="/projects/"' in page(dashboard) and 'href="/calls/open/"' in page(dashboard)  # navigation

    repo = make_local_repo()
    response = client.post(
        reverse("portal:project_create"),
        {
            "name": "Digits",
            "repository_url": str(repo),
            "licence": "Apache-2.0",
            "description": "Handwritten digits, reproducibly.",
            "organisation": "Open Digits Lab",
            "invitees": "bob, CAROL@example.org",
        },
    )
    project = Project.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("portal:project_detail", args=[project.pk])
    assert project.owner == applicant and project.repository_url == str(repo.resolve())
    # Invited, not members: each becomes one on accepting (see tests/portal/test_invitations.py).
    assert not project.members.exists()
    assert {(i.invitee_name, i.invitee) for i in project.invitations.all()} == {
        ("bob", bob),
        ("carol@example.org", carol),
    }
    assert "Digits" in page(client.get(reverse("portal:project_list")))

    calls_page = page(client.get(reverse("portal:open_calls")))
    assert "Open compute 2027" in calls_page and "tpu-v4-8" in calls_page and "Technical merit" in calls_page
    assert "1,000.00" in calls_page  # the GPU pool's remaining budget, in hours
    assert reverse("portal:apply", args=[open_call.pk]) in calls_page

    form = client.get(reverse("portal:apply", args=[open_call.pk]))
    assert form.status_code == 200 and "Save draft" in page(form) and "Training plan" in page(form)
    response = client.post(reverse("portal:apply", args=[open_call.pk]), application_data(project))
    application = Application.objects.get()
    assert response.status_code == 302 and application.state == S.DRAFT
    assert response["Location"] == reverse("portal:application_detail", args=[application.pk])
    assert application.requested_seconds == 100 * HOUR and application.workers == 2
    detail = page(client.get(reverse("portal:application_detail", args=[application.pk])))
    assert "Draft" in detail and "Submit the application" in detail

    response = client.post(reverse("portal:application_submit", args=[application.pk]))
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == S.UNDER_REVIEW and application.snapshot is not None
    detail = page(client.get(reverse("portal:application_detail", args=[application.pk])))
    assert "Scoring…" in detail and "Submit the application" not in detail
    status_url = reverse("portal:application_reproducibility", args=[application.pk])
    partial = page(client.get(status_url, headers={"HX-Request": "true"}))
    assert "Scoring…" in partial and f'hx-get="{status_url}"' in partial  # still polling

    score_snapshot(application.snapshot_id)
    report = application.snapshot.reports.get()
    partial = page(client.get(status_url, headers={"HX-Request": "true"}))
    assert "hx-get" not in partial  # done: the polling stops
    assert reverse("reproducibility:badge", args=[application.snapshot_id]) in partial
    assert reverse("reproducibility:report", args=[application.snapshot_id]) in partial
    assert f"<strong>{report.score:.0f}</strong>/100" in partial and report.level in partial

    assignment = application.assignments.get(reviewer=reviewer)
    reviews.submit_review(
        assignment,
        actor=reviewer,
        scores={c.pk: 4 for c in open_call.criteria.all()},
        comment_to_applicant="A clear plan; pin your data download.",
        confidential_comment="Between us: the team is strong.",
        recommendation="award",
        recommended_seconds=100 * HOUR,
    )
    detail = page(client.get(reverse("portal:application_detail", args=[application.pk])))
    assert "A clear plan" not in detail  # not before the decision

    decisions.award(application, 100 * HOUR, actor=maintainer, message="Enjoy the GPUs.")
    application.refresh_from_db()
    detail = page(client.get(reverse("portal:application_detail", args=[application.pk])))
    assert "Awarded" in detail and "Enjoy the GPUs." in detail
    assert reverse("scheduler:allocation_detail", args=[application.allocation_id]) in detail
    assert "A clear plan; pin your data download." in detail and "4.00 out of 5" in detail
    assert "Between us" not in detail and "rosa" not in detail  # never confidential, never who
    assert "Withdraw the application" not in detail  # an award is final

    job = quota.submit_job(application.allocation, quota.JobRequest(entrypoint="train.py", max_runtime_seconds=600))
    dashboard = page(client.get(reverse("portal:home")))
    assert reverse("portal:project_detail", args=[project.pk]) in dashboard
    assert f'data-testid="application-state-{application.pk}">Awarded<' in dashboard
    assert reverse("scheduler:allocation_detail", args=[application.allocation_id]) in dashboard
    assert 'class="bar"' in dashboard and "% reserved" in dashboard  # the quota bar
    assert reverse("scheduler:job_detail", args=[job.pk]) in dashboard

    project_page = page(client.get(reverse("portal:project_detail", args=[project.pk])))
    assert reverse("portal:application_detail", args=[application.pk]) in project_page
    assert reverse("scheduler:allocation_detail", args=[application.allocation_id]) in project_page


@pytest.mark.django_db
def test_the_form_can_save_and_submit_at_once_and_the_history_tells_the_story(signed_in, project, open_call):
    response = signed_in.post(reverse("portal:apply", args=[open_call.pk]), application_data(project, action="submit"))
    application = Application.objects.get()
    assert response.status_code == 302 and application.state == S.SUBMITTED  # no reviewers exist yet
    history = page(signed_in.get(reverse("portal:application_detail", args=[application.pk])))
    history = history.split('data-testid="history"')[1]
    assert history.index("Draft saved") < history.index("Submitted") and "by ada" in history


@pytest.mark.django_db
def test_a_draft_is_edited_through_its_form_until_submitted(signed_in, draft):
    edit_url = reverse("portal:application_edit", args=[draft.pk])
    form = page(signed_in.get(edit_url))
    assert 'value="100.00"' in form and "python train.py --epochs 5" in form
    response = signed_in.post(edit_url, {**application_data(draft.project, requested_hours="42.5"), "project": ""})
    draft.refresh_from_db()
    assert response.status_code == 302 and draft.requested_seconds == 42.5 * HOUR and draft.state == S.DRAFT
    response = signed_in.post(edit_url, application_data(draft.project, action="submit"))
    draft.refresh_from_db()
    assert draft.state == S.SUBMITTED and draft.requested_seconds == 100 * HOUR
    response = signed_in.get(edit_url)
    assert response.status_code == 302  # only drafts are edited


@pytest.mark.django_db
def test_withdrawing_keeps_the_reason_and_ends_the_controls(signed_in, draft):
    applications.submit(draft, actor=draft.project.owner)
    response = signed_in.post(reverse("portal:application_withdraw", args=[draft.pk]), {"reason": "Found a sponsor."})
    draft.refresh_from_db()
    assert response.status_code == 302 and draft.state == S.WITHDRAWN
    detail = page(signed_in.get(reverse("portal:application_detail", args=[draft.pk])))
    assert "Found a sponsor." in detail and "Withdrawn" in detail and "Withdraw the application" not in detail


@pytest.mark.django_db
def test_withdrawing_an_awarded_application_is_refused_and_changes_nothing(signed_in, draft, reviewer, maintainer):
    application = applications.submit(draft, actor=draft.project.owner)
    decisions.award(application, 10 * HOUR, actor=maintainer)
    entries = AuditEntry.objects.count()
    response = signed_in.post(reverse("portal:application_withdraw", args=[draft.pk]), {"reason": "Oops"})
    draft.refresh_from_db()
    assert response.status_code == 400 and "cannot become withdrawn" in form_error(response)
    assert draft.state == S.AWARDED and AuditEntry.objects.count() == entries


@pytest.mark.django_db
def test_a_failed_fetch_shows_its_reason(signed_in, draft):
    applications.submit(draft, actor=draft.project.owner)
    draft.refresh_from_db()
    Snapshot.objects.filter(pk=draft.snapshot_id).update(source="/nonexistent/folder")
    score_snapshot(draft.snapshot_id)
    partial = page(signed_in.get(reverse("portal:application_reproducibility", args=[draft.pk])))
    assert "could not be fetched" in partial and "hx-get" not in partial


# --- bad inputs: a clear error, nothing changed ----------------------------------------------


@pytest.fixture
def closed_call(gpu_pool, maintainer):  # type: ignore[no-untyped-def]
    now = timezone.now()
    return calls.open_call(
        title="Spring 2026",
        opens_at=now - timedelta(days=30),
        closes_at=now - timedelta(days=1),
        budgets=[(gpu_pool, 100 * HOUR)],
        actor=maintainer,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"requested_hours": "5000"}, "more than the call's whole budget"),
        ({"pool": "cpu-small"}, "does not offer cpu-small; it offers nvidia-v100, tpu-v4-8"),
        ({"workers": 5, "accelerators_per_worker": 2}, "do not fit in nvidia-v100, which has 8 accelerators"),
        ({"workers": 0}, "at least 1"),
        ({"requested_hours": "0"}, "positive number of accelerator-hours"),
        ({"requested_hours": "many"}, "Enter a number"),
        ({"pool": "tpu-v4-8", "workers": 3, "accelerators_per_worker": 2, "action": "submit"}, "do not fit in tpu-v4"),
    ],
)
def test_an_application_the_call_cannot_serve_is_refused_with_the_reason(
    signed_in, project, open_call, overrides, message
):
    AcceleratorPool.objects.create(name="cpu-small", kind=AcceleratorPool.Kind.CPU, capacity=4)
    audit_before = AuditEntry.objects.count()
    response = signed_in.post(reverse("portal:apply", args=[open_call.pk]), application_data(project, **overrides))
    assert response.status_code == 400
    assert message in form_error(response)
    assert not Application.objects.exists() and AuditEntry.objects.count() == audit_before


@pytest.mark.django_db
def test_applying_to_a_closed_call_is_refused(signed_in, project, closed_call):
    form = page(signed_in.get(reverse("portal:apply", args=[closed_call.pk])))
    assert "not taking applications now" in form
    response = signed_in.post(reverse("portal:apply", args=[closed_call.pk]), application_data(project))
    assert response.status_code == 400 and "it is not open now" in form_error(response)
    assert not Application.objects.exists()
    assert "Spring 2026" not in page(signed_in.get(reverse("portal:open_calls")))


@pytest.mark.django_db
def test_a_call_not_yet_open_is_hidden_from_applicants_but_not_from_maintainers(
    signed_in, project, gpu_pool, maintainer
):
    now = timezone.now()
    future = calls.open_call(
        title="Autumn 2031",
        opens_at=now + timedelta(days=10),
        closes_at=now + timedelta(days=40),
        budgets=[(gpu_pool, 100 * HOUR)],
        actor=maintainer,
    )
    url = reverse("portal:apply", args=[future.pk])
    for response in (signed_in.get(url), signed_in.post(url, application_data(project))):
        assert response.status_code == 404
        assert "Autumn 2031" not in page(response) and f"{future.opens_at:%Y-%m-%d}" not in page(response)
    assert not Application.objects.exists()
    assert Client().get(url).status_code == 302  # anonymous: sent to sign in, as for every call
    maintainers = Client()
    maintainers.force_login(maintainer)
    assert "Autumn 2031" in page(maintainers.get(url))


@pytest.mark.django_db
def test_a_submission_the_workflow_refuses_leaves_the_draft_as_it_was(signed_in, draft, gpu_pool):
    # The pool shrank after the draft was saved: submitting from the form refuses both the edit and the submission.
    AcceleratorPool.objects.filter(pk=gpu_pool.pk).update(capacity=1)
    response = signed_in.post(
        reverse("portal:application_edit", args=[draft.pk]),
        application_data(draft.project, requested_hours="50", action="submit"),
    )
    assert response.status_code == 400 and "do not fit" in form_error(response)
    draft.refresh_from_db()
    assert draft.state == S.DRAFT and draft.requested_seconds == 100 * HOUR and draft.snapshot is None
    response = signed_in.post(reverse("portal:application_submit", args=[draft.pk]))
    assert response.status_code == 400 and "do not fit" in form_error(response)
    draft.refresh_from_db()
    assert draft.state == S.DRAFT and not Snapshot.objects.exists()


@pytest.mark.django_db
def test_another_applicants_project_cannot_be_chosen(signed_in, project, make_user, open_call, make_local_repo):
    eve = make_user("eve")
    theirs = projects.create_project(eve, name="Theirs", repository_url=str(make_local_repo("theirs")))
    response = signed_in.post(reverse("portal:apply", args=[open_call.pk]), application_data(theirs))
    assert response.status_code == 400 and "Select a valid choice" in form_error(response)
    assert not Application.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"repository_url": "ext::sh -c touch% /tmp/pwned"}, "Only https:// repository URLs are accepted"),
        ({"repository_url": "http://github.com/example/digits"}, "Only https:// repository URLs are accepted"),
        ({"repository_url": "https://evil.example/a/b"}, "The host evil.example is not allowed"),
        ({"repository_url": "/etc/passwd.zip"}, "Archives must be uploaded, not given as a path"),
        ({"repository_url": "relative/folder"}, "is not an absolute path"),
        ({"repository_url": ""}, "Give the project's repository"),
        ({"licence": "Apache 2 or whatever"}, "SPDX licence identifier"),
        ({"invitees": "bob, not an@address"}, "neither an email address nor a username"),
        ({"name": ""}, "This field is required"),
    ],
)
def test_a_project_with_bad_input_is_refused_with_the_reason(signed_in, make_user, fields, message):
    make_user("bob")
    data = {"name": "Digits", "repository_url": "https://github.com/example/digits", "licence": "MIT", **fields}
    response = signed_in.post(reverse("portal:project_create"), data)
    assert response.status_code == 400
    assert message in form_error(response)
    assert not Project.objects.exists()


@pytest.mark.django_db
def test_an_https_repository_on_an_allowed_host_makes_a_project(signed_in):
    data = {"name": "Digits", "repository_url": "https://github.com/example/digits", "licence": "MIT OR Apache-2.0"}
    response = signed_in.post(reverse("portal:project_create"), data)
    assert response.status_code == 302
    assert Project.objects.get().licence == "MIT OR Apache-2.0"


@pytest.mark.django_db
def test_local_folders_are_refused_where_the_operator_does_not_allow_them(signed_in, make_local_repo, settings):
    settings.CG_ALLOW_LOCAL_REPOSITORIES = False
    form = page(signed_in.get(reverse("portal:project_create")))
    assert "absolute path" not in form
    response = signed_in.post(reverse("portal:project_create"), {"name": "L", "repository_url": str(make_local_repo())})
    assert response.status_code == 400 and "local folders are not accepted" in form_error(response)
    assert not Project.objects.exists()


# --- an uploaded archive ---------------------------------------------------------------------


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.mark.django_db
def test_an_uploaded_zip_becomes_the_project_and_is_scored(signed_in, applicant, open_call, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    upload = SimpleUploadedFile("digits.zip", zipped(REPO_FILES), content_type="application/zip")
    response = signed_in.post(reverse("portal:project_create"), {"name": "Zipped", "archive": upload})
    assert response.status_code == 302
    project = Project.objects.get()
    stored = Path(project.repository_url)
    assert stored.parent == tmp_path / "uploads" and stored.suffix == ".zip" and stored.is_file()

    signed_in.post(reverse("portal:apply", args=[open_call.pk]), application_data(project, action="submit"))
    application = Application.objects.get()
    assert score_snapshot(application.snapshot_id).status == Snapshot.Status.DONE
    partial = page(signed_in.get(reverse("portal:application_reproducibility", args=[application.pk])))
    assert 'data-testid="snapshot-score"' in partial


@pytest.mark.django_db
def test_a_wrong_upload_is_refused_and_nothing_is_kept(signed_in, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    upload = SimpleUploadedFile("digits.exe", b"MZ...", content_type="application/octet-stream")
    response = signed_in.post(reverse("portal:project_create"), {"name": "Exe", "archive": upload})
    assert response.status_code == 400 and "Upload a .zip, .tar.gz or .tar archive" in form_error(response)
    both = SimpleUploadedFile("digits.zip", zipped(REPO_FILES))
    response = signed_in.post(
        reverse("portal:project_create"),
        {"name": "Both", "archive": both, "repository_url": "https://github.com/example/digits"},
    )
    assert response.status_code == 400 and "not both" in form_error(response)
    assert not Project.objects.exists()
    assert not (tmp_path / "uploads").exists() or not any((tmp_path / "uploads").iterdir())


# --- members --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_members_are_invited_by_username_or_email_and_then_see_the_project(client, signed_in, project, make_user):
    bob = make_user("bob")
    members_url = reverse("portal:project_members", args=[project.pk])
    response = signed_in.post(members_url, {"invitees": "BOB@example.org"})
    assert response.status_code == 302 and not project.members.exists()
    assert "bob@example.org" in page(signed_in.get(members_url))  # the invitation, as typed
    bobs = Client()
    bobs.force_login(bob)
    assert bobs.get(reverse("portal:project_detail", args=[project.pk])).status_code == 403
    invitation = project.invitations.get()
    assert bobs.post(reverse("portal:invitation_accept", args=[invitation.token])).status_code == 302
    assert list(project.members.all()) == [bob]
    assert bobs.get(reverse("portal:project_detail", args=[project.pk])).status_code == 200
    response = signed_in.post(members_url, {"invitees": "not an@address"})
    assert response.status_code == 400 and "neither an email address nor a username" in form_error(response)
    assert list(project.members.all()) == [bob] and project.invitations.count() == 1


# --- who may see and do what ------------------------------------------------------------------


@pytest.fixture
def submitted(draft, reviewer):  # type: ignore[no-untyped-def]
    return applications.submit(draft, actor=draft.project.owner)


def _urls(application: Application) -> dict[str, str]:
    return {
        "project": reverse("portal:project_detail", args=[application.project_id]),
        "members": reverse("portal:project_members", args=[application.project_id]),
        "detail": reverse("portal:application_detail", args=[application.pk]),
        "status": reverse("portal:application_reproducibility", args=[application.pk]),
        "edit": reverse("portal:application_edit", args=[application.pk]),
    }


@pytest.mark.django_db
def test_another_applicant_is_refused_everywhere_and_changes_nothing(client, make_user, submitted):
    client.force_login(make_user("eve"))
    for name, url in _urls(submitted).items():
        assert client.get(url).status_code == 403, name
    assert client.post(_urls(submitted)["members"], {"invitees": "eve"}).status_code == 403
    assert client.post(reverse("portal:application_withdraw", args=[submitted.pk])).status_code == 403
    assert client.post(reverse("portal:application_submit", args=[submitted.pk])).status_code == 403
    submitted.refresh_from_db()
    assert submitted.state == S.UNDER_REVIEW and not submitted.project.members.exists()
    assert not submitted.project.invitations.exists()
    assert "Digits" not in page(client.get(reverse("portal:home")))
    assert "Digits" not in page(client.get(reverse("portal:project_list")))


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(client, submitted, open_call):
    urls = [
        *_urls(submitted).values(),
        reverse("portal:project_list"),
        reverse("portal:project_create"),
        reverse("portal:open_calls"),
        reverse("portal:apply", args=[open_call.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url
    response = client.post(reverse("portal:application_withdraw", args=[submitted.pk]))
    assert response["Location"].startswith("/accounts/login/")
    submitted.refresh_from_db()
    assert submitted.state == S.UNDER_REVIEW


@pytest.mark.django_db
def test_the_assigned_reviewer_and_maintainers_read_the_page_without_the_members_controls(
    client, submitted, reviewer, maintainer
):
    for user in (reviewer, maintainer):
        client.force_login(user)
        response = client.get(reverse("portal:application_detail", args=[submitted.pk]))
        assert response.status_code == 200
        assert "Withdraw the application" not in page(response) and "Edit the draft" not in page(response)
        assert client.post(reverse("portal:application_withdraw", args=[submitted.pk])).status_code == 403
    submitted.refresh_from_db()
    assert submitted.state == S.UNDER_REVIEW


@pytest.mark.django_db
def test_only_applicants_create_projects(client, reviewer):
    client.force_login(reviewer)
    assert client.get(reverse("portal:project_create")).status_code == 403
    response = client.post(reverse("portal:project_create"), {"name": "R", "repository_url": "https://github.com/a/b"})
    assert response.status_code == 403 and not Project.objects.exists()


@pytest.mark.django_db
def test_reviewers_history_never_names_the_reviewers(signed_in, submitted, reviewer):
    detail = page(signed_in.get(reverse("portal:application_detail", args=[submitted.pk])))
    history = detail.split('data-testid="history"')[1]
    assert "Under review" in history and "rosa" not in detail and "assigned" not in history


# --- the dashboard's queries ------------------------------------------------------------------


def _applicant_with(make_user, pool, call, n: int, prefix: str):  # type: ignore[no-untyped-def]
    user = make_user(f"{prefix}-owner")
    for i in range(n):
        project = projects.create_project(user, name=f"{prefix} {i}", repository_url="https://github.com/a/b")
        application = applications.save_draft(
            project, call, applications.Plan(pool=pool, requested_seconds=HOUR), actor=user
        )
        allocation = quota.award(project, pool, 10 * HOUR, expires_at=timezone.now() + timedelta(days=30))
        Application.objects.filter(pk=application.pk).update(allocation=allocation)
        quota.submit_job(allocation, quota.JobRequest(entrypoint="train.py", max_runtime_seconds=600))
    return user


@pytest.mark.django_db
def test_the_dashboard_runs_the_same_number_of_queries_whatever_the_data(client, make_user, gpu_pool, open_call):
    counts = []
    for n, prefix in ((1, "small"), (12, "large")):
        client.force_login(_applicant_with(make_user, gpu_pool, open_call, n, prefix))
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("portal:home"))
        assert response.status_code == 200 and f"{prefix} 0" in page(response)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


@pytest.mark.django_db
def test_the_project_and_calls_pages_run_the_same_number_of_queries_whatever_the_data(
    client, make_user, gpu_pool, open_call
):
    counts = []
    for n, prefix in ((1, "small"), (12, "large")):
        user = _applicant_with(make_user, gpu_pool, open_call, n, prefix)
        client.force_login(user)
        project = Project.objects.filter(owner=user).first()
        with CaptureQueriesContext(connection) as queries:
            for url in (
                reverse("portal:project_list"),
                reverse("portal:open_calls"),
                reverse("portal:project_detail", args=[project.pk]),
            ):
                assert client.get(url).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


@pytest.mark.django_db
def test_the_project_list_is_paged(applicant):
    from portal.views.projects import PROJECT_PAGE_SIZE

    Project.objects.bulk_create(
        Project(owner=applicant, name=f"Project {n:03d}", slug=f"p{n}", repository_url=f"https://github.com/o/p{n}")
        for n in range(PROJECT_PAGE_SIZE + 3)
    )
    client = Client()
    client.force_login(applicant)
    first = client.get(reverse("portal:project_list")).content.decode()
    last = client.get(reverse("portal:project_list"), {"page": "2"}).content.decode()
    assert first.count("Project 0") == PROJECT_PAGE_SIZE and "Page 1 of 2" in first
    assert last.count("Project 0") == 3 and "Project 052" in last
