"""The golden path in a real browser, by clicking: an applicant applies, a real Celery worker scores the
repository, the assigned reviewers review beside the report, a maintainer awards, the applicant sees the
allocation. Each step checks what the page shows, what the database holds, and that no page logged an
error or failed a request; each step leaves a numbered screenshot (see conftest.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from portal.models import Application, CallPool, Project, Review, ReviewAssignment
from scheduler.models import Allocation, LedgerEntry

HOUR = 3600
S = Application.State
CALL = "Open compute 2027"  # tests/portal/conftest.py's open_call


def review_by_clicking(visit: Any, screenshot: Any, reviewer: Any, score: int, hours: int, report: Any) -> None:
    """The reviewer finds the application in the queue and scores every criterion beside the report."""
    page = visit.page
    visit.sign_in(reviewer)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reviews").click()
    expect(page.get_by_role("heading", name="Your reviews", level=1)).to_be_visible()
    row = page.get_by_test_id("review-queue").get_by_role("row").filter(has_text="Digits")
    expect(row).to_contain_text("to do")
    expect(row).to_contain_text(f"{report.score:.0f}/100")
    expect(row).to_contain_text("100.00 h of nvidia-v100")
    screenshot(page, f"review-queue-{reviewer.username}")

    row.get_by_role("link", name="Digits").click()
    expect(page.get_by_role("heading", name="Review: Digits", level=1)).to_be_visible()
    aside = page.get_by_role("complementary", name="Reproducibility")  # the report beside the form
    expect(aside.get_by_test_id("report-score")).to_contain_text(f"Score {report.score:.0f}/100")
    expect(aside.get_by_role("link", name="Read the full report")).to_be_visible()
    form = page.get_by_test_id("review-form")
    for name in ("Impact", "Technical merit", "Feasibility", "Reproducibility"):
        form.get_by_role("group", name=name).get_by_label(str(score), exact=True).check()
    form.get_by_label("Comment to the applicant").fill(f"A clear plan; pin the data ({score} of 5).")
    form.get_by_label("Confidential comment to the maintainers").fill(f"Between us, from {reviewer.username}.")
    form.get_by_role("group", name="Recommendation").get_by_label("Award", exact=True).check()
    form.get_by_label("Recommended accelerator-hours").fill(str(hours))
    screenshot(page, f"review-form-{reviewer.username}")

    form.get_by_role("button", name="Submit the review").click()
    expect(page.get_by_role("status")).to_have_text("Your review is submitted. Thank you.")
    submitted = page.get_by_test_id("submitted-review")
    expect(submitted).to_contain_text(f"weighted score {score:.2f}/5")
    expect(submitted).to_contain_text(f"recommendation Award, {hours:.2f} accelerator-hours")
    expect(page.get_by_test_id("assignment-state")).to_have_text("Submitted")
    screenshot(page, f"review-submitted-{reviewer.username}")
    review = Review.objects.get(assignment__reviewer=reviewer)
    assert review.assignment.state == ReviewAssignment.State.SUBMITTED
    assert review.weighted_score == score and review.recommendation == Review.Recommendation.AWARD
    assert review.recommended_seconds == hours * HOUR and review.scores.count() == 4
    assert visit.problems == []
    visit.sign_out()


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_applicant_reviewers_and_a_maintainer_take_an_application_from_repository_to_award_by_clicking(  # type: ignore[no-untyped-def]
    celery_worker,  # before live_server: the database outlives the server's connections at teardown
    live_server,
    visit,
    screenshot,
    hold_queue,
    applicant,
    reviewer,
    maintainer,
    make_user,
    open_call,
    gpu_pool,
    make_local_repo,
):
    raj = make_user("raj", "reviewer", affiliation="Raj University")
    olga = make_user("olga", "reviewer", affiliation="Open Digits Lab")  # works for the project: a conflict
    repo = make_local_repo()
    page = visit.page

    # 1. The applicant creates a project from a local repository and applies to the open call.
    visit.sign_in(applicant)
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    expect(page.get_by_text("No projects yet.")).to_be_visible()
    screenshot(page, "applicant-dashboard")

    # Links that look like buttons (class "button") are still links to assistive technology.
    page.get_by_role("link", name="New project").click()
    page.get_by_label("Name").fill("Digits")
    page.get_by_label("Repository", exact=True).fill(str(repo))
    page.get_by_label("Licence (SPDX identifier)").fill("Apache-2.0")
    page.get_by_label("Description").fill("Handwritten digits, reproducibly.")
    page.get_by_label("Organisation").fill("Open Digits Lab")
    screenshot(page, "project-form")
    page.get_by_role("button", name="Create the project").click()
    expect(page.get_by_role("heading", name="Digits", level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Project Digits created")
    project = Project.objects.get()
    assert project.owner == applicant and project.repository_url == str(repo.resolve())
    assert project.organisation == "Open Digits Lab" and project.licence == "Apache-2.0"
    screenshot(page, "project")

    page.get_by_role("link", name="Apply to an open call").click()
    call_card = page.get_by_role("article", name=CALL)
    expect(call_card.get_by_test_id("remaining-nvidia-v100")).to_have_text("1,000.00")
    expect(call_card).to_contain_text("Technical merit")
    screenshot(page, "open-calls")

    call_card.get_by_role("link", name=f"Apply to {CALL}").click()
    expect(page.get_by_role("heading", name=f"Apply to {CALL}", level=1)).to_be_visible()
    expect(page.get_by_label("Project")).to_have_value(str(project.pk))
    page.get_by_label("Accelerator pool").select_option("nvidia-v100")
    page.get_by_label("Requested accelerator-hours").fill("100")
    page.get_by_label("Justification").fill("Train the digits model across two workers.")
    training_plan = page.get_by_role("group", name="Training plan")
    training_plan.get_by_label("Training entrypoint").fill("python train.py --epochs 5")
    training_plan.get_by_label(re.compile(r"^Workers\b")).fill("2")  # not "Accelerators per worker"
    training_plan.get_by_label("Accelerators per worker").fill("1")
    training_plan.get_by_label("Expected runs").fill("3")
    screenshot(page, "application-form")

    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status")).to_contain_text("Draft saved.")
    expect(page.get_by_test_id("application-state")).to_have_text("Draft")
    application = Application.objects.get()
    assert application.state == S.DRAFT and application.project == project and application.pool == gpu_pool
    assert application.requested_seconds == 100 * HOUR
    assert (application.workers, application.accelerators_per_worker, application.expected_runs) == (2, 1, 3)
    assert application.entrypoint == "python train.py --epochs 5"
    screenshot(page, "application-draft")
    assert visit.problems == []

    # Submitting enqueues the scoring for the real worker; holding its queue shows the page while it waits.
    reproducibility = page.get_by_test_id("reproducibility")
    with hold_queue("scoring"):
        page.get_by_role("button", name="Submit the application").click()
        expect(page.get_by_role("status")).to_contain_text("Application submitted")
        expect(page.get_by_test_id("application-state")).to_have_text("Under review")
        expect(page.get_by_test_id("snapshot-scoring")).to_have_text("Scoring… (the snapshot is queued)")
        status_url = reverse("portal:application_reproducibility", args=[application.pk])
        expect(reproducibility).to_have_attribute("hx-get", status_url)  # htmx polls until it is scored
        expect(page.get_by_role("button", name="Submit the application")).to_have_count(0)
        application.refresh_from_db()
        assert application.state == S.UNDER_REVIEW and application.snapshot is not None
        assert application.snapshot.status == "queued"
        assigned = set(application.assignments.values_list("reviewer__username", flat=True))
        assert assigned == {reviewer.username, raj.username}  # olga has a conflict of interest
        screenshot(page, "application-scoring")

    # The worker scores it; the polling swaps the score in without a reload.
    expect(page.get_by_test_id("snapshot-score")).to_be_visible(timeout=30_000)
    application.snapshot.refresh_from_db()
    assert application.snapshot.status == "done"
    report = application.snapshot.reports.get()
    expect(page.get_by_test_id("snapshot-score")).to_contain_text(
        f"Score {report.score:.0f}/100 · level {report.level}"
    )
    expect(reproducibility).not_to_have_attribute("hx-get", re.compile(".*"))  # the polling stopped
    badge = page.get_by_role("img", name=f"Reproducibility: level {report.level}, score {report.score:.0f}")
    expect(badge).to_be_visible()
    assert badge.evaluate("image => image.complete && image.naturalWidth > 0")
    screenshot(page, "application-scored")
    assert visit.problems == []
    visit.sign_out()

    # 2. Each assigned reviewer reviews beside the report; the one with a conflict was never asked.
    review_by_clicking(visit, screenshot, reviewer, score=4, hours=90, report=report)
    review_by_clicking(visit, screenshot, raj, score=5, hours=110, report=report)
    assert not ReviewAssignment.objects.filter(reviewer=olga).exists()
    assert Review.objects.filter(assignment__application=application).count() == 2
    application.refresh_from_db()
    assert application.state == S.UNDER_REVIEW

    # 3. The maintainer awards from the call's ranking (htmx swaps the row and re-reads the budgets).
    visit.sign_in(maintainer)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Manage calls").click()
    page.get_by_test_id("calls").get_by_role("link", name=CALL).click()
    expect(page.get_by_role("heading", name=CALL, level=1)).to_be_visible()
    expect(page.get_by_test_id("remaining-nvidia-v100")).to_have_text("1,000.00")
    row = page.locator(f"#application-{application.pk}")
    expect(row).to_contain_text("4.50/5")  # the mean of the two weighted scores
    expect(row).to_contain_text("2 of 2 reviews")
    expect(row).to_contain_text(f"{report.score:.0f}/100")
    expect(row.get_by_test_id("row-state")).to_have_text("Under review")
    row.get_by_text("Decide").click()
    hours = row.get_by_label("Accelerator-hours to award")
    expect(hours).to_have_value("100")  # the median of the reviewers' 90 and 110
    row.get_by_label("Message to the applicant (optional)").fill("Enjoy the GPUs.")
    screenshot(page, "call-dashboard")

    row.get_by_role("button", name="Award", exact=True).click()
    expect(row.get_by_test_id("row-done")).to_be_visible()
    expect(row.get_by_test_id("row-state")).to_have_text("Awarded")
    expect(row).to_contain_text("100.00 h awarded")
    expect(page.get_by_test_id("remaining-nvidia-v100")).to_have_text("900.00")
    assert page.url == visit.url(reverse("portal:call_dashboard", args=[open_call.pk]))  # no navigation
    screenshot(page, "call-dashboard-awarded")
    application.refresh_from_db()
    allocation = Allocation.objects.get()
    assert application.state == S.AWARDED and application.allocation == allocation
    assert (allocation.project, allocation.pool, allocation.awarded) == (project, gpu_pool, 100 * HOUR)
    assert (allocation.reserved, allocation.used) == (0, 0)
    assert list(allocation.ledger.values_list("kind", "seconds")) == [(LedgerEntry.Kind.AWARD, 100 * HOUR)]
    assert CallPool.objects.get(call=open_call, pool=gpu_pool).awarded_seconds == 100 * HOUR
    assert visit.problems == []
    visit.sign_out()

    # 4. The applicant sees the award, the reviewers' comments (never the confidential ones), the quota bar.
    visit.sign_in(applicant)
    expect(page.get_by_test_id(f"application-state-{application.pk}")).to_have_text("Awarded")
    allocations = page.get_by_role("region", name="Allocations")
    expect(allocations.get_by_test_id(f"remaining-{allocation.pk}")).to_have_text("100.00")
    expect(allocations.get_by_role("img", name="0.0% used, 0.0% reserved, 100.0% remaining")).to_be_visible()
    expect(allocations.get_by_role("link", name="Digits on nvidia-v100")).to_be_visible()
    screenshot(page, "applicant-dashboard-awarded")

    page.get_by_role("region", name="Applications").get_by_role("link", name="Digits").click()
    expect(page.get_by_test_id("application-state")).to_have_text("Awarded")
    expect(page.get_by_test_id("allocation")).to_contain_text("Awarded 100.00 accelerator-hours on nvidia-v100")
    expect(page.get_by_test_id("decision-message")).to_have_text("Enjoy the GPUs.")
    feedback = page.get_by_test_id("reviews")
    expect(feedback).to_contain_text("2 reviews; mean score 4.50 out of 5.")
    expect(feedback).to_contain_text("A clear plan; pin the data (4 of 5).")
    expect(feedback).to_contain_text("A clear plan; pin the data (5 of 5).")
    assert not {reviewer.username, raj.username} & set(re.findall(r"\w+", feedback.inner_text()))  # anonymous
    expect(page.get_by_text("Between us")).to_have_count(0)
    screenshot(page, "application-awarded")

    page.get_by_role("link", name="Open the allocation").click()
    expect(page).to_have_url(visit.url(reverse("scheduler:allocation_detail", args=[allocation.pk])))
    screenshot(page, "allocation")
    assert visit.problems == []
