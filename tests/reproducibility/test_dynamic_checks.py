"""Verification evidence judged as dynamic checks, from real runs through the scheduler's launch path:
examples/digits verifies fully; fixture repositories show each failure kind with its evidence."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from reproducibility import verification
from scheduler import quota, runner
from scheduler.admission import admit_pool
from scheduler.models import TrainingJob
from tests.scheduler.factories import PoolFactory, job_request, make_allocation

DIGITS = Path(__file__).resolve().parents[2] / "examples" / "digits"
S = TrainingJob.State


@pytest.fixture(autouse=True)
def _own_folders(settings, tmp_path):
    settings.CG_ARTIFACTS_ROOT = tmp_path / "artifacts"
    settings.CG_ENVIRONMENTS_ROOT = tmp_path / "environments"
    settings.CG_LAUNCH_ON_ADMISSION = False  # launched here, in the test's process


def repository(tmp_path: Path, name: str, train: str, requirements: str = "") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "train.py").write_text(train)
    if requirements:
        (folder / "requirements.txt").write_text(requirements)
    return folder


def run(source: Path, *, runtime: int = 120, workers: int = 1, seed: int = 7, args=()) -> TrainingJob:
    """One run through quota, admission, the launch claim and the local backend, synced to its end."""
    pool = PoolFactory(kind="cpu", capacity=4)
    allocation = make_allocation(pool=pool, hours=1)
    job = quota.submit_job(
        allocation, job_request(workers=workers, runtime=runtime, source_path=str(source), args=list(args), seed=seed)
    )
    assert admit_pool(pool.pk) == [job.pk]
    runner.launch_job(job.pk)
    deadline = time.monotonic() + runtime + 60
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_terminal:
            return job
        runner.sync_job(job.pk)
        time.sleep(0.3)
    raise AssertionError(f"job {job.pk} still {job.state}")


def statuses(report: dict) -> dict[str, str]:
    return {check["id"]: check["status"] for check in report["checks"]}


def check(report: dict, check_id: str) -> dict:
    return next(c for c in report["checks"] if c["id"] == check_id)


PRINTS_LOSSES = """
import os, random
{seeding}
loss = 2.0
for step in range(6):
    loss = loss * {factor} + random.random() * {noise}
    print(f"step {{step}} loss: {{loss:.6f}}", flush=True)
"""


@pytest.mark.slow
@pytest.mark.django_db
def test_digits_installs_starts_learns_logs_exports_and_repeats_identically():
    args = ["--epochs", "3", "--steps-per-epoch", "5"]
    first, second = run(DIGITS, args=args), run(DIGITS, args=args)
    report = verification.judge_jobs(first, second)
    assert statuses(report) == {
        "installs": "pass",
        "starts": "pass",
        "learns": "pass",
        "logs": "pass",
        "exports": "pass",
        "repeats": "pass",
        "exit": "pass",
    }, report
    assert report["verdict"] == "verified" and report["runs"] == [first.pk, second.pk]
    assert (
        "39 requirements from requirements.lock: 39 already in the worker's environment"
        in check(report, "installs")["reason"]
    )
    assert check(report, "repeats")["reason"].startswith("Identical")
    assert any("epoch_loss" in line for line in check(report, "logs")["evidence"])


@pytest.mark.django_db
def test_a_requirement_that_cannot_be_installed_fails_installs_with_the_installers_words(tmp_path):
    job = run(repository(tmp_path, "old", "print('never')\n", "tensorflow==1.15.0\n"))
    report = verification.judge_jobs(job)
    assert job.state == S.FAILED and job.charged_seconds == 0
    assert check(report, "installs")["status"] == "fail"
    assert (
        "tensorflow==1.15.0" in check(report, "installs")["reason"] and "cp311" in check(report, "installs")["reason"]
    )
    assert check(report, "starts")["reason"] == "Nothing ran: the dependencies did not install."


@pytest.mark.django_db
def test_an_import_error_does_not_start_and_the_crash_shows_its_log_tail(tmp_path):
    job = run(repository(tmp_path, "broken", "import no_such_module_here\n"))
    report = verification.judge_jobs(job)
    assert statuses(report)["starts"] == "fail" and statuses(report)["exit"] == "fail"
    assert any("ModuleNotFoundError" in line for line in check(report, "exit")["evidence"])


@pytest.mark.django_db
def test_a_loss_that_does_not_go_down_fails_learns_with_the_numbers(tmp_path):
    job = run(repository(tmp_path, "flat", PRINTS_LOSSES.format(seeding="", factor=1.0, noise=0.0)))
    report = verification.judge_jobs(job)
    assert statuses(report)["starts"] == "pass" and statuses(report)["learns"] == "fail"
    assert check(report, "learns")["evidence"][:2] == ["first 2", "last 2"]


@pytest.mark.django_db
def test_a_run_that_never_logs_fails_starts_logs_and_exports(tmp_path):
    job = run(repository(tmp_path, "silent", "x = sum(range(1000))\n"))
    report = verification.judge_jobs(job)
    assert job.state == S.SUCCEEDED
    assert {k: v for k, v in statuses(report).items() if k != "installs"} == {
        "starts": "fail",
        "learns": "fail",
        "logs": "fail",
        "exports": "fail",
        "repeats": "not_applicable",
        "exit": "pass",
    }


@pytest.mark.django_db
def test_a_run_stopped_by_its_time_box_after_progress_still_started_and_learnt(tmp_path):
    train = (
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        + PRINTS_LOSSES.format(seeding="", factor=0.5, noise=0.0)
        + "while True:\n    time.sleep(1)\n"
    )
    job = run(repository(tmp_path, "forever", train), runtime=3)
    report = verification.judge_jobs(job)
    assert job.state == S.FAILED and "Deadline exceeded" in job.failure_reason
    assert (statuses(report)["starts"], statuses(report)["learns"], statuses(report)["exit"]) == (
        "pass",
        "pass",
        "pass",
    )
    assert "time box (3 s) was reached after progress" in check(report, "exit")["reason"]


@pytest.mark.django_db
def test_an_unseeded_run_repeats_differently_with_the_numbers_and_a_seeded_one_identically(tmp_path):
    unseeded = repository(tmp_path, "unseeded", PRINTS_LOSSES.format(seeding="", factor=0.8, noise=0.1))
    report = verification.judge_jobs(run(unseeded), run(unseeded))
    assert statuses(report)["repeats"] == "fail" and check(report, "repeats")["reason"].startswith("Different")
    assert [line.split(":")[0] for line in check(report, "repeats")["evidence"]] == ["run 1", "run 2"]
    seeded = repository(
        tmp_path,
        "seeded",
        PRINTS_LOSSES.format(seeding="random.seed(int(os.environ['CG_SEED']))", factor=0.8, noise=0.1),
    )
    assert statuses(verification.judge_jobs(run(seeded), run(seeded)))["repeats"] == "pass"


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting for its parent."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.django_db
def test_a_run_that_forks_a_background_process_and_ignores_the_time_box_leaves_nothing_running(tmp_path):
    """Verification executes untrusted code: a detached grandchild (setsid, double fork) and a worker
    that ignores SIGTERM and sleeps forever are all gone once the time box is reached."""
    pids = tmp_path / "pids"
    train = (
        "import os, signal, subprocess, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"subprocess.Popen(['sh', '-c', 'setsid sleep 300 & echo $! >> {pids}'])\n"
        f"open({str(pids)!r}, 'a').write(f'{{os.getpid()}}\\n')\n"
        + PRINTS_LOSSES.format(seeding="", factor=0.5, noise=0.0)
        + "while True:\n    time.sleep(1)\n"
    )
    job = run(repository(tmp_path, "forks", train), runtime=3)
    report = verification.judge_jobs(job)
    assert job.state == S.FAILED and "Deadline exceeded" in job.failure_reason
    assert "time box (3 s) was reached after progress" in check(report, "exit")["reason"]
    time.sleep(0.5)
    started = [int(pid) for pid in pids.read_text().split()]
    assert len(started) == 2, started  # the worker and its detached grandchild
    assert [pid for pid in started if _alive(pid)] == []


@pytest.mark.django_db
def test_a_second_verification_of_the_same_requirements_reuses_the_cached_environment(tmp_path):
    train = PRINTS_LOSSES.format(seeding="", factor=0.5, noise=0.0)
    first = verification.judge_jobs(run(repository(tmp_path, "first", train, "humanize==4.9.0\n")))
    second = verification.judge_jobs(run(repository(tmp_path, "second", train, "humanize==4.9.0\n")))
    assert (check(first, "installs")["status"], check(second, "installs")["status"]) == ("pass", "pass")
    assert "installed in" in check(first, "installs")["reason"]
    assert "a cached environment in" in check(second, "installs")["reason"]
    assert check(first, "installs")["evidence"][0] == check(second, "installs")["evidence"][0]  # the same key
