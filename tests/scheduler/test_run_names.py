"""One name for a run on every page, and links both ways between a run, its curves, its allocation and the
application that awarded it."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.access import roles
from portal.models import Application
from portal.services import calls
from scheduler import quota
from tests.scheduler.factories import HOUR, PoolFactory, ProjectFactory, job_request, make_allocation

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(make_user):
    owner = make_user("owner", roles.APPLICANT)
    allocation = make_allocation(pool=PoolFactory(name="nvidia-v100", capacity=8), project=ProjectFactory(owner=owner))
    job = quota.submit_job(allocation, job_request(workers=1, runtime=HOUR), actor=owner)
    job.name = "baseline"
    job.save(update_fields=["name"])
    return owner, job


def test_a_run_is_called_the_same_on_its_pages_and_in_lists(client, run):
    owner, job = run
    client.force_login(owner)
    assert job.title == f"Run #{job.pk} (baseline)"
    for url in (
        reverse("scheduler:job_detail", args=[job.pk]),
        reverse("scheduler:job_list"),
        reverse("scheduler:allocation_detail", args=[job.allocation_id]),
    ):
        assert job.title in client.get(url).content.decode(), url


def test_the_run_and_allocation_pages_link_to_the_application_that_awarded_them(client, run):
    owner, job = run
    now = timezone.now()
    call = calls.open_call(
        title="Open compute",
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=1),
        budgets=[(job.pool, 100 * HOUR)],
    )
    application = Application.objects.create(
        call=call,
        project=job.allocation.project,
        pool=job.pool,
        requested_seconds=10 * HOUR,
        state=Application.State.AWARDED,
        allocation=job.allocation,
    )
    client.force_login(owner)
    page = client.get(reverse("scheduler:job_detail", args=[job.pk])).content.decode()
    assert reverse("scheduler:allocation_detail", args=[job.allocation_id]) in page
    assert reverse("portal:application_detail", args=[application.pk]) in page
    allocation_page = client.get(reverse("scheduler:allocation_detail", args=[job.allocation_id])).content.decode()
    assert reverse("portal:application_detail", args=[application.pk]) in allocation_page
    assert f"Run #{job.pk}" in allocation_page  # its ledger entries name the run as every page does
    curves = client.get(reverse("runs:detail", args=[job.pk])).content.decode()
    assert reverse("scheduler:job_detail", args=[job.pk]) in curves and job.title in curves
