"""An applicant's CI does through the API what the applicant does on the pages."""

from __future__ import annotations

from reproducibility import services as reproducibility_services
from reproducibility.models import Snapshot

HOUR = 3600


def test_an_applicants_ci_applies_follows_scoring_and_runs_jobs_with_a_token(
    api, make_user, open_call, make_local_repo, maintainer, reviewer, client
):
    ada = make_user("ada", "applicant", affiliation="Open Digits Lab")
    # ada signs in on the portal once and makes a token for her CI.
    client.force_login(ada)
    key = client.post("/api/v1/token/").json()["key"]
    ci = api()
    ci.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    calls = ci.get("/api/v1/calls/").json()
    assert [c["title"] for c in calls["results"]] == ["Open compute 2027"]
    gpu = next(p for p in calls["results"][0]["pools"] if p["pool"] == "nvidia-v100")
    assert gpu["remaining_hours"] == 1000
    assert next(c["name"] for c in calls["results"][0]["rubric"]) == "Impact"

    created = ci.post(
        "/api/v1/projects/",
        {"name": "Digits", "repository_url": str(make_local_repo()), "licence": "Apache-2.0"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    project = created.json()
    assert project["owner"] == "ada"

    drafted = ci.post(
        "/api/v1/applications/",
        {
            "project": project["id"],
            "call": open_call.pk,
            "pool": "nvidia-v100",
            "requested_hours": 100,
            "entrypoint": "python train.py --epochs 5",
            "workers": 2,
        },
        format="json",
    )
    assert drafted.status_code == 201, drafted.json()
    application = drafted.json()
    assert (application["state"], application["requested_seconds"], application["snapshot"]) == (
        "draft",
        100 * HOUR,
        None,
    )
    url = f"/api/v1/applications/{application['id']}/"
    edited = ci.patch(url, {"justification": "Two workers, three runs."}, format="json")
    assert edited.status_code == 200, edited.json()
    assert (edited.json()["justification"], edited.json()["workers"]) == ("Two workers, three runs.", 2)

    submitted = ci.post(f"{url}submit/")
    assert submitted.status_code == 200, submitted.json()
    assert submitted.json()["state"] == "under_review"  # rosa was assigned
    snapshot = submitted.json()["snapshot"]
    assert (snapshot["status"], snapshot["summary"], snapshot["report"]) == ("queued", "scoring…", None)
    assert ci.get(f"/api/v1/snapshots/{snapshot['id']}/report/").status_code == 404

    # The scoring worker's work, done here in the test's transaction.
    reproducibility_services.score_snapshot(snapshot["id"])
    scored = ci.get(url).json()["snapshot"]
    assert scored["summary"] == "scored"
    assert 0 <= scored["score"] <= 100
    assert scored["level"] in {"none", "bronze", "silver", "gold"}
    report = ci.get(scored["report"]).json()
    assert report["score"] == scored["score"]
    assert {"id", "status", "remediation"} <= set(report["checks"][0])

    awarded = api(maintainer).post(f"{url}decide/", {"decision": "award", "awarded_hours": 100}, format="json")
    assert awarded.status_code == 200, awarded.json()
    allocation_id = ci.get(url).json()["allocation"]

    allocations = ci.get("/api/v1/allocations/", {"state": "active"}).json()
    assert allocations["count"] == 1
    balances = allocations["results"][0]
    assert balances["id"] == allocation_id
    assert (balances["awarded_seconds"], balances["remaining_hours"], balances["reserved_seconds"]) == (
        100 * HOUR,
        100,
        0,
    )

    launched = ci.post(
        "/api/v1/jobs/",
        {
            "allocation": allocation_id,
            "entrypoint": "train.py",
            "args": ["--epochs", "5", "--note", "two words"],
            "workers": 2,
            "max_runtime_minutes": 30,
        },
        format="json",
    )
    assert launched.status_code == 201, launched.json()
    job = launched.json()
    assert (job["state"], job["args"], job["reserved_seconds"]) == (
        "queued",
        ["--epochs", "5", "--note", "two words"],
        2 * 30 * 60,
    )
    assert job["queue_position"] == 1
    assert job["events"][0]["to_state"] == "queued"
    status = ci.get(f"/api/v1/jobs/{job['id']}/").json()
    assert status["state"] == "queued"
    assert ci.get(f"/api/v1/allocations/{allocation_id}/").json()["reserved_seconds"] == 2 * 30 * 60

    cancelled = ci.post(f"/api/v1/jobs/{job['id']}/cancel/")
    assert cancelled.status_code == 200, cancelled.json()
    assert cancelled.json()["state"] == "cancelled"
    after = ci.get(f"/api/v1/allocations/{allocation_id}/").json()
    assert (after["reserved_seconds"], after["used_seconds"], after["remaining_hours"]) == (0, 0, 100)
    assert [j["state"] for j in ci.get("/api/v1/jobs/", {"allocation": allocation_id}).json()["results"]] == [
        "cancelled"
    ]


def test_a_failed_fetch_shows_its_error_on_the_application(api, project, draft, applicant, settings):
    ci = api(applicant)
    ci.post(f"/api/v1/applications/{draft.pk}/submit/")
    draft.refresh_from_db()
    settings.CG_ALLOW_LOCAL_REPOSITORIES = False  # the worker refuses the folder it was given
    reproducibility_services.score_snapshot(draft.snapshot_id)
    snapshot = ci.get(f"/api/v1/applications/{draft.pk}/").json()["snapshot"]
    assert (snapshot["status"], snapshot["summary"]) == (Snapshot.Status.FAILED, "failed")
    assert "Local folders are not accepted" in snapshot["error"]
    refused = ci.get(f"/api/v1/snapshots/{snapshot['id']}/report/")
    assert refused.status_code == 404
    assert "failed" in refused.json()["detail"]


def test_an_applicant_withdraws_an_application_with_a_reason(api, draft, applicant):
    answer = api(applicant).post(f"/api/v1/applications/{draft.pk}/withdraw/", {"reason": "Not ready"}, format="json")
    assert answer.status_code == 200
    assert (answer.json()["state"], answer.json()["decision_message"]) == ("withdrawn", "Not ready")
