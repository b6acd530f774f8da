"""The API of the grant's life after the award (issue 17): progress reports (list, read, submit, decide),
award requests (extension, supplement, renewal: create, decide), notices (read), tranche release, reclaim and
revocation. Lists are filtered and paginated like the others; each action checks the object's permissions;
a refused request answers 400 with the reason and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.forms.progress_reports import ONLY_MAINTAINERS_RELEASE
from portal.models import AwardRequest, BudgetEntry, ProgressReport
from portal.services import award_terms, calls, decisions, progress_reports, renewals, usage
from scheduler import quota
from scheduler.models import Allocation

HOUR = 3600
pytestmark = pytest.mark.django_db


def results(answer):  # type: ignore[no-untyped-def]
    assert answer.status_code == 200, answer.content
    return answer.json()["results"]


def _final(world):  # type: ignore[no-untyped-def]
    return world.allocation.reports.get(kind=ProgressReport.Kind.FINAL)


@pytest.fixture
def later_call(world, gpu_pool):  # type: ignore[no-untyped-def]
    now = timezone.now()
    return calls.open_call(
        title="Second round",
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=30),
        budgets=[(gpu_pool, 500 * HOUR)],
    )


def test_reports_are_listed_filtered_and_paginated_for_those_who_see_the_allocation(api, world):
    report = _final(world)
    ada = api(world.owner)
    rows = results(ada.get("/api/v1/reports/"))
    assert [(r["id"], r["kind"], r["state"], r["title"]) for r in rows] == [(report.pk, "final", "due", "Final report")]
    assert results(ada.get("/api/v1/reports/", {"state": "submitted"})) == []
    assert len(results(ada.get("/api/v1/reports/", {"allocation": world.allocation.pk, "kind": "final"}))) == 1
    assert ada.get("/api/v1/reports/", {"state": "lost"}).status_code == 400
    assert ada.get("/api/v1/reports/", {"page_size": 1}).json()["count"] == 1
    assert results(api(world.other).get("/api/v1/reports/")) == []
    assert results(api(world.unassigned).get("/api/v1/reports/")) == []
    assert len(results(api(world.reviewer).get("/api/v1/reports/"))) == 1  # the assigned reviewer reads it
    assert api(world.other).get(f"/api/v1/reports/{report.pk}/").status_code == 403


def test_a_report_is_submitted_through_the_form_and_decided_by_the_awards_reviewer(api, world):
    report = _final(world)
    ada = api(world.owner)
    url = f"/api/v1/reports/{report.pk}/"
    empty = ada.post(url + "submit/", {"work_done": "  "}, format="json")
    assert empty.status_code == 400 and "work_done" in empty.json()
    stranger_run = quota.submit_job(
        quota.award(world.other_project, world.allocation.pool, HOUR, expires_at=timezone.now() + timedelta(days=1)),
        quota.JobRequest(entrypoint="train.py", max_runtime_seconds=60),
    )
    foreign = ada.post(url + "submit/", {"work_done": "x", "runs": [stranger_run.pk]}, format="json")
    assert foreign.status_code == 400 and "runs" in foreign.json()
    assert api(world.other).post(url + "submit/", {"work_done": "x"}, format="json").status_code == 403
    report.refresh_from_db()
    assert report.state == "due"

    done = ada.post(url + "submit/", {"work_done": "Trained.", "runs": [world.job.pk]}, format="json")
    assert done.status_code == 200, done.content
    assert (done.json()["state"], done.json()["runs"], done.json()["submitted_by"]) == (
        "submitted",
        [world.job.pk],
        "ada",
    )

    assert ada.post(url + "decide/", {"decision": "approve"}, format="json").status_code == 403
    rosa = api(world.reviewer)
    refused = rosa.post(url + "decide/", {"decision": "approve", "release_hours": 1}, format="json")
    assert refused.status_code == 400 and ONLY_MAINTAINERS_RELEASE in str(refused.json())
    no_comment = rosa.post(url + "decide/", {"decision": "return"}, format="json")
    assert no_comment.status_code == 400 and progress_reports.NEEDS_COMMENT in str(no_comment.json())
    approved = rosa.post(url + "decide/", {"decision": "approve", "comment": "Good."}, format="json")
    assert approved.status_code == 200 and approved.json()["decided_by"] == "rosa"
    again = api(world.maintainer).post(url + "decide/", {"decision": "approve"}, format="json")
    assert again.status_code == 400 and "only a submitted report is decided" in again.json()["non_field_errors"][0]


def test_extension_and_supplement_requests_are_asked_and_decided(api, world):
    ada, maintainer = api(world.owner), api(world.maintainer)
    allocation = world.allocation
    missing = ada.post("/api/v1/award-requests/", {"allocation": allocation.pk, "kind": "extension", "reason": "x"})
    assert missing.status_code == 400 and missing.json() == {"new_end": ["Say when the allocation should end instead."]}
    new_end = (allocation.expires_at + timedelta(days=30)).isoformat()
    asked = ada.post(
        "/api/v1/award-requests/",
        {"allocation": allocation.pk, "kind": "extension", "new_end": new_end, "reason": "Late data."},
        format="json",
    )
    assert asked.status_code == 201, asked.content
    supplement = ada.post(
        "/api/v1/award-requests/",
        {"allocation": allocation.pk, "kind": "supplement", "hours": "80", "reason": "A second seed."},
        format="json",
    )
    assert supplement.status_code == 201 and supplement.json()["hours"] == 80
    stranger = api(world.other).post(
        "/api/v1/award-requests/",
        {"allocation": allocation.pk, "kind": "supplement", "hours": "1", "reason": "mine"},
        format="json",
    )
    assert stranger.status_code == 403
    assert [r["kind"] for r in results(ada.get("/api/v1/award-requests/", {"kind": "supplement"}))] == ["supplement"]
    assert results(api(world.other).get("/api/v1/award-requests/")) == []

    url = f"/api/v1/award-requests/{supplement.json()['id']}/decide/"
    assert ada.post(url, {"decision": "approve"}, format="json").status_code == 403
    beyond = maintainer.post(url, {"decision": "approve"}, format="json")
    assert beyond.status_code == 400 and "at most half the award" in beyond.json()["override_reason"][0]
    approved = maintainer.post(url, {"decision": "approve", "override_reason": "Exceptional."}, format="json")
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    allocation.refresh_from_db()
    assert allocation.awarded == 180 * HOUR
    extension = f"/api/v1/award-requests/{asked.json()['id']}/decide/"
    declined = maintainer.post(extension, {"decision": "decline"}, format="json")
    assert declined.status_code == 400 and "Tell the project why" in str(declined.json())


def test_a_renewal_is_asked_through_the_api_and_decided_with_its_application(api, world, later_call):
    ada = api(world.owner)
    body = {"allocation": world.allocation.pk, "kind": "renewal", "reason": "Go on."}
    assert ada.post("/api/v1/award-requests/", body, format="json").json() == {
        "call": ["Say which open call the renewal applies to."]
    }
    own_call = ada.post("/api/v1/award-requests/", {**body, "call": world.application.call_id}, format="json")
    assert own_call.status_code == 400 and "renew it in a later call" in own_call.json()["call"][0]
    made = ada.post("/api/v1/award-requests/", {**body, "call": later_call.pk}, format="json")
    assert made.status_code == 201, made.content
    renewal = made.json()["renewal"]
    assert ada.get(f"/api/v1/applications/{renewal}/").json()["state"] == "draft"
    maintainer = api(world.maintainer)
    url = f"/api/v1/award-requests/{made.json()['id']}/decide/"
    approve = maintainer.post(url, {"decision": "approve"}, format="json")
    assert approve.status_code == 400 and f"decide application {renewal}" in approve.json()["non_field_errors"][0]
    declined = maintainer.post(url, {"decision": "decline", "message": "New projects only."}, format="json")
    assert declined.status_code == 200 and declined.json()["state"] == "declined"
    assert ada.get(f"/api/v1/applications/{renewal}/").json()["state"] == "withdrawn"
    assert (
        api(world.maintainer)
        .post("/api/v1/award-requests/", {**body, "call": later_call.pk}, format="json")
        .status_code
        == 403
    )  # a renewal is the project's members'


def test_maintainers_reclaim_and_revoke_and_the_project_reads_its_notices(api, world):
    allocation = world.allocation
    ada, maintainer = api(world.owner), api(world.maintainer)
    url = f"/api/v1/allocations/{allocation.pk}/"
    for action, body in (("release-tranche", {"hours": 1, "reason": "x"}), ("reclaim", {"hours": 1, "reason": "x"})):
        assert ada.post(url + action + "/", body, format="json").status_code == 403
    no_tranche = maintainer.post(url + "release-tranche/", {"hours": 1, "reason": "Report approved."}, format="json")
    assert no_tranche.status_code == 400
    assert "held accelerator-hours can be released" in no_tranche.json()["non_field_errors"][0]
    not_idle = maintainer.post(url + "reclaim/", {"hours": 1, "reason": "Idle."}, format="json")
    assert not_idle.status_code == 400 and not_idle.json() == {"non_field_errors": [usage.NOT_IDLE]}
    assert maintainer.post(url + "reclaim/", {"hours": 0, "reason": "x"}, format="json").status_code == 400

    Allocation.objects.filter(pk=allocation.pk).update(
        starts_at=timezone.now() - timedelta(days=60), expires_at=timezone.now() + timedelta(days=20)
    )
    award_terms.sweep()  # the 30-day notice (the queued run is recent: no low-usage notice)
    notices = results(ada.get(url + "notices/"))
    assert [n["kind"] for n in notices] == ["expiry_30"] and notices[0]["kind_label"] == "30 days before the end"
    assert api(world.other).get(url + "notices/").status_code == 403

    assert ada.post(url + "revoke/", {"reason": "mine"}, format="json").status_code == 403
    assert maintainer.post(url + "revoke/", {"reason": ""}, format="json").status_code == 400
    revoked = maintainer.post(url + "revoke/", {"reason": "Terms broken."}, format="json")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert BudgetEntry.objects.filter(kind="revoke", allocation=allocation).exists()


def test_a_maintainer_releases_a_held_tranche_through_the_api(api, world, make_local_repo, open_call, gpu_pool):
    from portal.services import applications, projects

    project = projects.create_project(world.owner, name="Tranches", repository_url=str(make_local_repo("t")))
    application = applications.submit(
        applications.save_draft(project, open_call, applications.Plan(gpu_pool, 10 * HOUR), actor=world.owner),
        actor=world.owner,
    )
    application = decisions.award(application, 10 * HOUR, actor=world.maintainer, held_seconds=4 * HOUR)
    url = f"/api/v1/allocations/{application.allocation_id}/release-tranche/"
    too_much = api(world.maintainer).post(url, {"hours": 5, "reason": "Report approved."}, format="json")
    assert too_much.status_code == 400
    released = api(world.maintainer).post(url, {"hours": 4, "reason": "Report approved."}, format="json")
    assert released.status_code == 200 and released.json()["held_seconds"] == 0
    assert released.json()["remaining_hours"] == 10


def test_renewal_calls_exclude_the_awards_own(world, later_call):
    assert list(renewals.renewal_calls(world.allocation)) == [later_call]
    assert not AwardRequest.objects.exists()


@pytest.mark.parametrize("who", ["owner", "maintainer"])
def test_the_lists_query_count_does_not_grow_with_their_rows(api, world, gpu_pool, who):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api(getattr(world, who))
    paths = ["/api/v1/reports/", "/api/v1/award-requests/", f"/api/v1/allocations/{world.allocation.pk}/notices/"]

    def grow(count: int) -> None:
        for _ in range(count):
            allocation = quota.award(world.project, gpu_pool, 10 * HOUR, expires_at=timezone.now() + timedelta(days=3))
            ProgressReport.objects.create(allocation=allocation, kind="final", due_at=allocation.expires_at)
            job = quota.submit_job(allocation, quota.JobRequest(entrypoint="train.py", max_runtime_seconds=60))
            report = ProgressReport.objects.create(
                allocation=allocation, kind="progress", months_after_award=1, due_at=timezone.now()
            )
            progress_reports.submit(report, actor=world.owner, work_done="x", runs=[job])
            # Made directly: the services take requests only on awards made through a call.
            AwardRequest.objects.create(
                allocation=allocation, kind="supplement", seconds=HOUR, reason="x", requested_by=world.owner
            )

    def queries() -> dict[str, int]:
        counts = {}
        for path in paths:
            with CaptureQueriesContext(connection) as captured:
                assert client.get(path).status_code == 200
            counts[path] = len(captured)
        return counts

    grow(1)
    small = queries()
    grow(4)
    assert queries() == small
