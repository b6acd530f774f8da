"""The periodic tasks on a real Celery worker: delivered twice, they still admit each job once."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery import app
from scheduler import quota
from scheduler.models import Allocation, JobEvent, TrainingJob
from tests.scheduler.factories import PoolFactory, job_request, make_allocation

S = TrainingJob.State


@pytest.mark.django_db(transaction=True)
def test_the_admission_task_delivered_twice_admits_each_job_once(celery_worker):
    pool = PoolFactory(capacity=4)
    allocation = make_allocation(pool=pool, hours=100)
    jobs = [quota.submit_job(allocation, job_request(workers=1)) for _ in range(3)]
    first = app.send_task("scheduler.tasks.run_admission_cycle", kwargs={"pool_id": pool.pk})
    second = app.send_task("scheduler.tasks.run_admission_cycle", kwargs={"pool_id": pool.pk})
    admitted = first.get(timeout=60) + second.get(timeout=60)
    assert sorted(admitted) == sorted(job.pk for job in jobs)
    assert set(JobEvent.objects.filter(job__pool=pool, to_state=S.ADMITTED).values_list("job_id", flat=True)) == {
        job.pk for job in jobs
    }
    assert JobEvent.objects.filter(job__pool=pool, to_state=S.ADMITTED).count() == 3
    # Admission handed them to the launcher; with no source to run they fail, charged nothing.
    deadline = time.monotonic() + 60
    while TrainingJob.objects.filter(pool=pool, state=S.FAILED).count() < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    failed = TrainingJob.objects.filter(pool=pool, state=S.FAILED)
    assert failed.count() == 3 and {job.charged_seconds for job in failed} == {0}
    assert all("could not be started" in job.failure_reason for job in failed)


@pytest.mark.django_db(transaction=True)
def test_the_expiry_task_expires_and_cancels(celery_worker):
    allocation = make_allocation(hours=10)
    job = quota.submit_job(allocation, job_request())
    Allocation.objects.filter(pk=allocation.pk).update(
        starts_at=timezone.now() - timedelta(days=3), expires_at=timezone.now() - timedelta(hours=1)
    )
    result = app.send_task("scheduler.tasks.expire_allocations")
    assert allocation.pk in result.get(timeout=60)
    job.refresh_from_db()
    allocation.refresh_from_db()
    assert job.state == S.CANCELLED and allocation.reserved == 0


def test_the_beat_schedule_runs_admission_and_expiry():
    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {"scheduler.tasks.run_admission_cycle", "scheduler.tasks.expire_allocations"} <= tasks
