"""The pages beside the golden path pass axe-core's audit too, as each role sees them (the golden path's
own pages are audited at each of its screenshots: see conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from reproducibility import services as reproducibility_services
from scheduler import quota
from tests.e2e.conftest import accessibility_problems

HOUR = 3600


def test_the_audit_finds_what_a_screen_reader_would_trip_on(browser):  # type: ignore[no-untyped-def]
    page = browser.new_page()
    page.set_content('<html><body><img src="x.png"><a href="/x"></a><input></body></html>')
    found = "\n".join(accessibility_problems(page))
    for rule in ("image-alt", "link-name", "label", "html-has-lang", "document-title"):
        assert f": {rule} (" in found
    page.set_content('<html lang="en"><title>Fine</title><main><h1>Fine</h1><p>Text.</p></main></html>')
    assert accessibility_problems(page) == []


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_every_role_s_other_pages_pass_the_accessibility_audit(  # type: ignore[no-untyped-def]
    live_server, visit, screenshot, applicant, reviewer, maintainer, draft, gpu_pool
):
    allocation = quota.award(draft.project, gpu_pool, 10 * HOUR, expires_at=timezone.now() + timedelta(days=30))
    job = quota.submit_job(
        allocation,
        quota.JobRequest(entrypoint="train.py", workers=1, accelerators_per_worker=1, max_runtime_seconds=HOUR),
        actor=applicant,
    )
    snapshot = reproducibility_services.score_snapshot(
        reproducibility_services.request_snapshot(draft.project.repository_url, requested_by=applicant).pk
    )
    snapshot.reports.update(checker_version="1.0.0")  # the report page then offers a re-score
    for path in (reverse("checks:index"), reverse("checks:detail", args=["global-seed"])):  # public pages
        visit.page.goto(visit.url(path))
        screenshot(visit.page, f"anonymous-{path.strip('/').replace('/', '-')}")
    pages = {
        applicant: [
            reverse("portal:project_list"),
            reverse("portal:project_detail", args=[draft.project.pk]),
            reverse("portal:project_create"),
            reverse("portal:project_members", args=[draft.project.pk]),
            reverse("portal:open_calls"),
            reverse("portal:application_edit", args=[draft.pk]),
            reverse("portal:application_detail", args=[draft.pk]),
            reverse("scheduler:allocation_list"),
            reverse("scheduler:allocation_detail", args=[allocation.pk]),
            reverse("scheduler:job_list"),
            reverse("scheduler:job_detail", args=[job.pk]),
            reverse("reproducibility:report", args=[snapshot.pk]),
        ],
        reviewer: [reverse("portal:home"), reverse("portal:review_queue")],
        maintainer: [
            reverse("portal:home"),
            reverse("portal:call_list"),
            reverse("portal:call_create"),
            reverse("portal:call_dashboard", args=[draft.call.pk]),
            reverse("portal:call_audit", args=[draft.call.pk]),
            reverse("scheduler:pool_list"),
            reverse("scheduler:queue"),
            reverse("scheduler:pool_queue", args=[gpu_pool.pk]),
            reverse("scheduler:job_list"),
        ],
    }
    for user, paths in pages.items():
        visit.sign_in(user)
        for path in paths:
            visit.page.goto(visit.url(path))
            screenshot(visit.page, f"{user.username}-{path.strip('/').replace('/', '-')}")
        visit.sign_out()
    assert visit.problems == []
