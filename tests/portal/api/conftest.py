"""API fixtures: clients signed in with a token, and a small world of two applicants' projects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from portal.models import ReviewAssignment
from portal.services import applications, decisions, projects
from reproducibility import services as reproducibility_services
from scheduler import quota

HOUR = 3600


@pytest.fixture(autouse=True)
def fresh_throttle_counters():
    """Throttle counters live in the cache; each test starts with none spent."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(db):  # type: ignore[no-untyped-def]
    """A client authenticated as `user` by its API token (anonymous without one)."""

    def client_for(user: Any = None) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return client_for


@dataclass
class World:
    owner: Any
    other: Any
    reviewer: Any
    unassigned: Any
    maintainer: Any
    project: Any
    other_project: Any
    application: Any
    other_application: Any
    allocation: Any
    job: Any


@pytest.fixture
def world(make_user, open_call, make_local_repo, plan, maintainer, reviewer):  # type: ignore[no-untyped-def]
    """ada's project: awarded, with a queued job, reviewed by rosa; eve's project: a draft; ravi reviews nothing."""
    owner = make_user("ada", "applicant", affiliation="Open Digits Lab")
    other = make_user("eve", "applicant", affiliation="Elsewhere")
    open_call.reviews_per_application = 1
    open_call.save()
    project = projects.create_project(owner, name="Digits", repository_url=str(make_local_repo()))
    other_project = projects.create_project(other, name="Other", repository_url=str(make_local_repo("other")))
    application = applications.submit(applications.save_draft(project, open_call, plan, actor=owner), actor=owner)
    assert application.assignments.get().reviewer == reviewer
    other_application = applications.save_draft(other_project, open_call, plan, actor=other)
    unassigned = make_user("ravi", "reviewer", affiliation="Elsewhere Institute")  # after the assignment
    reproducibility_services.score_snapshot(application.snapshot_id)  # scored before it is decided
    application = decisions.award(application, 100 * HOUR, actor=maintainer, message="Enjoy.")
    job = quota.submit_job(
        application.allocation, quota.JobRequest(entrypoint="train.py", workers=1, max_runtime_seconds=600)
    )
    assert not ReviewAssignment.objects.filter(reviewer=unassigned).exists()
    return World(
        owner=owner,
        other=other,
        reviewer=reviewer,
        unassigned=unassigned,
        maintainer=maintainer,
        project=project,
        other_project=other_project,
        application=application,
        other_application=other_application,
        allocation=application.allocation,
        job=job,
    )
