"""Who sees and does what through the API: lists hold only what the user may see; other objects answer 403."""

from __future__ import annotations

import pytest

from portal.models import Application
from scheduler.models import TrainingJob


def ids(answer) -> list[int]:  # type: ignore[no-untyped-def]
    assert answer.status_code == 200, answer.content
    return sorted(row["id"] for row in answer.json()["results"])


def test_another_applicant_lists_none_of_the_owners_objects(api, world):
    eve = api(world.other)
    assert ids(eve.get("/api/v1/projects/")) == [world.other_project.pk]
    assert ids(eve.get("/api/v1/applications/")) == [world.other_application.pk]
    assert ids(eve.get("/api/v1/allocations/")) == []
    assert ids(eve.get("/api/v1/jobs/")) == []
    # Filtering by the owner's objects finds nothing and says nothing.
    assert ids(eve.get("/api/v1/applications/", {"project": world.project.pk})) == []
    assert ids(eve.get("/api/v1/jobs/", {"allocation": world.allocation.pk})) == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/projects/{w.project.pk}/",
        "/api/v1/applications/{w.application.pk}/",
        "/api/v1/snapshots/{w.application.snapshot_id}/",
        "/api/v1/snapshots/{w.application.snapshot_id}/report/",
        "/api/v1/allocations/{w.allocation.pk}/",
        "/api/v1/jobs/{w.job.pk}/",
    ],
)
def test_another_applicant_is_refused_the_owners_objects(api, world, path):
    answer = api(world.other).get(path.format(w=world))
    assert answer.status_code == 403
    assert answer.json()["detail"]


def test_another_applicant_changes_nothing_of_the_owners(api, world):
    eve = api(world.other)
    application, job = world.application, world.job
    refused = [
        eve.patch(f"/api/v1/projects/{world.project.pk}/", {"name": "Mine now"}, format="json"),
        eve.post(f"/api/v1/applications/{application.pk}/withdraw/"),
        eve.post(f"/api/v1/jobs/{job.pk}/cancel/"),
    ]
    assert [answer.status_code for answer in refused] == [403, 403, 403]
    # Naming the owner's allocation or project in a body is refused the same way.
    submitted = eve.post(
        "/api/v1/jobs/", {"allocation": world.allocation.pk, "entrypoint": "train.py", "workers": 1}, format="json"
    )
    assert submitted.status_code == 403
    assert submitted.json()["detail"] == "Only the project's members can launch runs on this allocation."
    applied = eve.post(
        "/api/v1/applications/",
        {"project": world.project.pk, "call": application.call_id, "pool": "nvidia-v100", "requested_hours": 1},
        format="json",
    )
    assert applied.status_code == 403
    assert applied.json()["detail"] == "Only the project's members apply with it."
    world.project.refresh_from_db()
    assert world.project.name == "Digits"
    assert Application.objects.get(pk=application.pk).state == "awarded"
    assert TrainingJob.objects.get(pk=job.pk).state == "queued"
    assert TrainingJob.objects.count() == 1


def test_the_assigned_reviewer_sees_the_application_and_its_runs_but_changes_nothing(api, world):
    rosa = api(world.reviewer)
    assert ids(rosa.get("/api/v1/applications/")) == [world.application.pk]
    assert ids(rosa.get("/api/v1/projects/")) == [world.project.pk]
    assert ids(rosa.get("/api/v1/allocations/")) == [world.allocation.pk]
    assert ids(rosa.get("/api/v1/jobs/")) == [world.job.pk]
    assert rosa.get(f"/api/v1/applications/{world.application.pk}/").status_code == 200
    assert rosa.get(f"/api/v1/snapshots/{world.application.snapshot_id}/").status_code == 200
    assert rosa.patch(f"/api/v1/applications/{world.application.pk}/", {}, format="json").status_code == 403
    assert rosa.post(f"/api/v1/jobs/{world.job.pk}/cancel/").status_code == 403
    launched = rosa.post(
        "/api/v1/jobs/", {"allocation": world.allocation.pk, "entrypoint": "train.py", "workers": 1}, format="json"
    )
    assert launched.status_code == 403
    assert launched.json()["detail"] == "Only the project's members can launch runs on this allocation."
    assert TrainingJob.objects.count() == 1


def test_an_unassigned_reviewer_sees_nothing_of_the_application(api, world):
    ravi = api(world.unassigned)
    assert ids(ravi.get("/api/v1/applications/")) == []
    assert ids(ravi.get("/api/v1/projects/")) == []
    assert ravi.get(f"/api/v1/applications/{world.application.pk}/").status_code == 403
    assert ravi.get(f"/api/v1/snapshots/{world.application.snapshot_id}/report/").status_code == 403


def test_a_maintainer_sees_everything_and_only_a_maintainer_decides(api, world):
    assert ids(api(world.maintainer).get("/api/v1/applications/")) == sorted(
        [world.application.pk, world.other_application.pk]
    )
    decided = api(world.owner).post(
        f"/api/v1/applications/{world.other_application.pk}/decide/", {"decision": "decline", "message": "no"}
    )
    assert decided.status_code == 403


def test_only_applicants_create_projects(api, world, make_local_repo):
    answer = api(world.reviewer).post(
        "/api/v1/projects/", {"name": "Side", "repository_url": str(make_local_repo("side"))}, format="json"
    )
    assert answer.status_code == 403
    assert answer.json()["detail"] == "Only applicants create projects."


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/calls/"),
        ("get", "/api/v1/projects/"),
        ("post", "/api/v1/projects/"),
        ("get", "/api/v1/applications/"),
        ("get", "/api/v1/allocations/"),
        ("get", "/api/v1/jobs/"),
        ("post", "/api/v1/jobs/"),
        ("get", "/api/v1/token/"),
        ("post", "/api/v1/token/"),
    ],
)
def test_anonymous_callers_are_refused(api, db, method, path):
    assert getattr(api(), method)(path).status_code in (401, 403)


def test_a_wrong_token_is_refused(api, db):
    client = api()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/v1/projects/").status_code == 401
