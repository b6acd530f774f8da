"""The admin's lists cost the same number of queries whatever their length.

A column that names a related row (an application's project, a ledger entry's allocation) costs one
query per row unless the list selects it with the rows (list_select_related). Each list is read as
the operator, who may see every model, with one of everything (the authorisation matrix's world) and
again with three, and must make the same queries both times.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.models import ConflictDeclaration, ReviewAssignment
from portal.services import (
    applications,
    award_requests,
    calls,
    decisions,
    invitations,
    projects,
    repository_changes,
    reviews,
)
from reproducibility import services as reproducibility_services
from scheduler import quota
from scheduler.models import AcceleratorPool
from tests.portal.test_admin_authorization_matrix import (  # noqa: F401 (the shared fixtures)
    OPERATOR,
    add_after_award_records,
    admin_world,
    world,
)
from tests.portal.test_authorization_matrix import MAINTAINER, OTHER, World

HOUR = 3600


def add_story(index: int, w: World, make_user: Any, make_local_repo: Any, plan: Any) -> None:
    """One more of everything the world holds: a call, a project applying to it, its review, award and
    run, a conflict, an invitation, a supplement request, a notice, a report and a verification."""
    maintainer = w.users[MAINTAINER]
    now = timezone.now()
    call = calls.open_call(
        title=f"Story call {index}",
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=30),
        budgets=[(plan.pool, 1000 * HOUR)],
        reviews_per_application=1,
        actor=maintainer,
    )
    owner = make_user(f"owner{index}", "applicant")
    make_user(f"reviewer{index}", "reviewer", affiliation=f"Institute {index}")
    project = projects.create_project(owner, name=f"Story {index}", repository_url=str(make_local_repo(f"r{index}")))
    application = applications.submit(applications.save_draft(project, call, plan, actor=owner), actor=owner)
    conflicted = make_user(f"conflicted{index}", "reviewer")
    ConflictDeclaration.objects.create(reviewer=conflicted, project=project, reason="co-author")
    ReviewAssignment.objects.create(application=application, reviewer=conflicted, state="conflicted")
    assignment = application.assignments.exclude(reviewer=conflicted).get()
    reviews.submit_review(
        assignment,
        actor=assignment.reviewer,
        scores={c.pk: 3 for c in call.criteria.all()},
        comment_to_applicant="Fine.",
        recommendation="award",
        recommended_seconds=50 * HOUR,
    )
    application = decisions.award(application, 50 * HOUR, actor=maintainer, message="Go.")
    snapshot = reproducibility_services.score_snapshot(application.snapshot_id)
    job = quota.submit_job(
        application.allocation, quota.JobRequest(entrypoint="train.py", workers=1, max_runtime_seconds=600)
    )
    invitations.invite(project, w.users[OTHER].username, actor=owner)
    award_requests.request_supplement(application.allocation, actor=owner, seconds=5 * HOUR, reason="More seeds.")
    repository_changes.request_change(
        project, actor=owner, repository_url=str(make_local_repo(f"fixed{index}")), reason="Fix the loader."
    )
    AcceleratorPool.objects.create(name=f"story-pool-{index}", kind=AcceleratorPool.Kind.GPU, capacity=4)
    story = World(
        users=w.users,
        project=project,
        other_project=project,
        call=call,
        application=application,
        assignment=assignment,
        allocation=application.allocation,
        job=job,
        snapshot=snapshot,
    )
    add_after_award_records(story)


def changelist_queries(client: Client) -> dict[str, tuple[int, int]]:
    """Each registered model's list: (queries made, rows on the page)."""
    answers = {}
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, url
        answers[model._meta.label_lower] = (len(queries), len(response.context["cl"].result_list))
    return answers


def test_each_admin_list_makes_the_same_queries_for_one_row_and_for_three(
    admin_world: World,  # noqa: F811
    make_user: Any,
    make_local_repo: Any,
    plan: Any,
) -> None:
    client = Client()
    client.force_login(admin_world.users[OPERATOR])
    small = changelist_queries(client)
    for index in (1, 2):
        add_story(index, admin_world, make_user, make_local_repo, plan)
    large = changelist_queries(client)
    grew = {label for label in small if large[label][1] > small[label][1]}
    per_row = {label: (small[label], large[label]) for label in grew if large[label][0] != small[label][0]}
    assert not per_row, f"lists whose queries grow with their rows ((queries, rows) at two sizes): {per_row}"
    # Every list of ours really grew (else the comparison proved nothing about it).
    ours = {label for label in small if label.split(".")[0] in ("portal", "scheduler", "reproducibility")}
    assert not ours - grew, f"lists that did not grow: {sorted(ours - grew)}"


def test_each_admin_list_searches_and_sorts_by_each_column(admin_world: World) -> None:  # noqa: F811
    """A search field or a sortable column naming a wrong lookup fails only when used: use each."""
    client = Client()
    client.force_login(admin_world.users[OPERATOR])
    failures = []
    for model, model_admin in admin.site._registry.items():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        queries = [f"?o={index}" for index in range(1, len(model_admin.list_display) + 1)]
        queries += [f"?o=-{index}" for index in range(1, len(model_admin.list_display) + 1)]
        if model_admin.search_fields:
            queries += ["?q=digits", "?q=a+b"]
        for query in queries:
            response = client.get(url + query)
            if response.status_code != 200 or "?e=1" in response.get("Location", ""):
                failures.append(f"{url}{query}: {response.status_code} {response.get('Location', '')}")
    assert not failures, "\n".join(failures)
