"""An award's whole life in a real browser, with a real Celery worker and real TensorFlow: an award with
two tranches, a run that trains and exports a SavedModel, a progress report linking the run and its
model, its approval releasing the second tranche, an extension, a supplement, the end date passing
(the beat's sweep, run twice by the worker: unused hours back to the call once, each notice mailed
once) and the public page showing the released model. Time moves by setting dates in the database;
everything else is the portal's own pages, services and tasks. Screenshots as in conftest.py."""

from __future__ import annotations

import csv
import io
import re
import shutil
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from config.celery import app
from portal.models import AllocationNotice, Application, AwardRequest, BudgetEntry, CallPool, ProgressReport
from portal.services import applications, call_budget, calls, projects
from portal.services.progress_reports import fingerprint_of
from reproducibility.models import Snapshot
from scheduler import quota
from scheduler.models import AcceleratorPool, Allocation, LedgerEntry, TrainingJob

HOUR = 3600
DIGITS = Path(__file__).resolve().parents[2] / "examples" / "digits"
CALL = "Open compute, after the award"


def wait_until(condition: Any, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout} s")
        time.sleep(0.5)


def sweep_twice() -> list[dict[str, list[int]]]:
    """The beat's task, run by the real worker twice in a row, as a retried or doubled beat would."""
    return [app.send_task("portal.tasks.award_terms_sweep").get(timeout=120) for _ in range(2)]


def subjects(messages: list[Any]) -> list[str]:
    return [str(message["Subject"]) for message in messages]


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_award_lives_from_two_tranches_to_its_end_and_its_public_model(  # type: ignore[no-untyped-def]
    celery_worker,  # before live_server: the database outlives the server's connections at teardown
    live_server,
    visit,
    screenshot,
    sent_mail,
    applicant,
    maintainer,
    make_user,
    browser,
    tmp_path,
):
    make_user("free", "reviewer", affiliation="Neutral")  # assigned at submission: the application is reviewed
    pool = AcceleratorPool.objects.create(name="cpu-local", kind="cpu", capacity=4)
    now = timezone.now()
    call = calls.open_call(
        title=CALL,
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=30),
        budgets=[(pool, 100 * HOUR)],
        actor=maintainer,
        report_months=[3],
    )
    repo = shutil.copytree(DIGITS, tmp_path / "digits", ignore=shutil.ignore_patterns("output", ".venv", "__pycache__"))
    project = projects.create_project(applicant, name="Digits", repository_url=str(repo), licence="Apache-2.0")
    plan = applications.Plan(pool=pool, requested_seconds=20 * HOUR, justification="Digits.", entrypoint="train.py")
    application = applications.submit(applications.save_draft(project, call, plan, actor=applicant), actor=applicant)
    wait_until(
        lambda: Snapshot.objects.filter(pk=application.snapshot_id, status=Snapshot.Status.DONE).exists(),
        "the worker scores the repository",
    )
    sent_mail(0, timeout=1)  # what submission mailed is not this test's subject
    page = visit.page

    # 1. The maintainer awards 20 h, 10 h of them held for a second tranche.
    visit.sign_in(maintainer)
    page.goto(visit.url(reverse("portal:call_dashboard", args=[call.pk])))
    row = page.locator(f"#application-{application.pk}")
    row.get_by_text("Decide").click()
    row.get_by_label("Accelerator-hours to award").fill("20")
    row.get_by_label("Held for a later tranche (optional)").fill("10")
    row.get_by_role("button", name="Award", exact=True).click()
    expect(row.get_by_test_id("row-state")).to_have_text("Awarded")
    screenshot(page, "awarded-with-a-held-tranche")
    allocation = Allocation.objects.get(application__pk=application.pk)
    assert (allocation.awarded, allocation.held, allocation.remaining) == (20 * HOUR, 10 * HOUR, 10 * HOUR)
    assert list(allocation.ledger.values_list("kind", "seconds")) == [("award", 20 * HOUR), ("hold", 10 * HOUR)]
    assert list(BudgetEntry.objects.values_list("kind", "seconds")) == [("award", 20 * HOUR)]
    assert visit.problems == []
    visit.sign_out()

    # 2. The applicant launches a run; the worker admits, launches, trains with TensorFlow and collects.
    visit.sign_in(applicant)
    page.goto(visit.url(reverse("scheduler:allocation_detail", args=[allocation.pk])))
    expect(page.get_by_test_id("held")).to_have_text("10.00 h")
    expect(page.get_by_test_id("remaining")).to_have_text("10.00 h")
    form = page.locator("form").filter(has=page.get_by_role("button", name="Queue the run"))
    form.get_by_label("Entrypoint").fill("train.py")
    form.get_by_label("Args").fill("--epochs 2 --steps-per-epoch 5")
    form.get_by_label("Workers").fill("1")
    form.get_by_label("Max runtime minutes").fill("15")
    form.get_by_role("button", name="Queue the run").click()
    expect(page.get_by_role("status")).to_contain_text("queued")
    job = TrainingJob.objects.get(allocation=allocation)
    # Beat's admission cycle (tests turn off admitting on submission), run by the worker, which then launches.
    assert app.send_task("scheduler.tasks.run_admission_cycle", kwargs={"pool_id": pool.pk}).get(timeout=60) == [job.pk]
    try:
        wait_until(lambda: TrainingJob.objects.get(pk=job.pk).is_terminal, "the run ends", timeout=300)
    except AssertionError:
        job.refresh_from_db()
        events = list(job.events.values_list("to_state", "message"))
        raise AssertionError(f"run {job.state}: {events} {job.failure_reason} {celery_worker.log_tail()}") from None
    job.refresh_from_db()
    assert job.state == TrainingJob.State.SUCCEEDED, (job.failure_reason, celery_worker.log_tail())
    wait_until(lambda: fingerprint_of(TrainingJob.objects.get(pk=job.pk)), "the SavedModel is collected")
    job.refresh_from_db()
    fingerprint = fingerprint_of(job)
    allocation.refresh_from_db()
    assert 0 < allocation.used == job.charged_seconds <= 15 * 60 and allocation.reserved == 0
    assert visit.problems == []

    # 3. The applicant's 3-month report links the run and releases its model.
    page.goto(visit.url(reverse("portal:allocation_reports", args=[allocation.pk])))
    page.get_by_role("link", name="3-month report").click()
    page.get_by_label("What was done").fill("Trained the digits model; exported it.")
    page.get_by_label("Problems").fill("None worth telling.")
    page.locator(f'input[name="runs"][value="{job.pk}"]').check()
    page.locator(f'input[name="released_models"][value="{job.pk}"]').check()
    screenshot(page, "progress-report-form")
    page.get_by_role("button", name="Submit the report").click()
    expect(page.get_by_test_id("report-state")).to_have_text("Submitted")
    expect(page.get_by_test_id("report-models")).to_contain_text(fingerprint)
    report = ProgressReport.objects.get(allocation=allocation, kind="progress")
    assert list(report.released_models.all()) == [job] and list(report.runs.all()) == [job]
    assert visit.problems == []
    visit.sign_out()

    # 4. The maintainer approves it and releases the second tranche with it.
    visit.sign_in(maintainer)
    page.goto(visit.url(reverse("portal:report_detail", args=[report.pk])))
    decide = page.get_by_test_id("report-decide-form")
    decide.get_by_label("Decision").select_option("approve")
    decide.get_by_label("Comment to the project").fill("Good progress.")
    decide.get_by_label("Release held accelerator-hours with the approval").fill("10")
    decide.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_test_id("report-state")).to_have_text("Approved")
    allocation.refresh_from_db()
    assert allocation.held == 0 and allocation.remaining == 20 * HOUR - allocation.used
    assert allocation.ledger.filter(kind=LedgerEntry.Kind.UNHOLD).get().seconds == -10 * HOUR
    assert visit.problems == []
    visit.sign_out()

    # 5. The applicant asks for an extension and a supplement; the maintainer approves both.
    visit.sign_in(applicant)
    requests_url = visit.url(reverse("portal:allocation_requests", args=[allocation.pk]))
    new_end = (allocation.expires_at + timedelta(days=60)).replace(second=0, microsecond=0)
    page.goto(requests_url)
    ask = page.get_by_test_id("award-request-form")
    ask.get_by_label("Request").select_option("extension")
    ask.get_by_label("New end (extension)").fill(timezone.localtime(new_end).strftime("%Y-%m-%dT%H:%M"))
    ask.get_by_label("Why").fill("The evaluation needs two more months.")
    ask.get_by_role("button", name="Send the request").click()
    expect(page.get_by_test_id("award-requests")).to_contain_text("No-cost extension")
    ask = page.get_by_test_id("award-request-form")
    ask.get_by_label("Request").select_option("supplement")
    ask.get_by_label("More accelerator-hours (supplement)").fill("5")
    ask.get_by_label("Why").fill("Ablations.")
    ask.get_by_role("button", name="Send the request").click()
    expect(page.get_by_test_id("award-requests").get_by_test_id("request-state")).to_have_count(2)
    assert AwardRequest.objects.filter(allocation=allocation, state="pending").count() == 2
    assert visit.problems == []
    visit.sign_out()

    visit.sign_in(maintainer)
    for request in AwardRequest.objects.filter(allocation=allocation).order_by("pk"):
        page.goto(requests_url)
        decide = page.locator(f"#request-{request.pk}").get_by_test_id("request-decide-form")
        decide.get_by_label("Decision").select_option("approve")
        decide.get_by_label("Message to the project").fill("Approved.")
        decide.get_by_role("button", name="Record the decision").click()
        expect(page.locator(f"#request-{request.pk}").get_by_test_id("request-state")).to_contain_text("Approved")
    screenshot(page, "requests-approved")
    allocation.refresh_from_db()
    assert allocation.expires_at == new_end and allocation.awarded == 25 * HOUR
    budget = CallPool.objects.get(call=call, pool=pool)
    assert budget.awarded_seconds == 25 * HOUR == call_budget.ledger_sum(budget)
    assert visit.problems == []
    visit.sign_out()

    # 6. Time passes: 20 days before the end, the 30-day notice goes out once however often beat runs.
    sent_mail(0, timeout=3)  # the requests' and decisions' mails, left behind
    Allocation.objects.filter(pk=allocation.pk).update(expires_at=timezone.now() + timedelta(days=20))
    first, second = sweep_twice()
    assert first["notified"] == [allocation.pk] and second["notified"] == []
    ending = [s for s in subjects(sent_mail(1)) if "ends in" in s]
    assert ending == ["[ComputeGrant] Digits on cpu-local ends in 20 days"]

    # The end passes: unused hours go back to the call in both ledgers, once, and the end is mailed once.
    Allocation.objects.filter(pk=allocation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    first, second = sweep_twice()
    assert first["expired"] == [allocation.pk] and first["returned"] == [allocation.pk]
    assert second["expired"] == [] and second["returned"] == []
    allocation.refresh_from_db()
    unused = 25 * HOUR - job.charged_seconds
    assert allocation.state == Allocation.State.EXPIRED and allocation.awarded == allocation.used == job.charged_seconds
    assert allocation.ledger.filter(kind=LedgerEntry.Kind.RETURN).get().seconds == -unused
    assert BudgetEntry.objects.filter(kind="return").get().seconds == -unused
    budget.refresh_from_db()
    assert budget.awarded_seconds == job.charged_seconds == call_budget.ledger_sum(budget)
    assert AllocationNotice.objects.filter(allocation=allocation, kind="ended").count() == 1
    ended = [s for s in subjects(sent_mail(1)) if "has ended" in s]
    time.sleep(2)  # a second mail, if one were sent, would have landed by now
    ended += [s for s in subjects(sent_mail(0, timeout=1)) if "has ended" in s]
    assert ended == ["[ComputeGrant] Digits on cpu-local has ended"]
    assert quota.ledger_balances(allocation) == {
        "awarded": job.charged_seconds,
        "reserved": 0,
        "used": job.charged_seconds,
        "held": 0,
    }

    # 7. The maintainers' program view shows where the call's hours went: awarded, used, returned.
    visit.sign_in(maintainer)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Manage calls").click()
    page.get_by_test_id("program-link").click()
    page.get_by_test_id("program-filter").get_by_label("Call").select_option(label=CALL)
    page.get_by_role("button", name="Show").click()
    line = page.get_by_test_id("budget-line")
    expect(line.get_by_role("heading", level=3)).to_have_text(f"{CALL} · cpu-local")
    expect(line.get_by_test_id("awarded")).to_have_text("25.00 h")
    expect(line.get_by_test_id("used")).to_have_text(f"{job.charged_seconds / HOUR:,.2f} h")
    expect(line.get_by_test_id("returned")).to_have_text(f"{unused / HOUR:,.2f} h")
    expect(line.get_by_test_id("utilisation")).to_have_text("100 %")  # all that is still out was used
    expect(line.get_by_role("img", name=re.compile("awarded, used, reclaimed and returned by month"))).to_be_visible()
    expect(page.get_by_test_id("decision-row")).to_contain_text(CALL)
    screenshot(page, "program-view")
    download = page.request.get(visit.url(reverse("portal:program_hours_csv") + f"?call={call.pk}"))
    rows = list(csv.DictReader(io.StringIO(download.text())))
    assert [(r["call"], r["pool"], r["awarded_h"], r["returned_h"]) for r in rows] == [
        (CALL, "cpu-local", "25.0", str(round(unused / HOUR, 4)))
    ]
    assert visit.problems == []
    visit.sign_out()

    # 8. The project publishes its page; anyone sees the released model with its provenance.
    visit.sign_in(applicant)
    page.goto(visit.url(reverse("portal:project_detail", args=[project.pk])))
    page.get_by_role("button", name="Publish a public page").click()
    visit.sign_out()
    anyone = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    anyone.goto(visit.url(reverse("portal:public_project", args=[project.pk])))
    expect(anyone.get_by_test_id("public-name")).to_have_text("Digits")
    models = anyone.get_by_test_id("public-models")
    expect(models).to_contain_text(fingerprint)
    expect(models).to_contain_text(str(job.pk))
    expect(models).to_contain_text(f"{CALL} (cpu-local)")
    expect(anyone.get_by_test_id("public-awards")).to_contain_text("cpu-local")
    screenshot(anyone, "public-page")
    assert Application.objects.get(pk=application.pk).state == Application.State.AWARDED
    assert visit.problems == []
