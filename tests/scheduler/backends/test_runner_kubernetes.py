"""The runner on a Kubernetes pool: the official client, configured by a kubeconfig, against a
stateful API server on loopback. Launch, a retried launch, started when all pods are ready, cancel."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from django.utils import timezone

from scheduler import admission, launches, quota, runner
from scheduler.backends import get_backend
from scheduler.models import TrainingJob
from tests.scheduler.backends.kube_apiserver import ApiServer
from tests.scheduler.factories import PoolFactory, job_request, make_allocation

S = TrainingJob.State


@pytest.fixture
def api(tmp_path, monkeypatch):
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
    yield server
    server.close()


@pytest.mark.django_db
def test_a_kubernetes_job_is_launched_once_runs_when_all_pods_are_ready_and_cancels_by_deleting(api):
    pool = PoolFactory(name="v100", backend="kubernetes", namespace="training", capacity=4)
    allocation = make_allocation(pool=pool, hours=10)
    job = quota.submit_job(
        allocation,
        job_request(workers=2, runtime=600, repository_url="https://github.com/example/digits", commit="c" * 40),
    )
    assert admission.admit_pending_jobs(pool) == [job.pk]

    assert runner.launch_job(job.pk) == "launched"
    assert runner.launch_job(job.pk) == "nothing to do"  # a second launch finds the job claimed
    job.refresh_from_db()
    handle = job.backend_handle
    # Submitted again for the same claim, the backend meets its own objects (409) and adopts them.
    assert get_backend("kubernetes").submit(launches.spec_for(job)) == handle
    # A launcher that died after creating the objects, before storing the handle: the sweep finds
    # them by their name and adopts them.
    TrainingJob.objects.filter(pk=job.pk).update(
        backend_handle={}, launch_claimed_at=timezone.now() - timedelta(minutes=5)
    )
    assert runner.reconcile_stale_launches() == {job.pk: "adopted"}
    assert sorted(key[2] for key in api.objects if key[0] == "jobs") == [f"cg-job-{job.pk}", f"cg-job-{job.pk}-prepare"]
    name = f"cg-job-{job.pk}"
    job.refresh_from_db()
    assert job.state == S.LAUNCHING and job.backend_handle == handle and handle["name"] == name

    assert runner.sync_job(job.pk) == "pending"
    for index in range(2):
        api.put_pod("training", name, index, ready=True, state={"running": {"startedAt": "2026-01-01T00:00:00Z"}})
    assert runner.sync_job(job.pk) == "running"
    job.refresh_from_db()
    assert job.state == S.RUNNING

    quota.cancel_job(job)
    assert runner.sync_job(job.pk) == "cancelled"
    job.refresh_from_db()
    allocation.refresh_from_db()
    assert job.state == S.CANCELLED and "owner's request" in job.failure_reason
    assert api.objects == {}  # Job, its pods and the Service deleted
    assert allocation.reserved == 0 and allocation.used == job.charged_seconds


@pytest.mark.django_db
def test_a_job_whose_kubernetes_objects_vanished_is_marked_lost(api):
    pool = PoolFactory(name="v100", backend="kubernetes", namespace="training", capacity=4)
    job = quota.submit_job(
        make_allocation(pool=pool, hours=10),
        job_request(workers=1, runtime=600, repository_url="https://github.com/example/digits", commit="c" * 40),
    )
    admission.admit_pending_jobs(pool)
    runner.launch_job(job.pk)
    api.objects.clear()  # e.g. the cluster was rebuilt

    assert runner.sync_job(job.pk) == "lost"
    job.refresh_from_db()
    assert job.state == S.LOST and "no longer exists" in job.failure_reason
