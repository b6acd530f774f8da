"""/metrics: behind a bearer token, answered at the pod's address, with the queue and the quota in it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.signals import task_failure, task_success
from django.db.models import F
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from config.celery import app
from config.metrics import TASKS_KEY
from scheduler import admission, quota
from scheduler.models import Allocation
from tests.scheduler.factories import HOUR, PoolFactory, job_request, make_allocation

pytestmark = pytest.mark.django_db
TOKEN = "scrape-token-for-tests"
POD = {"HTTP_HOST": "10.4.0.7:8000"}  # Prometheus scrapes the pod's address, not a public name


def samples(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **POD)
    assert response.status_code == 200, response.content
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_without_a_token_configured_metrics_do_not_exist(client, settings):
    settings.CG_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ", **POD).status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_a_missing_or_wrong_token_is_refused(client, settings, header):
    settings.CG_METRICS_TOKEN = TOKEN
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/metrics", **extra, **POD)
    assert response.status_code == 401 and b"computegrant" not in response.content


def test_the_queue_admission_and_quota_per_pool_in_kueues_terms(client, settings):
    settings.CG_METRICS_TOKEN = TOKEN
    settings.CG_LAUNCH_ON_ADMISSION = False
    pool = PoolFactory(name="nvidia-v100", capacity=4)
    allocation = make_allocation(pool=pool, hours=100)
    first = quota.submit_job(allocation, job_request(workers=2, per_worker=2, runtime=HOUR))
    quota.submit_job(allocation, job_request(workers=1, per_worker=1, runtime=HOUR))
    admission.admit_pool(pool.pk, now=first.submitted_at + timedelta(seconds=3))

    got = samples(client)
    pool_label = (("pool", "nvidia-v100"),)
    assert got[("computegrant_pending_jobs", pool_label)] == 1
    assert got[("computegrant_admitted_active_jobs", pool_label)] == 1
    assert got[("computegrant_admitted_jobs_total", pool_label)] == 1
    assert got[("computegrant_finished_jobs_total", (("pool", "nvidia-v100"), ("state", "failed")))] == 0
    wait = (("le", "2.0"), ("pool", "nvidia-v100")), (("le", "5.0"), ("pool", "nvidia-v100"))
    assert got[("computegrant_admission_wait_time_seconds_bucket", wait[0])] == 0
    assert got[("computegrant_admission_wait_time_seconds_bucket", wait[1])] == 1
    assert got[("computegrant_admission_wait_time_seconds_sum", pool_label)] == pytest.approx(3, abs=0.01)
    resource = (("pool", "nvidia-v100"), ("resource", "nvidia.com/gpu"))
    assert got[("computegrant_cluster_queue_nominal_quota", resource)] == 4
    assert got[("computegrant_cluster_queue_resource_usage", resource)] == 4
    kinds = {kind: got[("computegrant_quota_accelerator_seconds", (("kind", kind), ("pool", "nvidia-v100")))]
             for kind in ("awarded", "reserved", "used")}  # fmt: skip
    assert kinds == {"awarded": 100 * HOUR, "reserved": 5 * HOUR, "used": 0}


def test_celery_queue_lengths_and_task_outcomes(client, settings):
    settings.CG_METRICS_TOKEN = TOKEN
    with app.connection_for_write() as connection:
        connection.default_channel.client.delete(TASKS_KEY)

    class Task:
        name = "scheduler.tasks.admit"

    task_success.send(sender=Task())
    task_success.send(sender=Task())
    task_failure.send(sender=Task(), exception=RuntimeError("x"))

    got = samples(client)
    assert got[("computegrant_celery_broker_up", ())] == 1
    for queue in settings.CELERY_WORKER_QUEUES:
        assert ("computegrant_celery_queue_length", (("queue", queue),)) in got
    outcome = lambda kind: (("outcome", kind), ("task", "scheduler.tasks.admit"))  # noqa: E731
    assert got[("computegrant_celery_tasks_total", outcome("success"))] == 2
    assert got[("computegrant_celery_tasks_total", outcome("failure"))] == 1


def test_requests_are_timed_by_the_view_that_answered(client, settings):
    settings.CG_METRICS_TOKEN = TOKEN
    client.get("/checks/")
    got = samples(client)
    timed = [key for key in got if key[0] == "computegrant_http_request_duration_seconds_count"]
    assert any(dict(labels).get("method") == "GET" and dict(labels)["view"] != "unresolved" for _, labels in timed)
    assert timezone.now()  # the scrape itself never fails on a fresh database


def test_ledger_drift_counts_active_allocations_whose_balances_differ_from_their_ledger(client, settings):
    settings.CG_METRICS_TOKEN = TOKEN
    pool = PoolFactory(name="drift-pool", capacity=4)
    allocation = make_allocation(pool=pool, hours=10)
    quota.submit_job(allocation, job_request(runtime=HOUR))  # a reserve entry
    make_allocation(pool=pool, hours=5)
    assert samples(client)[("computegrant_ledger_drift_allocations", (("pool", "drift-pool"),))] == 0

    Allocation.objects.filter(pk=allocation.pk).update(reserved=F("reserved") + 1)  # a balance moved off the ledger

    assert samples(client)[("computegrant_ledger_drift_allocations", (("pool", "drift-pool"),))] == 1
