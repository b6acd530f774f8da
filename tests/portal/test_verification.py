"""Verification runs (issue 16): the call's budget pays for them, they run the application's snapshot
through the scheduler like any job, and reviewers see their evidence beside the static report."""

from __future__ import annotations

import time
from typing import Any

import jsonschema
import pytest
from django.urls import reverse

from portal.models import ReviewAssignment, Verification, VerificationPolicy
from portal.services import applications, projects, verification
from reproducibility import services as scoring
from reproducibility.scorecard import SCHEMA
from scheduler import quota, runner
from scheduler import selectors as scheduler_selectors
from scheduler.admission import admit_pool
from scheduler.models import AcceleratorPool, Allocation, TrainingJob
from tests.portal.conftest import REPO_FILES, client_for
from tests.scheduler.factories import job_request, make_allocation

TRAIN = """
import os, random
random.seed(int(os.environ["CG_SEED"]))
loss = 2.0
for step in range(6):
    loss = loss * 0.7 + random.random() * 0.01
    print(f"step {step} loss: {loss:.6f}", flush=True)
"""
# The same, writing its summaries in the work folder (./tb) rather than AIP_TENSORBOARD_LOG_DIR.
TRAIN_LOGGING_IN_ITS_FOLDER = (
    TRAIN
    + """
if os.environ["CG_WORKER_INDEX"] == "0":
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    writer = EventFileWriter("tb/train")
    for step, value in enumerate([1.0, 0.5, 0.25]):
        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="epoch_loss", simple_value=value)])
        writer.add_event(event_pb2.Event(step=step, wall_time=float(step), summary=summary))
    writer.close()
"""
)
FILES = {**REPO_FILES, "train.py": TRAIN, "requirements.txt": "humanize==4.9.0\n"}
FILES_LOGGING = {**FILES, "train.py": TRAIN_LOGGING_IN_ITS_FOLDER}


@pytest.fixture(autouse=True)
def _own_folders(settings, tmp_path):
    settings.CG_ARTIFACTS_ROOT = tmp_path / "artifacts"
    settings.CG_ENVIRONMENTS_ROOT = tmp_path / "environments"
    settings.CG_LAUNCH_ON_ADMISSION = False


@pytest.fixture
def cpu_pool(db):
    return AcceleratorPool.objects.create(name="cpu-verify", kind=AcceleratorPool.Kind.CPU, capacity=4)


@pytest.fixture
def submitted(applicant, reviewer, open_call, plan, make_local_repo, cpu_pool):
    """A submitted application whose call verifies on the CPU pool (1 min, 2 workers, a repeat), scored."""
    verification.set_policy(open_call, pool=cpu_pool, budget_hours=1, minutes=1, workers=2, repeat=True)
    project = projects.create_project(
        applicant, name="Verified", repository_url=str(make_local_repo("verified", FILES_LOGGING)), licence="Apache-2.0"
    )
    draft = applications.save_draft(project, open_call, plan, actor=applicant)
    application = applications.submit(draft, actor=applicant)
    scoring.score_snapshot(application.snapshot_id)
    application.refresh_from_db()
    return application


def drive(*jobs: TrainingJob, timeout: float = 120) -> None:
    """Admit, launch and sync the runs in this process until they ended."""
    admit_pool(jobs[0].pool_id)
    for job in jobs:
        runner.launch_job(job.pk)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [TrainingJob.objects.get(pk=job.pk) for job in jobs]
        if all(job.is_terminal for job in states):
            return
        for job in states:
            runner.sync_job(job.pk)
        time.sleep(0.3)
    raise AssertionError("verification runs still live")


@pytest.mark.django_db
def test_a_verification_is_charged_to_the_calls_budget_runs_the_snapshot_and_is_judged(submitted, reviewer):
    started = verification.start(submitted)
    policy = submitted.call.verification_policy
    allocation = started.allocation
    assert allocation.pool == policy.pool and allocation.awarded == 2 * 2 * 60 == policy.worst_case_seconds
    assert allocation.snapshot_id == submitted.snapshot_id and verification.budget_spent(policy) == 240
    run, repeat = started.run, started.repeat_run
    assert (run.entrypoint, run.args, run.workers, run.max_runtime_seconds) == ("train.py", ["--epochs", "5"], 2, 60)
    assert run.seed == repeat.seed and run.commit == submitted.snapshot.commit and run.snapshot_id == run.snapshot_id
    assert verification.judge(started.pk) == "running"
    with pytest.raises(verification.VerificationRefused, match="already running"):
        verification.start(submitted)

    drive(run, repeat)
    verdict = verification.judge(started.pk)
    started.refresh_from_db()
    checks = {check["id"]: check for check in started.result["checks"]}
    assert {k: c["status"] for k, c in checks.items()} == {
        "installs": "pass",
        "starts": "pass",
        "learns": "pass",
        "logs": "pass",  # written in its work folder, collected from there
        "exports": "fail",
        "repeats": "pass",
        "exit": "pass",
    }
    assert "humanize==4.9.0" in checks["installs"]["evidence"]
    assert verdict == started.verdict == "failed: exports" and started.state == Verification.State.JUDGED
    assert checks["logs"]["evidence"] == ["work-folder/tb/train/epoch_loss"], checks["logs"]
    # What the runs did not use went back: the budget counts what they used.
    allocation.refresh_from_db()
    assert allocation.state == Allocation.State.REVOKED and allocation.reserved == 0
    assert verification.budget_spent(policy) == allocation.used == allocation.awarded > 0
    assert quota.ledger_balances(allocation)["awarded"] == allocation.awarded
    assert verification.judge(started.pk) == "nothing to do"
    # Beside the static checks: under its own key of the Scorecard-shaped report, valid by its schema.
    report = submitted.snapshot.latest_report
    assert report.results["dynamic"]["checks"] == started.result["checks"] and report.results["checks"]
    jsonschema.validate(report.results, SCHEMA)
    as_json = client_for(reviewer).get(reverse("reproducibility:report", args=[submitted.snapshot_id]) + "?format=json")
    assert as_json.json()["dynamic"]["verdict"] == "failed: exports"
    report_page = client_for(reviewer).get(reverse("reproducibility:report", args=[submitted.snapshot_id]))
    assert 'data-testid="dynamic-checks"' in report_page.content.decode()

    assignment = ReviewAssignment.objects.get(application=submitted, reviewer=reviewer)
    page = client_for(reviewer).get(reverse("portal:review", args=[assignment.pk])).content.decode()
    assert 'data-testid="verification-verdict"' in page and "Not verified" in page
    assert 'data-testid="dynamic-check-repeats"' in page and "Identical" in page
    # Each evidence line, one per line (the template once printed its own `{{ ... }}` text instead).
    assert "{{" not in page and "\n".join(checks["installs"]["evidence"]) + "\n</pre>" in page
    assert reverse("runs:detail", args=[run.pk]) in page and "Verify again" in page


@pytest.mark.django_db
def test_a_verification_the_budget_cannot_pay_for_is_refused_and_reserves_nothing(submitted):
    policy = submitted.call.verification_policy
    policy.budget_seconds = policy.worst_case_seconds - 1
    policy.save()
    with pytest.raises(verification.VerificationRefused, match="verification budget has"):
        verification.start(submitted)
    assert not Verification.objects.exists() and not Allocation.objects.filter(pool=policy.pool).exists()


@pytest.mark.django_db
def test_no_policy_no_score_or_no_script_is_refused_saying_why(submitted, open_call, cpu_pool):
    submitted.entrypoint = "bash run.sh"
    submitted.save()
    with pytest.raises(verification.VerificationRefused, match="no Python script"):
        verification.start(submitted)
    verification.set_policy(open_call, pool=cpu_pool, budget_hours=1, enabled=False)
    with pytest.raises(verification.VerificationRefused, match="does not run verification"):
        verification.start(submitted)
    with pytest.raises(verification.VerificationRefused, match="between 1 and 120 minutes"):
        verification.set_policy(open_call, pool=cpu_pool, budget_hours=1, minutes=0)
    assert not Allocation.objects.filter(pool=cpu_pool).exists()


@pytest.mark.django_db
def test_verify_again_is_for_maintainers_and_assigned_reviewers_only(submitted, maintainer, reviewer, applicant):
    url = reverse("portal:application_verify", args=[submitted.pk])
    assert client_for(applicant).post(url).status_code == 403
    response = client_for(maintainer).post(url, {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == reverse(
        "portal:application_detail", args=[submitted.pk]
    )
    assert Verification.objects.filter(application=submitted, requested_by=maintainer).count() == 1
    follow: Any = client_for(reviewer).post(url, follow=True)
    assert "already running" in follow.content.decode()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_through_a_real_worker_a_submission_is_scored_then_verified_and_the_reviewer_sees_the_evidence(
    celery_worker, applicant, reviewer, open_call, plan, make_local_repo, cpu_pool
):
    verification.set_policy(open_call, pool=cpu_pool, budget_hours=1, minutes=1, workers=2, repeat=True)
    project = projects.create_project(
        applicant, name="Verified", repository_url=str(make_local_repo("verified", FILES)), licence="Apache-2.0"
    )
    application = applications.submit(
        applications.save_draft(project, open_call, plan, actor=applicant), actor=applicant
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        judged = Verification.objects.filter(application=application, state=Verification.State.JUDGED).first()
        if judged:
            break
        time.sleep(1)
    else:
        raise AssertionError(f"no verdict: {list(Verification.objects.values())} {celery_worker.log_tail()}")
    application.refresh_from_db()
    assert application.snapshot.latest_report is not None  # the static report came first
    events = list(judged.run.events.values_list("to_state", flat=True))
    assert events[:3] == ["queued", "admitted", "launching"] and judged.run.state == TrainingJob.State.SUCCEEDED
    assert judged.verdict == "failed: logs, exports"
    assignment = ReviewAssignment.objects.get(application=application, reviewer=reviewer)
    page = client_for(reviewer).get(reverse("portal:review", args=[assignment.pk])).content.decode()
    assert 'data-testid="dynamic-check-learns"' in page and "The loss went down" in page


@pytest.mark.django_db
def test_local_verification_runs_only_where_the_operator_allows_them(submitted, settings):
    settings.CG_VERIFY_LOCALLY = False
    with pytest.raises(verification.VerificationRefused, match="CG_VERIFY_LOCALLY"):
        verification.start(submitted)
    assert not Verification.objects.exists()


@pytest.mark.django_db
def test_a_maintainer_sets_a_calls_verification_and_sees_its_usage(open_call, maintainer, cpu_pool):
    url = reverse("portal:call_verification", args=[open_call.pk])
    client = client_for(maintainer)
    good = {"enabled": "on", "pool": cpu_pool.pk, "minutes": 5, "workers": 2, "repeat": "on", "budget_hours": "3"}
    bad = client.post(url, {**good, "minutes": 0})
    assert bad.status_code == 400 and "greater than or equal to 1" in bad.content.decode()
    assert not VerificationPolicy.objects.exists()  # nothing saved from a bad form
    assert client.post(url, good).status_code == 302
    policy = type(open_call).objects.get(pk=open_call.pk).verification_policy
    assert (policy.pool, policy.minutes, policy.workers, policy.repeat, policy.budget_seconds) == (
        cpu_pool,
        5,
        2,
        True,
        3 * 3600,
    )
    page = client.get(url).content.decode()
    assert 'data-testid="verification-usage"' in page and "0</strong> of 10800 accelerator-seconds" in page


@pytest.mark.django_db
def test_the_applicant_can_neither_use_the_verifications_allocation_nor_cancel_its_runs(
    submitted, applicant, maintainer
):
    started = verification.start(submitted)
    client = client_for(applicant)
    launch = client.post(
        reverse("scheduler:allocation_detail", args=[started.allocation_id]),
        {"entrypoint": "train.py", "workers": 1, "accelerators_per_worker": 1, "max_runtime_hours": "0.01"},
    )
    assert launch.status_code == 403
    assert client.post(reverse("scheduler:job_cancel", args=[started.run_id])).status_code == 403
    assert TrainingJob.objects.filter(allocation=started.allocation).count() == 2
    assert not TrainingJob.objects.get(pk=started.run_id).cancel_requested
    assert maintainer.has_perm("scheduler.cancel_trainingjob", started.run)


@pytest.mark.django_db
def test_the_periodic_sweep_judges_verifications_whose_runs_ended_and_only_those(submitted):
    started = verification.start(submitted)
    assert verification.judge_running() == 0  # its runs are queued
    quota.cancel_job(started.run, reason="cancelled by a maintainer")
    assert verification.judge_running() == 0  # the repeat is still queued
    quota.cancel_job(started.repeat_run, reason="cancelled by a maintainer")
    assert verification.judge_running() == 1 and verification.judge_running() == 0
    started.refresh_from_db()
    checks = {check["id"]: check for check in started.result["checks"]}
    assert started.state == Verification.State.JUDGED and checks["exit"]["status"] == "fail"
    assert checks["exit"]["reason"] == "cancelled by a maintainer"
    started.allocation.refresh_from_db()
    assert started.allocation.state == Allocation.State.REVOKED and started.allocation.awarded == 0


@pytest.mark.django_db
def test_a_verification_waiting_for_a_full_pool_shows_its_place_and_why_on_the_review_and_application_pages(
    submitted, reviewer, applicant, cpu_pool
):
    other = make_allocation(pool=cpu_pool, hours=10)
    occupying = quota.submit_job(other, job_request(workers=4, runtime=600))
    assert admit_pool(cpu_pool.pk) == [occupying.pk]  # all 4 accelerators taken
    started = verification.start(submitted)
    assert admit_pool(cpu_pool.pk) == []  # the verification's runs wait for the pool
    assignment = ReviewAssignment.objects.get(application=submitted, reviewer=reviewer)
    pages = {
        "review": client_for(reviewer).get(reverse("portal:review", args=[assignment.pk])).content.decode(),
        "application": client_for(applicant)
        .get(reverse("portal:application_detail", args=[submitted.pk]))
        .content.decode(),
    }
    for name, page in pages.items():
        assert page.count('data-testid="verification-queue"') == 2, name
        assert "The run waits for the cpu-verify pool: <strong>position 1 of 2</strong>" in page, name
        assert "The repeat waits for the cpu-verify pool: <strong>position 2 of 2</strong>" in page, name
        assert "4 of the 4 accelerators of cpu-verify are in use and it needs 2 at once" in page, name
        assert "1 job ahead of it in fair-share order" in page, name
    assert "Verify again" in pages["review"] and "Verify again" not in pages["application"]

    quota.cancel_job(occupying, reason="cancelled by a maintainer")  # the pool frees up: both start
    assert sorted(admit_pool(cpu_pool.pk)) == sorted([started.run_id, started.repeat_run_id])
    page = client_for(reviewer).get(reverse("portal:review", args=[assignment.pk])).content.decode()
    assert 'data-testid="verification-queue"' not in page and 'data-testid="verification-running"' in page


@pytest.mark.django_db
def test_a_queued_job_whose_accelerators_are_free_waits_only_for_the_next_admission_cycle(cpu_pool):
    job = quota.submit_job(make_allocation(pool=cpu_pool, hours=1), job_request(workers=1, runtime=60))
    wait = scheduler_selectors.queue_wait(job)
    assert wait is not None and (wait.position, wait.length) == (1, 1)
    assert wait.reason == "its accelerators are free: the next admission cycle starts it"
    admit_pool(cpu_pool.pk)
    job.refresh_from_db()
    assert scheduler_selectors.queue_wait(job) is None
