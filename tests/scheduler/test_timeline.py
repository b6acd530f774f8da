"""A run's timeline says each step once: "queued → admitted: all its accelerators are free"."""

import pytest
from django.urls import reverse

from portal.access import roles
from scheduler import admission, quota
from tests.portal.conftest import client_for
from tests.scheduler.factories import PoolFactory, ProjectFactory, job_request, make_allocation

pytestmark = pytest.mark.django_db


def test_the_admission_step_does_not_repeat_its_state(make_user):
    owner = make_user("owner", roles.APPLICANT)
    allocation = make_allocation(pool=PoolFactory(name="nvidia-v100", capacity=8), project=ProjectFactory(owner=owner))
    job = quota.submit_job(allocation, job_request(), actor=owner)
    admission.admit_pending_jobs(job.pool)
    event = job.events.get(to_state="admitted")
    assert event.message == "all its accelerators are free"
    page = " ".join(client_for(owner).get(reverse("scheduler:job_detail", args=[job.pk])).content.decode().split())
    assert "<strong>admitted</strong>: all its accelerators are free" in page
    assert "admitted: admitted" not in page
