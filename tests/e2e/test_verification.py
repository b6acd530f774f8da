"""A verification run end to end in a real browser, through the real Celery worker (issue 16): the
applicant submits by clicking, the worker scores the repository (the static report appears), the
verification's runs wait for their full pool (each page shows their place and why), then are
admitted, launched and judged by the worker, and the assigned reviewer reads the dynamic checks
beside the report and opens the run's curves. Screenshots at each step (conftest.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from portal.models import ReviewAssignment, Verification
from portal.services import applications, projects, verification
from scheduler import quota
from scheduler.admission import admit_pool
from scheduler.models import AcceleratorPool, TrainingJob
from tests.portal.conftest import REPO_FILES
from tests.scheduler.factories import job_request, make_allocation

# Seeded progress lines and TensorBoard summaries in its work folder; it exports no model.
TRAIN = """
import os, random
random.seed(int(os.environ["CG_SEED"]))
loss = 2.0
for step in range(6):
    loss = loss * 0.7 + random.random() * 0.01
    print(f"step {step} loss: {loss:.6f}", flush=True)
if os.environ["CG_WORKER_INDEX"] == "0":
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    writer = EventFileWriter("tb/train")
    for step, value in enumerate([1.0, 0.5, 0.25]):
        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="epoch_loss", simple_value=value)])
        writer.add_event(event_pb2.Event(step=step, wall_time=float(step), summary=summary))
    writer.close()
"""
FILES = {**{k: v for k, v in REPO_FILES.items() if k != "requirements.txt"}, "train.py": TRAIN}


def reload_until(page: Any, test_id: str, timeout: float) -> None:
    """The verification section does not poll: reload, as a reviewer would, until it shows `test_id`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.reload()
        if page.get_by_test_id(test_id).count():
            return
        time.sleep(1)
    raise AssertionError(f"{test_id} never appeared on {page.url}: {list(Verification.objects.values())}")


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_submitted_application_is_verified_through_the_worker_and_the_reviewer_sees_its_evidence(  # type: ignore[no-untyped-def]
    celery_worker,  # before live_server: the database outlives the server's connections at teardown
    live_server,
    visit,
    screenshot,
    applicant,
    reviewer,
    open_call,
    plan,
    make_local_repo,
    settings,
):
    from config.celery import app

    settings.CG_LAUNCH_ON_ADMISSION = False  # this process admits the occupying job only; the worker launches
    pool = AcceleratorPool.objects.create(name="cpu-verify", kind=AcceleratorPool.Kind.CPU, capacity=2)
    verification.set_policy(open_call, pool=pool, budget_hours=1, minutes=1, workers=1, repeat=True)
    # Another project's run holds the whole verification pool: the verification must wait its turn.
    occupying = quota.submit_job(make_allocation(pool=pool, hours=1), job_request(workers=2, runtime=600))
    assert admit_pool(pool.pk) == [occupying.pk]
    project = projects.create_project(
        applicant, name="Digits", repository_url=str(make_local_repo("verified", FILES)), licence="Apache-2.0"
    )
    draft = applications.save_draft(project, open_call, plan, actor=applicant)
    page = visit.page

    # 1. The applicant submits; the worker scores the repository and the static report appears.
    visit.sign_in(applicant)
    page.goto(visit.url(reverse("portal:application_detail", args=[draft.pk])))
    page.get_by_role("button", name="Submit the application").click()
    expect(page.get_by_role("status")).to_contain_text("Application submitted")
    expect(page.get_by_test_id("snapshot-score")).to_be_visible(timeout=60_000)
    screenshot(page, "application-scored")

    # 2. Once scored, the worker starts the verification; its runs wait for the full pool, and say so.
    reload_until(page, "verification-queue", timeout=90)
    queue = page.get_by_test_id("verification-queue")
    expect(queue).to_have_count(2)
    expect(queue.first).to_contain_text("The run waits for the cpu-verify pool: position 1 of 2")
    expect(queue.first).to_contain_text("2 of the 2 accelerators of cpu-verify are in use and it needs 1 at once")
    expect(queue.nth(1)).to_contain_text("The repeat waits for the cpu-verify pool: position 2 of 2")
    expect(page.get_by_role("button", name="Verify again")).to_have_count(0)  # not the applicant's to ask
    screenshot(page, "application-verification-waiting")
    started = Verification.objects.get(application=draft)
    assert started.run.state == started.repeat_run.state == TrainingJob.State.QUEUED
    visit.sign_out()

    assignment = ReviewAssignment.objects.get(application=draft, reviewer=reviewer)
    review_url = visit.url(reverse("portal:review", args=[assignment.pk]))
    visit.sign_in(reviewer)
    page.goto(review_url)
    expect(page.get_by_test_id("verification-queue").first).to_contain_text("position 1 of 2")
    screenshot(page, "review-verification-waiting")

    # 3. The pool frees up: the worker's admission cycle admits both runs, launches, syncs and judges them.
    quota.cancel_job(occupying, reason="cancelled by a maintainer")
    app.send_task("scheduler.tasks.run_admission_cycle", kwargs={"pool_id": pool.pk}).get(timeout=60)
    reload_until(page, "verification-verdict", timeout=180)
    started.refresh_from_db()
    assert started.state == Verification.State.JUDGED, celery_worker.log_tail()
    events = list(started.run.events.values_list("to_state", flat=True))
    assert events[:3] == ["queued", "admitted", "launching"] and started.run.state == TrainingJob.State.SUCCEEDED

    # 4. The reviewer reads the evidence beside the static report, then the run's curves.
    expect(page.get_by_test_id("verification-queue")).to_have_count(0)
    expect(page.get_by_test_id("verification-verdict")).to_contain_text("Not verified (failed: exports)")
    expect(page.get_by_test_id("dynamic-check-starts")).to_contain_text("✔")
    expect(page.get_by_test_id("dynamic-check-learns")).to_contain_text("The loss went down")
    expect(page.get_by_test_id("dynamic-check-logs")).to_contain_text("✔")
    expect(page.get_by_test_id("dynamic-check-repeats")).to_contain_text("Identical")
    expect(page.get_by_test_id("dynamic-check-exports")).to_contain_text("✘")
    aside = page.get_by_role("complementary", name="Reproducibility")
    expect(aside.get_by_test_id("report-score")).to_be_visible()
    learns = page.get_by_test_id("dynamic-check-learns")
    learns.locator("summary").click()
    evidence = learns.get_by_test_id("evidence")
    expect(evidence).to_be_visible()
    expect(evidence).not_to_contain_text("{{")  # the lines themselves, not the template's text
    check = next(c for c in started.result["checks"] if c["id"] == "learns")
    assert evidence.inner_text().splitlines() == check["evidence"] and check["evidence"]
    screenshot(page, "review-verification-judged")

    page.get_by_role("link", name=f"curves of Run #{started.run_id}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("curves and model")
    expect(page.get_by_test_id("job-state")).to_have_text("succeeded")
    expect(page.locator("[data-testid^='chart-']").first).to_be_visible()
    screenshot(page, "verification-run-curves")
    assert visit.problems == []
