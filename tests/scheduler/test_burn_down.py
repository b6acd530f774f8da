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


def test_time_ticks_of_a_short_period_are_told_apart_by_their_time_not_repeated_dates():
    from datetime import UTC, datetime, timedelta

    start = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    day = [start + timedelta(hours=2 * i) for i in range(4)]
    assert [label for _, label in selectors.time_tick_labels(day)] == [
        "03-01 09:00",
        "03-01 11:00",
        "03-01 13:00",
        "03-01 15:00",
    ]
    year = [start + timedelta(days=120 * i) for i in range(4)]
    assert [label for _, label in selectors.time_tick_labels(year)] == [
        "2027-03-01",
        "2027-06-29",
        "2027-10-27",
        "2028-02-24",
    ]
    same = [start, start, start + timedelta(seconds=1)]
    assert [label for _, label in selectors.time_tick_labels(same)] == ["09:00:00", "09:00:01"]


def test_the_burn_down_labels_its_time_axis_once_per_tick(make_user):
    allocation = make_allocation(pool=PoolFactory(capacity=8), project=ProjectFactory(), hours=10, days=30)
    labels = [label for _, label in selectors.burn_down(allocation).x_ticks]
    assert len(labels) == 4 and len(set(labels)) == 4
