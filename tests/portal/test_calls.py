"""Opening calls: pools with budgets, a rubric, a window; bad calls are refused whole."""

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.errors import WorkflowError
from portal.models import AuditEntry, Call
from portal.services import calls

HOUR = 3600


@pytest.mark.django_db
def test_an_open_call_offers_its_pools_with_budgets_and_the_default_rubric(open_call, gpu_pool, tpu_pool):
    budgets = {cp.pool.name: cp.budget_seconds for cp in open_call.call_pools.all()}
    assert budgets == {"nvidia-v100": 1000 * HOUR, "tpu-v4-8": 500 * HOUR}
    assert [c.name for c in open_call.criteria.all()] == [
        "Impact",
        "Technical merit",
        "Feasibility",
        "Reproducibility",
    ]
    assert open_call.is_open() and list(calls.open_calls()) == [open_call]
    assert AuditEntry.objects.filter(verb="call.opened").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"closes_at": timezone.now() - timedelta(days=2)}, "close after it opens"),
        ({"budgets": []}, "at least one pool"),
        ({"criteria": []}, "rubric"),
        ({"criteria": [calls.Criterion("Impact"), calls.Criterion("impact")]}, "distinct names"),
        ({"criteria": [calls.Criterion("Impact", weight=0)]}, "weights must be positive"),
        ({"reviews_per_application": 0}, "at least one review"),
    ],
)
def test_a_bad_call_is_refused_and_nothing_is_created(gpu_pool, change, message):
    arguments = {
        "title": "Bad",
        "opens_at": timezone.now() - timedelta(days=1),
        "closes_at": timezone.now() + timedelta(days=1),
        "budgets": [(gpu_pool, 10 * HOUR)],
        **change,
    }
    with pytest.raises(WorkflowError, match=message):
        calls.open_call(**arguments)
    assert not Call.objects.exists()


@pytest.mark.django_db
def test_a_pool_offered_twice_or_with_no_budget_is_refused(gpu_pool):
    now = timezone.now()
    window = {"opens_at": now, "closes_at": now + timedelta(days=1)}
    with pytest.raises(WorkflowError, match="once per call"):
        calls.open_call(title="Twice", budgets=[(gpu_pool, HOUR), (gpu_pool, HOUR)], **window)
    with pytest.raises(WorkflowError, match="positive"):
        calls.open_call(title="Empty", budgets=[(gpu_pool, 0)], **window)
    assert not Call.objects.exists()


@pytest.mark.django_db
def test_calls_outside_their_window_are_not_open(gpu_pool):
    now = timezone.now()
    later = calls.open_call(
        title="Later", opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=2), budgets=[(gpu_pool, HOUR)]
    )
    closed = calls.open_call(
        title="Closed", opens_at=now - timedelta(days=2), closes_at=now - timedelta(days=1), budgets=[(gpu_pool, HOUR)]
    )
    assert not later.is_open() and not closed.is_open()
    assert list(calls.open_calls()) == []
    assert later.slug != closed.slug
