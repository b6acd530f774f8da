"""The burn-down chart: an allocation with no usage yet shows what was awarded across its period."""

import pytest
from django.urls import reverse

from portal.access import roles
from scheduler import selectors
from tests.scheduler.factories import PoolFactory, ProjectFactory, make_allocation

pytestmark = pytest.mark.django_db


def _points(polyline: str) -> list[tuple[float, float]]:
    return [tuple(map(float, pair.split(","))) for pair in polyline.split()]  # type: ignore[misc]


def test_an_allocation_with_no_usage_draws_its_awarded_line_across_the_period(client, make_user):
    owner = make_user("owner", roles.APPLICANT)
    allocation = make_allocation(pool=PoolFactory(capacity=8), project=ProjectFactory(owner=owner), hours=10)
    chart = selectors.burn_down(allocation)
    awarded = _points(chart.awarded_points)
    assert chart.max_hours == 10
    assert awarded[0][0] == 40 and awarded[-1][0] == pytest.approx(chart.width - 10)  # start to the period's end
    assert {y for _, y in awarded} == {10.0}  # the top of the plot: all 10 h
    client.force_login(owner)
    page = client.get(reverse("scheduler:allocation_detail", args=[allocation.pk])).content.decode()
    assert 'data-testid="burn-down-awarded"' in page and "awarded ·" in page
