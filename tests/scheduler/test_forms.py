"""The run form offers the limits the pool enforces, and says so next to the field (page and API alike)."""

import pytest
from django.urls import reverse

from portal.access import roles
from scheduler.models import TrainingJob
from tests.portal.conftest import client_for
from tests.scheduler.factories import PoolFactory, ProjectFactory, make_allocation

pytestmark = pytest.mark.django_db
RUN = {"entrypoint": "train.py", "workers": 1, "accelerators_per_worker": 1, "seed": 1}


@pytest.fixture
def allocation(make_user):
    project = ProjectFactory(owner=make_user("owner", roles.APPLICANT))
    pool = PoolFactory(name="nvidia-v100", capacity=8, max_runtime_seconds=24 * 3600)
    return make_allocation(pool=pool, project=project, hours=10_000)


def test_the_run_form_offers_the_pool_s_longest_runtime_not_a_week(allocation):
    page = client_for(allocation.project.owner).get(reverse("scheduler:allocation_detail", args=[allocation.pk]))
    field = page.context["form"]["max_runtime_minutes"]
    assert 'max="1440"' in str(field)
    assert "At most 1,440 minutes (24 h) on nvidia-v100." in field.help_text


def test_a_runtime_beyond_the_pool_s_is_refused_next_to_the_field_on_the_page_and_in_the_api(allocation):
    client = client_for(allocation.project.owner)
    response = client.post(
        reverse("scheduler:allocation_detail", args=[allocation.pk]), {**RUN, "max_runtime_minutes": 10_080}
    )
    expected = ["nvidia-v100 runs a job for at most 1,440 minutes (24 h); ask for 1,440 or fewer."]
    assert response.status_code == 400
    assert response.context["form"].errors["max_runtime_minutes"] == expected
    answer = client.post(
        "/api/v1/jobs/",
        {**RUN, "allocation": allocation.pk, "max_runtime_minutes": 10_080},
        content_type="application/json",
    )
    assert answer.status_code == 400 and answer.json()["max_runtime_minutes"] == expected
    assert not TrainingJob.objects.exists()
