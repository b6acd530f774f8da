"""Infrastructure faults on the Kubernetes path: an API server that answers 500, times out after
doing the work, or answers 409 to a retried create. No job is lost or run twice, and the ledger
stays equal to its sums."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from django.utils import timezone

from scheduler import admission, quota, runner, runner_tasks
from scheduler.backends import kubernetes
from scheduler.models import Allocation, TrainingJob
from tests.scheduler.backends.kube_apiserver import ApiServer
from tests.scheduler.factories import PoolFactory, job_request, make_allocation

pytestmark = pytest.mark.django_db
S = TrainingJob.State
NS = "training"


@pytest.fixture
def api(tmp_path, monkeypatch, settings):
    settings.CG_LAUNCH_ON_ADMISSION = False  # each test drives the launches itself
    server = ApiServer()
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "loopback", "cluster": {"server": server.url}}],
        "users": [{"name": "tester", "user": {"token": "test-token"}}],
        "contexts": [{"name": "loopback", "context": {"cluster": "loopback", "user": "tester"}}],
        "current-context": "loopback",
    }
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(kubeconfig))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setattr(kubernetes, "REQUEST_TIMEOUT", (1.0, 0.5))
    server.slow_seconds = 1.5
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _ledger_equals_its_sums():
    yield
    for allocation in Allocation.objects.all():
        balances = quota.ledger_balances(allocation)
        assert balances == {key: getattr(allocation, key) for key in balances}, f"allocation {allocation.pk}"


def admitted_job(workers: int = 2) -> TrainingJob:
    pool = PoolFactory(backend="kubernetes", namespace=NS, capacity=4)
    allocation = make_allocation(pool=pool, hours=10)
    request = job_request(workers=workers, runtime=600, repository_url="https://github.com/example/digits")
    job = quota.submit_job(allocation, request)
    assert admission.admit_pending_jobs(pool) == [job.pk]
    return job


def stale(job: TrainingJob) -> None:
    """Past the reconcile bound, as if the launcher's claim were minutes old."""
    TrainingJob.objects.filter(pk=job.pk).update(launch_claimed_at=timezone.now() - timedelta(minutes=5))


def jobs_created(api: ApiServer) -> int:
    """Training Jobs (each job also has its preparation Job, `-prepare`, created before it)."""
    return sum(1 for key in api.objects if key[0] == "jobs" and not key[2].endswith("-prepare"))


def test_a_500_on_the_job_create_leaves_the_launch_to_the_sweep_which_starts_it_once(api):
    job = admitted_job()
    api.faults.append(("POST", "jobs", 500))

    assert runner.launch_job(job.pk) == "not started"  # not failed: the API's blip is not the job's fault
    job.refresh_from_db()
    assert job.state == S.LAUNCHING and not job.backend_handle and jobs_created(api) == 0

    stale(job)
    assert runner.reconcile_stale_launches() == {job.pk: "returned to admitted"}
    assert runner.launch_job(job.pk) == "launched"  # the fence and Service it made are its own (409)
    job.refresh_from_db()
    assert job.state == S.LAUNCHING and job.backend_handle["name"] == f"cg-job-{job.pk}"
    assert jobs_created(api) == 1


def test_a_create_that_times_out_after_succeeding_is_adopted_not_run_twice(api):
    job = admitted_job()
    # The preparation Job is made as usual; the API makes the training Job, the answer never arrives in time.
    api.faults.extend([("POST", "jobs", "ok"), ("POST", "jobs", "slow")])

    assert runner.launch_job(job.pk) == "not started"
    assert jobs_created(api) == 1
    job.refresh_from_db()
    assert job.state == S.LAUNCHING and not job.backend_handle

    stale(job)
    assert runner.reconcile_stale_launches() == {job.pk: "adopted"}
    job.refresh_from_db()
    assert job.backend_handle["name"] == f"cg-job-{job.pk}"
    creates = [path for method, path in api.requests if method == "POST" and path.endswith("/jobs")]
    assert len(creates) == 2 and jobs_created(api) == 1  # the preparation Job and the Job, once each


def test_a_retried_create_meeting_409_adopts_and_the_run_is_charged_once(api):
    job = admitted_job(workers=1)
    api.faults.append(("POST", "services", "slow"))  # made, unanswered: the next attempt meets 409

    assert runner.launch_job(job.pk) == "not started"
    stale(job)
    assert runner.reconcile_stale_launches() == {job.pk: "returned to admitted"}  # no Job yet
    assert runner.launch_job(job.pk) == "launched"
    name = f"cg-job-{job.pk}"
    finished = {"exitCode": 0, "startedAt": "2026-01-01T00:00:00Z", "finishedAt": "2026-01-01T00:01:40Z"}
    api.put_pod(NS, name, 0, ready=False, state={"terminated": finished})
    api.set_job_condition(NS, name, "Complete")

    assert runner.sync_job(job.pk) == "succeeded"
    assert runner.sync_job(job.pk) == "nothing to do"
    job.refresh_from_db()
    assert job.state == S.SUCCEEDED and job.charged_seconds == 100 and job.reserved_seconds == 0
    assert jobs_created(api) == 1


def test_an_api_answering_500_to_one_jobs_status_does_not_stop_the_sweep_for_the_others(api):
    first, second = admitted_job(workers=1), admitted_job(workers=1)
    assert runner.launch_job(first.pk) == runner.launch_job(second.pk) == "launched"
    for job in (first, second):
        finished = {"exitCode": 0, "startedAt": "2026-01-01T00:00:00Z", "finishedAt": "2026-01-01T00:00:10Z"}
        api.put_pod(NS, f"cg-job-{job.pk}", 0, ready=False, state={"terminated": finished})
        api.set_job_condition(NS, f"cg-job-{job.pk}", "Complete")
    api.faults.append(("GET", "jobs", 500))  # the first status read of the sweep fails

    assert runner_tasks.sync_running_jobs() == 2
    states = dict(TrainingJob.objects.filter(pk__in=[first.pk, second.pk]).values_list("pk", "state"))
    assert sorted(states.values()) == [S.LAUNCHING, S.SUCCEEDED]  # one synced, one left for next time

    runner_tasks.sync_running_jobs()  # the API answers again: the other ends too, charged once
    for job in (first, second):
        job.refresh_from_db()
        assert job.state == S.SUCCEEDED and job.charged_seconds == 10


def test_a_status_read_that_times_out_leaves_the_job_as_it_was(api):
    job = admitted_job(workers=1)
    assert runner.launch_job(job.pk) == "launched"
    api.faults.extend([("GET", "jobs", "slow")] * 4)  # the client's own retries time out too

    with pytest.raises(Exception):  # noqa: B017 - whichever urllib3 error; the job must not change
        runner.sync_job(job.pk)
    job.refresh_from_db()
    assert job.state == S.LAUNCHING and job.reserved_seconds > 0 and job.charged_seconds == 0
