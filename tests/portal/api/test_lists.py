"""Lists: filtered by their query parameters, paginated, and never holding another's rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.models import Project
from portal.services import applications, calls, invitations, projects
from scheduler import quota

HOUR = 3600


def results(answer):  # type: ignore[no-untyped-def]
    assert answer.status_code == 200, answer.content
    return answer.json()["results"]


def test_applications_filter_by_call_state_and_project(api, world, gpu_pool, make_local_repo):
    now = timezone.now()
    later = calls.open_call(
        title="Second round",
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=5),
        budgets=[(gpu_pool, 50 * HOUR)],
    )
    second = projects.create_project(world.owner, name="Digits two", repository_url=str(make_local_repo("two")))
    draft = applications.save_draft(second, later, applications.Plan(gpu_pool, HOUR), actor=world.owner)
    ada = api(world.owner)
    assert {a["id"] for a in results(ada.get("/api/v1/applications/"))} == {world.application.pk, draft.pk}
    assert [a["id"] for a in results(ada.get("/api/v1/applications/", {"call": later.pk}))] == [draft.pk]
    assert [a["id"] for a in results(ada.get("/api/v1/applications/", {"state": "draft"}))] == [draft.pk]
    assert [a["id"] for a in results(ada.get("/api/v1/applications/", {"project": world.project.pk}))] == [
        world.application.pk
    ]
    assert results(ada.get("/api/v1/applications/", {"state": "awarded", "call": later.pk})) == []


def test_allocations_filter_by_state_pool_and_project(api, world, tpu_pool):
    expires = timezone.now() + timedelta(days=3)
    tpu = quota.award(world.project, tpu_pool, 10 * HOUR, expires_at=expires)
    quota.suspend(tpu)
    ada = api(world.owner)
    assert {a["id"] for a in results(ada.get("/api/v1/allocations/"))} == {world.allocation.pk, tpu.pk}
    assert [a["id"] for a in results(ada.get("/api/v1/allocations/", {"state": "suspended"}))] == [tpu.pk]
    assert [a["id"] for a in results(ada.get("/api/v1/allocations/", {"pool": "nvidia-v100"}))] == [world.allocation.pk]
    assert len(results(ada.get("/api/v1/allocations/", {"project": world.project.pk}))) == 2
    assert results(ada.get("/api/v1/allocations/", {"project": world.other_project.pk})) == []
    row = results(ada.get("/api/v1/allocations/", {"pool": "tpu-v4-8"}))[0]
    assert (row["awarded_hours"], row["remaining_seconds"], row["state"]) == (10, 10 * HOUR, "suspended")


def test_jobs_filter_by_allocation_and_state_and_paginate(api, world):
    for _ in range(4):
        quota.submit_job(world.allocation, quota.JobRequest(entrypoint="train.py", max_runtime_seconds=60))
    quota.cancel_job(world.job)
    ada = api(world.owner)
    assert [j["id"] for j in results(ada.get("/api/v1/jobs/", {"state": "cancelled"}))] == [world.job.pk]
    assert len(results(ada.get("/api/v1/jobs/", {"state": "queued", "allocation": world.allocation.pk}))) == 4

    first = ada.get("/api/v1/jobs/", {"page_size": 2}).json()
    assert (first["count"], len(first["results"]), first["previous"]) == (5, 2, None)
    second = ada.get(first["next"]).json()
    third = ada.get(second["next"]).json()
    assert third["next"] is None
    seen = [j["id"] for page in (first, second, third) for j in page["results"]]
    assert len(seen) == len(set(seen)) == 5
    assert ada.get("/api/v1/jobs/", {"page": 9}).status_code == 404


def test_a_page_holds_at_most_two_hundred_rows(api, world):
    answer = api(world.owner).get("/api/v1/jobs/", {"page_size": 10_000})
    assert answer.status_code == 200
    assert answer.json()["count"] == 1


def test_calls_list_only_open_calls(api, world, gpu_pool):
    now = timezone.now()
    closed = calls.open_call(
        title="Closed round",
        opens_at=now - timedelta(days=10),
        closes_at=now - timedelta(days=1),
        budgets=[(gpu_pool, HOUR)],
    )
    ada = api(world.owner)
    listed = results(ada.get("/api/v1/calls/"))
    assert [c["title"] for c in listed] == ["Open compute 2027"]
    gpu = next(p for p in listed[0]["pools"] if p["pool"] == "nvidia-v100")
    assert (gpu["budget_hours"], gpu["remaining_hours"]) == (1000, 900)  # 100 h awarded to ada
    assert ada.get(f"/api/v1/calls/{closed.pk}/").status_code == 404


def _grow(world, make_local_repo, open_call, gpu_pool, times: int) -> None:  # type: ignore[no-untyped-def]
    """More of everything: projects with members, drafts, allocations and jobs."""
    for _ in range(times):
        name = f"grown-{Project.objects.count()}"
        project = projects.create_project(world.owner, name=name, repository_url=str(make_local_repo(name)))
        invitations.accept(invitations.invite(project, world.other.username, actor=world.owner), actor=world.other)
        applications.save_draft(project, open_call, applications.Plan(gpu_pool, HOUR), actor=world.owner)
        allocation = quota.award(project, gpu_pool, 10 * HOUR, expires_at=timezone.now() + timedelta(days=3))
        for _ in range(2):
            quota.submit_job(allocation, quota.JobRequest(entrypoint="train.py", max_runtime_seconds=60))


@pytest.mark.parametrize("who", ["owner", "maintainer"])
def test_a_lists_query_count_does_not_grow_with_its_rows(api, world, make_local_repo, open_call, gpu_pool, who):
    client = api(getattr(world, who))
    paths = ["/api/v1/calls/", "/api/v1/projects/", "/api/v1/applications/", "/api/v1/allocations/", "/api/v1/jobs/"]

    def queries() -> dict[str, int]:
        counts = {}
        for path in paths:
            with CaptureQueriesContext(connection) as captured:
                assert client.get(path).status_code == 200
            counts[path] = len(captured)
        return counts

    _grow(world, make_local_repo, open_call, gpu_pool, 1)
    small = queries()
    _grow(world, make_local_repo, open_call, gpu_pool, 4)
    assert queries() == small
