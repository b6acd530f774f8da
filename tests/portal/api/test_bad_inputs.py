"""Every bad input answers 400 with a message saying what is wrong, and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.models import Application, AuditEntry, Project
from portal.services import applications, calls, projects
from reproducibility import services as reproducibility_services
from scheduler import quota
from scheduler.models import AcceleratorPool, LedgerEntry, TrainingJob

HOUR = 3600


@pytest.fixture
def unchanged(db):  # type: ignore[no-untyped-def]
    """Asserts, at the end of the test, that no project, application, job, ledger or audit row appeared or changed."""

    def snapshot() -> tuple:  # type: ignore[type-arg]
        return (
            list(Project.objects.values_list("pk", "name", "repository_url").order_by("pk")),
            list(Application.objects.values_list("pk", "state", "requested_seconds", "workers").order_by("pk")),
            list(TrainingJob.objects.values_list("pk", "state").order_by("pk")),
            LedgerEntry.objects.count(),
            AuditEntry.objects.count(),
        )

    state: dict[str, tuple] = {}  # type: ignore[type-arg]

    def begin() -> None:
        state["before"] = snapshot()

    yield begin
    assert snapshot() == state["before"], "a refused request changed something"


def refused(answer, field: str = "non_field_errors", says: str = ""):  # type: ignore[no-untyped-def]
    assert answer.status_code == 400, answer.content
    body = answer.json()
    assert field in body, body
    assert "detail" not in body, body  # a refusal is keyed by field, as DRF's own validation errors
    assert all(isinstance(messages, list) for messages in body.values()), body
    message = " ".join(body[field])
    assert says in message, message
    return message


@pytest.mark.parametrize(
    ("data", "field", "says"),
    [
        ({"name": "X", "repository_url": "https://evil.example.com/x.git"}, "repository_url", "not allowed"),
        ({"name": "X", "repository_url": "relative/folder"}, "repository_url", "not an absolute path"),
        ({"name": "X", "repository_url": "/tmp/archive.zip"}, "repository_url", "Archives must be uploaded"),
        # Were server errors (found by schemathesis-style inputs): refused now with the reason.
        ({"name": "X", "repository_url": "https://github.com:99999/a/b"}, "repository_url", "malformed"),
        ({"name": "X", "repository_url": "https://[::1/a/b"}, "repository_url", "malformed"),
        ({"name": "X", "repository_url": "/" + "a" * 300}, "repository_url", "not an absolute path to a folder"),
        ({"name": "X", "repository_url": "~nobody-at-all/repo"}, "repository_url", "not an absolute path to a folder"),
        ({"repository_url": "https://github.com/a/b"}, "name", "required"),
        ({"name": "X", "repository_url": "https://github.com/a/b", "members": ["nobody"]}, "members", "invite"),
        ({"name": "X" * 201, "repository_url": "https://github.com/a/b"}, "name", "200"),
    ],
)
def test_a_project_with_a_bad_field_is_refused(api, applicant, unchanged, data, field, says):
    unchanged()
    refused(api(applicant).post("/api/v1/projects/", data, format="json"), field, says)


def test_changing_a_projects_repository_to_a_refused_source_changes_nothing(api, project, applicant, unchanged):
    unchanged()
    answer = api(applicant).patch(
        f"/api/v1/projects/{project.pk}/", {"name": "Renamed", "repository_url": "ftp://example.org/x"}, format="json"
    )
    refused(answer, "repository_url")
    assert set(answer.json()) == {"repository_url"}


def test_a_new_project_is_told_every_reason_at_once_next_to_its_field(api, project, applicant, unchanged):
    # Were one {"detail": ...} naming only the repository: the duplicate name came a round trip later.
    unchanged()
    answer = api(applicant).post(
        "/api/v1/projects/", {"name": "digits", "repository_url": "git@github.com:lab/digits.git"}, format="json"
    )
    refused(answer, "repository_url", "use the https URL, e.g. https://github.com/lab/digits.git")
    refused(answer, "name", "You already have a project named digits")
    assert set(answer.json()) == {"name", "repository_url"}


def test_the_forms_and_the_workflows_refusals_come_in_one_answer(api, project, applicant, unchanged):
    """A licence the form refuses did hide the taken name and the SSH URL until it was fixed."""
    unchanged()
    answer = api(applicant).post(
        "/api/v1/projects/",
        {"name": "DIGITS", "repository_url": "git@github.com:lab/digits.git", "licence": "whatever"},
        format="json",
    )
    refused(answer, "licence", "not on the SPDX licence list")
    refused(answer, "name", "You already have a project named DIGITS")
    refused(answer, "repository_url", "use the https URL")
    assert set(answer.json()) == {"licence", "name", "repository_url"}
    # A field the form refuses is answered once, in the form's words: the workflow does not judge it again
    # (a name with a line break is not also looked up among the account's projects, where one, older than
    # the rule, has it).
    Project.objects.filter(pk=project.pk).update(name="Dig\nits")
    unchanged()  # from here
    answer = api(applicant).post(
        "/api/v1/projects/", {"name": "Dig\nits", "repository_url": "git@github.com:lab/digits.git"}, format="json"
    )
    assert answer.status_code == 400
    assert [len(answer.json()[field]) for field in ("name", "repository_url")] == [1, 1], answer.json()
    assert "one line" in answer.json()["name"][0], answer.json()


def test_renaming_to_a_taken_name_is_refused_at_the_name(api, project, applicant, unchanged):
    projects.create_project(applicant, name="Letters", repository_url=project.repository_url)
    unchanged()
    for method in ("patch", "put"):
        answer = getattr(api(applicant), method)(
            f"/api/v1/projects/{project.pk}/",
            {"name": "LETTERS", "repository_url": project.repository_url},
            format="json",
        )
        refused(answer, "name", "You already have a project named LETTERS")
        assert set(answer.json()) == {"name"}


def test_a_repository_fixed_under_review_is_refused_at_its_field_with_the_name(api, world, make_local_repo, unchanged):
    """The award is for what was reviewed: a direct change is refused at repository_url, saying how to ask;
    a taken name in the same request is refused beside it, at once."""
    projects.create_project(world.owner, name="Letters", repository_url=str(make_local_repo("letters")))
    # The same repository written back (a client sending the whole project) is no change and is accepted.
    same = api(world.owner).patch(
        f"/api/v1/projects/{world.project.pk}/", {"repository_url": world.project.repository_url}, format="json"
    )
    assert same.status_code == 200, same.content
    unchanged()
    answer = api(world.owner).patch(
        f"/api/v1/projects/{world.project.pk}/",
        {"name": "letters", "repository_url": str(make_local_repo("elsewhere"))},
        format="json",
    )
    message = refused(answer, "repository_url", "cannot change while it has an active allocation")
    assert f"/projects/{world.project.pk}/repository/" in message
    refused(answer, "name", "You already have a project named letters")
    assert set(answer.json()) == {"name", "repository_url"}


def test_a_fixed_repository_is_refused_beside_a_bad_licence(api, world, make_local_repo, unchanged):
    unchanged()
    answer = api(world.owner).patch(
        f"/api/v1/projects/{world.project.pk}/",
        {"licence": "whatever", "repository_url": str(make_local_repo("elsewhere"))},
        format="json",
    )
    refused(answer, "licence", "not on the SPDX licence list")
    refused(answer, "repository_url", "cannot change while it has an active allocation")
    assert set(answer.json()) == {"licence", "repository_url"}


def test_a_refusal_about_no_field_of_the_request_is_a_non_field_error(api, world, unchanged):
    """Refusals about the request as a whole (its object's state) answer as DRF's validate() would."""
    assert api(world.owner).post(f"/api/v1/jobs/{world.job.pk}/cancel/").status_code == 200
    unchanged()
    again = api(world.owner).post(f"/api/v1/jobs/{world.job.pk}/cancel/")
    assert again.json() == {"non_field_errors": ["The run already ended (cancelled)."]}


def test_a_member_not_on_the_project_is_refused_at_username(api, project, applicant, unchanged):
    unchanged()
    answer = api(applicant).post(f"/api/v1/projects/{project.pk}/remove-member/", {"username": "ghost"}, format="json")
    assert answer.json() == {"username": ["ghost is not a member of this project."]}


def _application(project, call, changes=None):  # type: ignore[no-untyped-def]
    data = {"project": project.pk, "call": call.pk, "pool": "nvidia-v100", "requested_hours": 10, "workers": 1}
    return {**data, **(changes or {})}


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        # The plan's refusals name their field, as on the page.
        ({"requested_hours": 0}, "requested_hours", "positive number"),
        ({"requested_hours": 5000}, "requested_hours", "more than the call's whole budget"),
        ({"requested_hours": "lots"}, "requested_hours", "Enter a number."),  # the page's words
        ({"workers": 9}, "workers", "do not fit"),
        ({"workers": 0}, "workers", "at least 1"),
        ({"workers": -1}, "workers", "at least 1"),
        ({"pool": "no-such-pool"}, "pool", "no-such-pool"),
        ({"call": 10**30}, "call", "does not exist"),
        ({"project": "mine"}, "project", "Incorrect type"),
    ],
)
def test_a_draft_with_a_bad_plan_is_refused(api, project, open_call, applicant, unchanged, changes, field, says):
    unchanged()
    refused(
        api(applicant).post("/api/v1/applications/", _application(project, open_call, changes), format="json"),
        field,
        says,
    )


def test_a_pool_the_call_does_not_offer_is_refused(api, project, open_call, applicant, unchanged):
    AcceleratorPool.objects.create(name="cpu-small", kind="cpu", capacity=4)
    unchanged()
    answer = api(applicant).post(
        "/api/v1/applications/", _application(project, open_call, {"pool": "cpu-small"}), format="json"
    )
    refused(answer, "pool", says="does not offer cpu-small; it offers nvidia-v100, tpu-v4-8")


def test_a_closed_call_takes_no_drafts(api, project, gpu_pool, applicant, unchanged):
    now = timezone.now()
    closed = calls.open_call(
        title="Last year",
        opens_at=now - timedelta(days=9),
        closes_at=now - timedelta(days=1),
        budgets=[(gpu_pool, HOUR)],
    )
    unchanged()
    refused(
        api(applicant).post("/api/v1/applications/", _application(project, closed), format="json"),
        "call",
        says="it is not open now",
    )


def test_a_draft_of_a_call_that_closed_is_refused_as_a_whole(api, draft, applicant, unchanged):
    """The draft's call is no field of an edit: its closing is a reason about the request as a whole."""
    type(draft.call).objects.filter(pk=draft.call_id).update(closes_at=timezone.now() - timedelta(minutes=1))
    unchanged()
    answer = api(applicant).patch(f"/api/v1/applications/{draft.pk}/", {"workers": 1}, format="json")
    refused(answer, says="it is not open now")
    assert set(answer.json()) == {"non_field_errors"}


def test_a_second_application_of_a_project_to_a_call_is_refused(api, draft, applicant, unchanged):
    unchanged()
    answer = api(applicant).post("/api/v1/applications/", _application(draft.project, draft.call), format="json")
    refused(answer, says=f"already has an application to {draft.call} (id {draft.pk})")


def test_a_submitted_application_is_no_longer_edited_nor_submitted_again(api, draft, applicant, unchanged):
    ada = api(applicant)
    assert ada.post(f"/api/v1/applications/{draft.pk}/submit/").status_code == 200
    unchanged()
    refused(ada.patch(f"/api/v1/applications/{draft.pk}/", {"workers": 1}, format="json"), says="only drafts")
    refused(ada.post(f"/api/v1/applications/{draft.pk}/submit/"), says="cannot become submitted")


def test_a_withdrawn_application_is_not_withdrawn_twice(api, draft, applicant, unchanged):
    ada = api(applicant)
    assert ada.post(f"/api/v1/applications/{draft.pk}/withdraw/").status_code == 200
    unchanged()
    refused(ada.post(f"/api/v1/applications/{draft.pk}/withdraw/"), says="cannot become withdrawn")


def test_decisions_that_the_workflow_refuses(api, world, unchanged):
    boss = api(world.maintainer)
    unchanged()
    url = f"/api/v1/applications/{world.other_application.pk}/decide/"
    refused(
        boss.post(url, {"decision": "award", "awarded_hours": 1}, format="json"), says="draft; it cannot be decided"
    )
    refused(boss.post(url, {"decision": "award"}, format="json"), "awarded_hours", "how many")
    refused(boss.post(url, {"decision": "adopt"}, format="json"), "decision", "adopt is not one of the available")


def test_an_award_over_the_calls_budget_is_refused_at_awarded_hours(  # type: ignore[no-untyped-def]
    api, draft, applicant, reviewer, maintainer, unchanged
):
    """The decision form calls the amount hours, the API awarded_hours: the refusal is under the API's name."""
    draft.call.reviews_per_application = 1  # rosa reviews it: under review, so it can be decided
    draft.call.save()
    submitted = applications.submit(draft, actor=applicant)
    reproducibility_services.score_snapshot(submitted.snapshot_id)
    unchanged()
    answer = api(maintainer).post(
        f"/api/v1/applications/{draft.pk}/decide/",
        {"decision": "award", "awarded_hours": 1500, "held_hours": 10, "message": "Enjoy."},
        format="json",
    )
    refused(answer, "awarded_hours", "would exceed the call's budget on nvidia-v100: 1,000 h of 1,000 h remain")
    assert set(answer.json()) == {"awarded_hours"}


def _job(allocation, changes=None):  # type: ignore[no-untyped-def]
    return {
        "allocation": allocation.pk,
        "entrypoint": "train.py",
        "workers": 1,
        "max_runtime_minutes": 10,
        **(changes or {}),
    }


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"entrypoint": "/etc/passwd"}, "entrypoint", "a path inside the repository"),
        ({"entrypoint": "../outside.py"}, "entrypoint", "a path inside the repository"),
        ({"entrypoint": ""}, "entrypoint", "This field is required."),
        ({"args": "--epochs 5"}, "args", "list"),
        ({"workers": 0}, "workers", "greater than or equal to 1"),
        ({"max_runtime_minutes": 10**9}, "max_runtime_minutes", "less than or equal to"),
        ({"workers": 9}, "non_field_errors", "the nvidia-v100 pool has 8"),
        ({"workers": 8, "max_runtime_minutes": 24 * 60}, "non_field_errors", "Not enough quota"),
        ({"max_runtime_minutes": 25 * 60}, "max_runtime_minutes", "at most 1,440 minutes (24 h)"),
        ({"allocation": 10**30}, "allocation", "does not exist"),
    ],
)
def test_a_job_the_form_or_the_quota_refuses_reserves_nothing(api, world, unchanged, changes, field, says):
    unchanged()
    refused(api(world.owner).post("/api/v1/jobs/", _job(world.allocation, changes), format="json"), field, says)


def test_a_suspended_allocation_takes_no_jobs(api, world, unchanged):
    quota.suspend(world.allocation)
    unchanged()
    answer = api(world.owner).post("/api/v1/jobs/", _job(world.allocation), format="json")
    refused(answer, says="This allocation is suspended")


def test_an_ended_run_is_not_cancelled_again(api, world, unchanged):
    quota.cancel_job(world.job)
    unchanged()
    refused(api(world.owner).post(f"/api/v1/jobs/{world.job.pk}/cancel/"), says="already ended (cancelled)")


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/api/v1/applications/", {"state": "pending"}, "state"),
        ("/api/v1/applications/", {"project": "abc"}, "project"),
        ("/api/v1/applications/", {"call": str(10**30)}, "call"),
        ("/api/v1/allocations/", {"state": "gone"}, "state"),
        ("/api/v1/jobs/", {"allocation": "-1"}, "allocation"),
    ],
)
def test_a_malformed_filter_is_refused(api, world, path, query, field):
    answer = api(world.owner).get(path, query)
    assert answer.status_code == 400
    assert field in answer.json()


def test_a_body_that_is_not_json_is_refused(api, applicant, unchanged):
    unchanged()
    answer = api(applicant).post("/api/v1/projects/", "{not json", content_type="application/json")
    assert answer.status_code == 400
    assert "JSON parse error" in answer.json()["detail"]
