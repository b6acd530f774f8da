"""Many supplements and awards racing for the last hours of a call's budget, on PostgreSQL row locks:
exactly as many as fit are granted, the rest are refused saying why, and nothing is overspent."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from portal.errors import WorkflowError
from portal.models import CallPool
from portal.services import applications, award_requests, call_budget, decisions, projects
from scheduler.models import Allocation

HOUR = 3600
RIVALS = 4  # awards, and as many supplements, each of 10 h, racing for 40 h


@pytest.mark.django_db(transaction=True)
def test_four_supplements_and_four_awards_racing_for_forty_hours_grant_exactly_four(
    open_call, plan, applicant, maintainer, make_user, make_local_repo
):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are what this checks")
    make_user("free", "reviewer", affiliation="Neutral")

    def submitted(name):  # type: ignore[no-untyped-def]
        project = projects.create_project(applicant, name=name, repository_url=str(make_local_repo(name.lower())))
        return applications.submit(applications.save_draft(project, open_call, plan, actor=applicant), actor=applicant)

    awarded = [decisions.award(submitted(f"Held{i}"), 20 * HOUR, actor=maintainer) for i in range(RIVALS)]
    budget = CallPool.objects.get(call=open_call, pool=plan.pool)
    CallPool.objects.filter(pk=budget.pk).update(budget_seconds=(20 * RIVALS + 40) * HOUR)  # 40 h left
    rivals = [submitted(f"Rival{i}") for i in range(RIVALS)]
    requests = [
        award_requests.request_supplement(a.allocation, actor=applicant, seconds=10 * HOUR, reason="More.")
        for a in awarded
    ]
    steps = [lambda r=r: award_requests.approve(r, actor=maintainer) for r in requests]
    steps += [lambda a=a: decisions.award(a, 10 * HOUR, actor=maintainer) for a in rivals]
    barrier = threading.Barrier(len(steps))
    outcomes: list[str] = []

    def run(step):  # type: ignore[no-untyped-def]
        try:
            barrier.wait()
            step()
            outcomes.append("granted")
        except WorkflowError as error:
            outcomes.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(step,)) for step in steps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == 2 * RIVALS and outcomes.count("granted") == RIVALS, outcomes
    assert all("exceed the call's budget" in o for o in outcomes if o != "granted"), outcomes
    budget.refresh_from_db()
    assert budget.awarded_seconds == budget.budget_seconds == call_budget.ledger_sum(budget)
    assert sum(Allocation.objects.values_list("awarded", flat=True)) == budget.awarded_seconds
