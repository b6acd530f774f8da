"""Editing and closing a call, and the call form's warning about budgets its pools cannot run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.models import Application, AuditEntry, Call, CallPool
from portal.services import applications, calls
from tests.portal.conftest import client_for
from tests.portal.test_call_pages import call_post

HOUR = 3600


def edit_post(call: Call, **overrides: object) -> dict[str, object]:
    """The edit form as the page fills it in, with `overrides`."""
    data: dict[str, object] = {
        "title": call.title,
        "description": call.description,
        "opens_at": call.opens_at.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": call.closes_at.strftime("%Y-%m-%dT%H:%M"),
        "reviews_per_application": call.reviews_per_application,
        "conflict_same_affiliation": "on",
        "disagreement_threshold": call.disagreement_threshold,
        "award_validity_days": call.award_validity_days,
    }
    for offer in call.call_pools.all():
        data[f"budget_{offer.pool_id}"] = offer.budget_seconds // HOUR
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_a_budget_larger_than_the_pool_can_run_is_warned_about_next_to_its_field_and_nothing_is_created(
    maintainer, gpu_pool
):
    # 8 accelerators x (30 days + 365 days of award) = 75,840 h at most.
    response = client_for(maintainer).post(reverse("portal:call_create"), call_post({gpu_pool: "100000"}))
    page = response.content.decode()
    assert response.status_code == 400
    assert "nvidia-v100 can run at most 75,8" in page and "this budget is 100,000 h" in page
    assert 'data-testid="accept-over-capacity"' in page
    assert not Call.objects.exists()


@pytest.mark.django_db
def test_the_maintainer_may_keep_a_budget_over_capacity_by_ticking_the_box(maintainer, gpu_pool):
    post = call_post({gpu_pool: "100000"}, accept_over_capacity="on")
    response = client_for(maintainer).post(reverse("portal:call_create"), post)
    assert response.status_code == 302
    assert CallPool.objects.get().budget_seconds == 100_000 * HOUR


@pytest.mark.django_db
def test_a_budget_the_pool_can_run_opens_the_call_without_a_warning(maintainer, gpu_pool):
    response = client_for(maintainer).post(reverse("portal:call_create"), call_post({gpu_pool: "70000"}))
    assert response.status_code == 302


def test_capacity_shortfalls_count_the_call_window_and_the_award_that_follows(gpu_pool):
    now = timezone.now()
    budgets = [(gpu_pool, 8 * 24 * 11 * HOUR)]  # 11 days of the whole pool
    within = calls.capacity_shortfalls(
        opens_at=now, closes_at=now + timedelta(days=1), award_validity_days=10, budgets=budgets
    )
    beyond = calls.capacity_shortfalls(
        opens_at=now, closes_at=now + timedelta(days=1), award_validity_days=9, budgets=budgets
    )
    assert within == []
    assert [(s.pool, s.runnable_seconds) for s in beyond] == [(gpu_pool, 8 * 24 * 10 * HOUR)]


@pytest.mark.django_db
def test_every_problem_of_a_call_shows_next_to_its_field_at_once(maintainer, gpu_pool, tpu_pool):
    post = call_post({gpu_pool: "0", tpu_pool: "-5"}, closes_at="2020-01-01T00:00", title="")
    response = client_for(maintainer).post(reverse("portal:call_create"), post)
    page = response.content.decode()
    assert response.status_code == 400
    assert page.count("Give a positive number of accelerator-hours, or leave it empty.") == 2
    assert "A call must close after it opens." in page and "This field is required." in page
    assert 'data-testid="form-error"' not in page  # none of them at the top of the form
    assert not Call.objects.exists()


@pytest.mark.django_db
def test_a_maintainer_edits_a_call_and_the_audit_log_says_what_changed(maintainer, open_call, gpu_pool, tpu_pool):
    client = client_for(maintainer)
    form = client.get(reverse("portal:call_edit", args=[open_call.pk]))
    assert form.status_code == 200 and 'value="Open compute 2027"' in form.content.decode()
    post = edit_post(open_call, title="Open compute 2027, extended", **{f"budget_{gpu_pool.pk}": "1200"})
    post.pop(f"budget_{tpu_pool.pk}")  # no application asks for it: it may go
    response = client.post(reverse("portal:call_edit", args=[open_call.pk]), post)
    assert response.status_code == 302
    open_call.refresh_from_db()
    assert open_call.title == "Open compute 2027, extended"
    assert dict(open_call.call_pools.values_list("pool__name", "budget_seconds")) == {"nvidia-v100": 1200 * HOUR}
    entry = AuditEntry.objects.get(verb="call.edited")
    assert entry.actor == maintainer and "title" in entry.message and "tpu-v4-8 no longer offered" in entry.message


@pytest.mark.django_db
def test_a_call_keeps_a_pool_applications_ask_for_and_nothing_changes(maintainer, open_call, draft, tpu_pool):
    post = edit_post(open_call, title="Renamed")
    post.pop(f"budget_{draft.pool_id}")
    response = client_for(maintainer).post(reverse("portal:call_edit", args=[open_call.pk]), post)
    page = response.content.decode()
    assert response.status_code == 400
    assert "Applications ask for nvidia-v100: the call keeps offering it." in page
    open_call.refresh_from_db()
    assert open_call.title == "Open compute 2027" and open_call.call_pools.count() == 2
    assert not AuditEntry.objects.filter(verb="call.edited").exists()


@pytest.mark.django_db
def test_a_budget_cannot_drop_below_what_the_call_awarded(maintainer, open_call, gpu_pool):
    CallPool.objects.filter(call=open_call, pool=gpu_pool).update(awarded_seconds=300 * HOUR)
    post = edit_post(open_call, **{f"budget_{gpu_pool.pk}": "200"})
    response = client_for(maintainer).post(reverse("portal:call_edit", args=[open_call.pk]), post)
    assert response.status_code == 400
    assert "The call already awarded 300 h on nvidia-v100; its budget cannot be less." in response.content.decode()
    assert CallPool.objects.get(call=open_call, pool=gpu_pool).budget_seconds == 1000 * HOUR


@pytest.mark.django_db
def test_a_closed_call_takes_no_new_applications(maintainer, applicant, open_call, project, plan):
    response = client_for(maintainer).post(reverse("portal:call_close", args=[open_call.pk]), {"reason": "Full."})
    assert response.status_code == 302
    open_call.refresh_from_db()
    assert not open_call.is_open()
    assert AuditEntry.objects.get(verb="call.closed").message == "Full."
    refused = client_for(applicant).post(
        reverse("portal:apply", args=[open_call.pk]),
        {
            "project": project.pk,
            "pool": "nvidia-v100",
            "requested_hours": "10",
            "workers": 1,
            "accelerators_per_worker": 1,
            "expected_runs": 1,
        },
    )
    assert refused.status_code == 400 and "it is not open now" in refused.content.decode()
    assert not Application.objects.exists()
    again = client_for(maintainer).post(reverse("portal:call_close", args=[open_call.pk]), follow=True)
    assert "closed on" in again.content.decode() and AuditEntry.objects.filter(verb="call.closed").count() == 1


@pytest.mark.django_db
def test_closing_a_call_that_has_not_opened_yet_keeps_its_window_valid(maintainer, gpu_pool):
    now = timezone.now()
    later = calls.open_call(
        title="Next year",
        opens_at=now + timedelta(days=10),
        closes_at=now + timedelta(days=40),
        budgets=[(gpu_pool, 10 * HOUR)],
        actor=maintainer,
    )
    calls.close_call(later, actor=maintainer)
    later.refresh_from_db()
    assert later.opens_at < later.closes_at <= timezone.now() and not later.is_open()


@pytest.mark.django_db
def test_only_maintainers_edit_or_close_a_call(applicant, reviewer, open_call):
    for user in (applicant, reviewer):
        client = client_for(user)
        assert client.get(reverse("portal:call_edit", args=[open_call.pk])).status_code == 403
        assert client.post(reverse("portal:call_edit", args=[open_call.pk]), edit_post(open_call)).status_code == 403
        assert client.post(reverse("portal:call_close", args=[open_call.pk])).status_code == 403
    open_call.refresh_from_db()
    assert open_call.is_open() and not AuditEntry.objects.filter(verb__in=["call.edited", "call.closed"]).exists()


@pytest.mark.django_db
def test_every_problem_of_an_application_shows_next_to_its_field(applicant, open_call, project):
    """The service's refusals (budget, pool size) land beside requested hours and workers, in one answer."""
    response = client_for(applicant).post(
        reverse("portal:apply", args=[open_call.pk]),
        {
            "project": project.pk,
            "pool": "tpu-v4-8",
            "requested_hours": "600",
            "workers": 2,
            "accelerators_per_worker": 3,
            "expected_runs": 1,
        },
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "more than the call&#x27;s whole budget on tpu-v4-8 (500 h)" in page
    assert "2 workers x 3 accelerators do not fit in tpu-v4-8" in page
    assert 'data-testid="form-error"' not in page
    assert not Application.objects.exists()


@pytest.mark.django_db
def test_the_plan_check_collects_every_problem_with_its_field(open_call, plan, gpu_pool):
    from dataclasses import replace

    from portal.errors import WorkflowError

    bad = replace(plan, requested_seconds=5000 * HOUR, workers=0, expected_runs=0)
    with pytest.raises(WorkflowError) as refused:
        applications.check_plan(open_call, bad)
    assert [field for field, _ in refused.value.problems] == ["requested_hours", "workers", "expected_runs"]


@pytest.mark.django_db
def test_a_call_with_applications_cannot_move_its_opening_into_the_future(maintainer, open_call, draft):
    later = (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    post = edit_post(open_call, opens_at=later)
    response = client_for(maintainer).post(reverse("portal:call_edit", args=[open_call.pk]), post)
    assert response.status_code == 400
    assert response.context["form"].errors["opens_at"] == [
        "Projects have applied to this call: it cannot open again later."
    ]
    open_call.refresh_from_db()
    assert open_call.opens_at < timezone.now()
