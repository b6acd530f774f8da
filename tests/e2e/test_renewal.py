"""A renewal and a reviewer's decision on a report, in a real browser with a real Celery worker (it scores the
repositories): the award's reviewer approves the project's report from their queue; the project renews the
award in the next round from its requests page; the draft, prefilled from the award's application, shows the
old award; submitted, its reviewer sees the old award's usage and reports beside it; the maintainer awards it
and the renewal request reads approved. Screenshots as in conftest.py, each checked by axe-core."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from portal.models import Application, AwardRequest, ProgressReport
from portal.services import applications, calls, decisions, progress_reports, projects
from reproducibility.models import Snapshot
from scheduler.models import AcceleratorPool

HOUR = 3600


def wait_until(condition: Any, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout} s")
        time.sleep(0.5)


def scored(application: Application) -> bool:
    application.refresh_from_db()
    return Snapshot.objects.filter(pk=application.snapshot_id, status=Snapshot.Status.DONE).exists()


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_reviewer_decides_a_report_and_the_project_renews_its_award(  # type: ignore[no-untyped-def]
    celery_worker,  # before live_server: the database outlives the server's connections at teardown
    live_server,
    visit,
    screenshot,
    applicant,
    maintainer,
    make_user,
    make_local_repo,
):
    reviewer = make_user("rosa", "reviewer", affiliation="Review Institute")
    pool = AcceleratorPool.objects.create(name="cpu-local", kind="cpu", capacity=4)
    now = timezone.now()
    first_round = calls.open_call(
        title="Round one",
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=30),
        budgets=[(pool, 100 * HOUR)],
        actor=maintainer,
        report_months=[1],
    )
    project = projects.create_project(applicant, name="Digits", repository_url=str(make_local_repo()))
    plan = applications.Plan(
        pool=pool, requested_seconds=20 * HOUR, justification="Digits, round one.", entrypoint="train.py"
    )
    application = applications.submit(
        applications.save_draft(project, first_round, plan, actor=applicant), actor=applicant
    )
    wait_until(lambda: scored(application), "the worker scores the repository")
    application = decisions.award(application, 20 * HOUR, actor=maintainer)
    allocation = application.allocation
    report = allocation.reports.get(kind=ProgressReport.Kind.PROGRESS)
    progress_reports.submit(report, actor=applicant, work_done="Trained the digits model to 98%.")
    page = visit.page

    # 1. The award's reviewer finds the report in their queue and approves it.
    visit.sign_in(reviewer)
    page.goto(visit.url(reverse("portal:review_queue")))
    page.get_by_test_id("reports-to-decide").get_by_role("link", name="1-month report of Digits").click()
    form = page.get_by_test_id("report-decide-form")
    expect(form.get_by_label("Release held accelerator-hours with the approval")).to_have_count(0)
    form.get_by_label("Decision").select_option("approve")
    form.get_by_label("Comment to the project").fill("Clear and complete.")
    screenshot(page, "reviewer-decides-a-report")
    form.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_test_id("report-state")).to_have_text("Approved")
    report.refresh_from_db()
    assert (report.state, report.decided_by) == ("approved", reviewer)
    assert visit.problems == []
    visit.sign_out()

    # 2. The next round opens; the project renews its award from the requests page.
    second_round = calls.open_call(
        title="Round two",
        opens_at=timezone.now() - timedelta(minutes=1),
        closes_at=timezone.now() + timedelta(days=30),
        budgets=[(pool, 200 * HOUR)],
        actor=maintainer,
    )
    visit.sign_in(applicant)
    page.goto(visit.url(reverse("portal:allocation_requests", args=[allocation.pk])))
    page.get_by_test_id("renew-link").click()
    form = page.get_by_test_id("renewal-form")
    expect(form.get_by_label("Call to renew in").locator("option")).to_have_text(["Round two"])
    form.get_by_label("Why the project should go on").fill("The model works; round two scales it up.")
    screenshot(page, "renewal-form")
    form.get_by_role("button", name="Draft the renewal").click()
    past = page.get_by_test_id("past-award")
    expect(past).to_contain_text("The model works; round two scales it up.")
    expect(past.get_by_test_id("past-reports")).to_contain_text("Trained the digits model to 98%.")
    renewal = Application.objects.get(call=second_round, project=project)
    assert (renewal.state, renewal.requested_seconds, renewal.justification) == ("draft", 20 * HOUR, plan.justification)
    screenshot(page, "renewal-draft-shows-the-old-award")
    page.get_by_role("button", name="Submit the application").click()
    expect(page.get_by_test_id("application-state")).not_to_have_text("Draft")
    wait_until(lambda: scored(renewal), "the worker scores the renewal's repository")
    assert visit.problems == []
    visit.sign_out()

    # 3. Its reviewer reads the old award beside the application.
    assignment = renewal.assignments.get()
    visit.sign_in(assignment.reviewer)
    page.goto(visit.url(reverse("portal:review", args=[assignment.pk])))
    past = page.get_by_test_id("past-award")
    expect(past.get_by_test_id("past-awarded-used")).to_have_text("20.00 h / 0.00 h")
    expect(past.get_by_test_id("past-reports")).to_contain_text("Approved")
    screenshot(page, "reviewer-sees-the-old-award")
    assert visit.problems == []
    visit.sign_out()

    # 4. The maintainer awards the renewal; the request on the old award reads approved.
    decisions.award(renewal, 30 * HOUR, actor=maintainer, message="Welcome back.")
    visit.sign_in(applicant)
    page.goto(visit.url(reverse("portal:allocation_requests", args=[allocation.pk])))
    expect(page.get_by_test_id("request-state")).to_contain_text("Approved")
    screenshot(page, "renewal-approved-with-its-application")
    assert AwardRequest.objects.get(renewal=renewal).state == AwardRequest.State.APPROVED
    assert visit.problems == []
