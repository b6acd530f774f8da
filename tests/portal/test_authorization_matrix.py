"""Every URL pattern x every role → the expected answer.

The world: an applicant's project with an application under review (one reviewer assigned, one
unassigned, one conflicted), an award, a queued job, a scored snapshot. Each route lists the roles
allowed; everyone else is refused (403, or 404 where a page hides that the object exists), and
anonymous visitors are sent to sign in (pages) or refused (API). A URL pattern missing from the
matrix fails `test_every_url_pattern_is_in_the_matrix`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from portal.models import ConflictDeclaration, ReviewAssignment
from portal.services import (
    applications,
    assignment,
    award_requests,
    decisions,
    invitations,
    projects,
    repository_changes,
    reviews,
)
from reproducibility import services as reproducibility_services
from scheduler import quota
from scheduler.artifacts import runs

ANONYMOUS, OWNER, OTHER, ASSIGNED, UNASSIGNED, CONFLICTED, MAINTAINER = (
    "anonymous",
    "owner",
    "other applicant",
    "assigned reviewer",
    "unassigned reviewer",
    "conflicted reviewer",
    "maintainer",
)
ROLES = (ANONYMOUS, OWNER, OTHER, ASSIGNED, UNASSIGNED, CONFLICTED, MAINTAINER)
SIGNED_IN = frozenset(ROLES) - {ANONYMOUS}
EVERYONE = frozenset(ROLES)
HOUR = 3600


@dataclass
class World:
    users: dict[str, Any]
    project: Any
    other_project: Any
    call: Any
    application: Any
    assignment: Any
    allocation: Any
    job: Any
    snapshot: Any
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """How to call one URL pattern and who may."""

    name: str
    allowed: frozenset[str]
    args: Callable[[World], list[Any]] = lambda w: []
    method: str = "GET"
    data: Callable[[World], dict[str, Any]] = lambda w: {}
    api: bool = False
    # Statuses an allowed role may get (a redirect after a POST, a 404 for a missing artifact...).
    ok: frozenset[int] = frozenset({200})


def R(name: str, allowed: frozenset[str] | set[str], **kwargs: Any) -> Route:
    return Route(name, frozenset(allowed), **kwargs)


PROJECT_PEOPLE = {OWNER, MAINTAINER}
PROJECT_VIEWERS = {OWNER, ASSIGNED, MAINTAINER}
JOB = {"args": lambda w: [w.job.pk]}
RUN = {"args": lambda w: [w.job.pk]}
API: dict[str, Any] = {"api": True}
PROJECT = {"args": lambda w: [w.project.pk], "api": True}
APPLICATION = {"args": lambda w: [w.application.pk], "api": True}


INVITATION_PAGE = {"args": lambda w: [w.extra["invitation"].token]}
INVITATION = {"args": lambda w: [w.extra["invitation"].pk], "api": True}


REVIEWERS = {ASSIGNED, UNASSIGNED, CONFLICTED}
REVIEW = {"args": lambda w: [w.assignment.pk]}
CALL = {"args": lambda w: [w.call.pk]}
MANAGED = {"args": lambda w: [w.application.pk]}


def _conflict(w: World) -> dict[str, Any]:
    return {"reason": "We co-authored a paper."}


def _new_project(w: World) -> dict[str, Any]:
    return {"name": "Another", "repository_url": w.project.repository_url}


def _same_draft(w: World) -> dict[str, Any]:
    return {"project": w.project.pk, "call": w.call.pk, "pool": "nvidia-v100", "requested_hours": 1}


def _decline(w: World) -> dict[str, Any]:
    return {"decision": "decline", "message": "Not this time."}


def _change_request(w: World) -> dict[str, Any]:
    return {"repository_url": w.project.repository_url, "reason": "A fix."}


CHANGE = {"args": lambda w: [w.extra["change"].pk]}
SOURCE = {"args": lambda w: [w.project.pk]}


def _new_job(w: World) -> dict[str, Any]:
    return {"allocation": w.allocation.pk, "entrypoint": "train.py", "workers": 1, "max_runtime_minutes": 10}


REPORT = {"args": lambda w: [w.allocation.reports.first().pk], "api": True}
AWARD_REQUEST = {"args": lambda w: [w.extra["award_request"].pk], "api": True}
ALLOCATION = {"args": lambda w: [w.allocation.pk], "api": True}


def _return(w: World) -> dict[str, Any]:
    return {"decision": "return", "comment": "Link the runs."}


def _supplement(w: World) -> dict[str, Any]:
    return {"allocation": w.allocation.pk, "kind": "supplement", "hours": 1, "reason": "A second seed."}


def _hours(w: World) -> dict[str, Any]:
    return {"hours": 1, "reason": "The report was approved."}


def _reason(w: World) -> dict[str, Any]:
    return {"reason": "The terms were broken."}


MATRIX: list[Route] = [
    # Public pages.
    R("healthz", EVERYONE),
    R("portal:home", EVERYONE),
    R("portal:signup", EVERYONE, ok=frozenset({200, 302})),  # signed in: sent to the dashboard
    R("login", EVERYONE),
    R("password_reset", EVERYONE),
    R("password_reset_done", EVERYONE),
    R("password_reset_complete", EVERYONE),
    R("password_reset_confirm", EVERYONE, args=lambda w: ["MQ", "set-password"], ok=frozenset({200, 302})),
    R("reproducibility:badge", EVERYONE, args=lambda w: [w.snapshot.pk]),  # awarded: public by number
    R("reproducibility:badge_by_token", EVERYONE, args=lambda w: [w.snapshot.badge_token]),
    R("checks:index", EVERYONE),  # the checks' documentation describes rules, not anyone's data
    R("checks:detail", EVERYONE, args=lambda w: ["global-seed"]),
    # Account pages.
    R("password_change", SIGNED_IN),
    R("password_change_done", SIGNED_IN),
    R("logout", EVERYONE, method="POST", ok=frozenset({200, 302})),
    # Applicant pages. The world's application is awarded: its draft controls answer with the refusal.
    R("portal:project_list", SIGNED_IN),  # each sees their own projects
    R("portal:project_create", {OWNER, OTHER}),
    R("portal:project_create", {OWNER, OTHER}, method="POST", data=_new_project, ok=frozenset({302})),
    R("portal:project_detail", PROJECT_VIEWERS, args=lambda w: [w.project.pk]),
    R("portal:project_edit", PROJECT_PEOPLE, args=lambda w: [w.project.pk]),
    R("portal:project_edit", PROJECT_PEOPLE, method="POST", ok=frozenset({400}), args=lambda w: [w.project.pk]),
    R("portal:project_members", PROJECT_PEOPLE, args=lambda w: [w.project.pk]),
    # Membership by invitation. The world's project invited the other applicant, who alone answers it;
    # nobody in the world is a member, so leaving and removing reach the refusal (a message, or 400).
    R(
        "portal:project_members",
        PROJECT_PEOPLE,
        method="POST",
        data=lambda w: {"invitees": "someone"},
        ok=frozenset({302}),
        args=lambda w: [w.project.pk],
    ),
    R(
        "portal:project_member_remove",
        PROJECT_PEOPLE,
        method="POST",
        ok=frozenset({302}),
        args=lambda w: [w.project.pk, w.users[OTHER].pk],
    ),
    R("portal:project_leave", {OWNER}, method="POST", ok=frozenset({302}), args=lambda w: [w.project.pk]),
    R(
        "portal:invitation_revoke",
        PROJECT_PEOPLE,
        method="POST",
        ok=frozenset({302}),
        args=lambda w: [w.project.pk, w.extra["invitation"].pk],
    ),
    R("portal:invitation_list", SIGNED_IN),
    R("portal:invitation_detail", {OTHER}, **INVITATION_PAGE),  # anyone else: 404, even with the link
    R("portal:invitation_accept", {OTHER}, method="POST", ok=frozenset({302}), **INVITATION_PAGE),
    R("portal:invitation_decline", {OTHER}, method="POST", ok=frozenset({302}), **INVITATION_PAGE),
    # Repository changes: members ask (the world's project has one pending: a second is refused), maintainers decide.
    R("portal:project_repository", PROJECT_PEOPLE, **SOURCE),
    R("portal:project_repository", {OWNER}, method="POST", data=_change_request, ok=frozenset({400}), **SOURCE),
    R("portal:repository_change", PROJECT_PEOPLE, **CHANGE),
    R("portal:repository_change_list", {MAINTAINER}),
    R("portal:repository_change_decide", {MAINTAINER}, method="POST", data=_decline, ok=frozenset({302}), **CHANGE),
    R("portal:open_calls", SIGNED_IN),
    R("portal:apply", SIGNED_IN, args=lambda w: [w.call.pk]),  # the form offers only the user's projects
    R("portal:application_detail", PROJECT_VIEWERS, args=lambda w: [w.application.pk]),
    R("portal:application_reproducibility", PROJECT_VIEWERS, args=lambda w: [w.application.pk]),
    R("portal:application_edit", {OWNER}, args=lambda w: [w.application.pk], ok=frozenset({302})),
    R("portal:application_submit", {OWNER}, method="POST", args=lambda w: [w.application.pk], ok=frozenset({400})),
    R("portal:application_withdraw", {OWNER}, method="POST", args=lambda w: [w.application.pk], ok=frozenset({400})),
    # Verification on demand: the world's application is awarded, so it is refused with a message.
    R(
        "portal:application_verify",
        {ASSIGNED, MAINTAINER},
        method="POST",
        args=lambda w: [w.application.pk],
        ok=frozenset({302}),
    ),
    # Reviewer pages. The world's review is submitted: declining or reviewing again is refused with a message.
    R("portal:review_queue", REVIEWERS),
    R("portal:review", {ASSIGNED}, **REVIEW),
    R("portal:review", {ASSIGNED}, method="POST", ok=frozenset({302}), **REVIEW),
    R("portal:review_decline", {ASSIGNED}, method="POST", ok=frozenset({302}), **REVIEW),
    R("portal:review_conflict", {ASSIGNED}, method="POST", data=_conflict, ok=frozenset({302}), **REVIEW),
    # Maintainer pages. The world's application is awarded: deciding or assigning again is refused with a message.
    R("portal:call_list", {MAINTAINER}),
    R("portal:call_create", {MAINTAINER}),
    R("portal:call_create", {MAINTAINER}, method="POST", ok=frozenset({400})),
    R("portal:call_dashboard", {MAINTAINER}, **CALL),
    R("portal:call_audit", {MAINTAINER}, **CALL),
    R("portal:call_edit", {MAINTAINER}, **CALL),
    R("portal:call_edit", {MAINTAINER}, method="POST", ok=frozenset({400}), **CALL),  # an empty form: refused
    R("portal:call_close", {MAINTAINER}, method="POST", ok=frozenset({302}), **CALL),
    R("portal:call_verification", {MAINTAINER}, **CALL),
    R("portal:call_verification", {MAINTAINER}, method="POST", ok=frozenset({400}), **CALL),  # an empty form
    R("portal:application_reviews", {MAINTAINER}, **MANAGED),
    R("portal:application_decide", {MAINTAINER}, ok=frozenset({302}), **MANAGED),  # to the application's page
    R("portal:application_decide", {MAINTAINER}, method="POST", data=_decline, ok=frozenset({302}), **MANAGED),
    R("portal:application_assign", {MAINTAINER}, method="POST", ok=frozenset({302}), **MANAGED),
    # Quota.
    R("scheduler:allocation_list", SIGNED_IN),
    R("scheduler:allocations_csv", SIGNED_IN),  # each sees the rows they may see
    R("scheduler:allocation_detail", PROJECT_VIEWERS, args=lambda w: [w.allocation.pk]),
    R("scheduler:allocation_ledger_csv", PROJECT_VIEWERS, args=lambda w: [w.allocation.pk]),
    R(
        "portal:allocation_release_tranche",
        {MAINTAINER},
        method="POST",
        args=lambda w: [w.allocation.pk],
        data=lambda w: {"hours": "1", "reason": "The 3-month report was approved."},
        ok=frozenset({302}),  # back to the allocation page, saying what happened
    ),
    R("portal:allocation_reports", PROJECT_VIEWERS, args=lambda w: [w.allocation.pk]),
    R("portal:report_detail", PROJECT_VIEWERS, args=lambda w: [w.allocation.reports.first().pk]),
    # An empty report is refused by its form (400): the members' and maintainers' to write.
    R(
        "portal:report_detail",
        PROJECT_PEOPLE,
        method="POST",
        args=lambda w: [w.allocation.reports.first().pk],
        ok=frozenset({400}),
    ),
    R("portal:allocation_requests", PROJECT_VIEWERS, args=lambda w: [w.allocation.pk]),
    # An empty request is refused by its form (400): the members' and maintainers' to send.
    R(
        "portal:allocation_requests",
        PROJECT_PEOPLE,
        method="POST",
        args=lambda w: [w.allocation.pk],
        ok=frozenset({400}),
    ),
    # A renewal drafts the project's application: its members only (an empty form is refused, 400).
    R("portal:allocation_renew", {OWNER}, args=lambda w: [w.allocation.pk]),
    R("portal:allocation_renew", {OWNER}, method="POST", args=lambda w: [w.allocation.pk], ok=frozenset({400})),
    R("portal:allocation_usage", PROJECT_VIEWERS, args=lambda w: [w.allocation.pk]),
    # Public pages answer anyone, and only once the members publish them: the world's project has not.
    R("portal:public_project", EVERYONE, args=lambda w: [w.project.pk], ok=frozenset({404})),
    R("portal:sponsored_badge", EVERYONE, args=lambda w: [w.project.pk], ok=frozenset({404})),
    R(
        "portal:project_public_page",
        {OWNER},
        method="POST",
        args=lambda w: [w.project.pk],
        data=lambda w: {"public": "off"},
        ok=frozenset({302}),
    ),
    R(
        "portal:allocation_reclaim",
        {MAINTAINER},
        method="POST",
        args=lambda w: [w.allocation.pk],
        data=lambda w: {"hours": "1", "reason": "Idle for a month."},
        ok=frozenset({302}),  # refused (no low-usage notice yet), back to the usage page saying so
    ),
    R(
        "portal:allocation_revoke",
        {MAINTAINER},
        method="POST",
        args=lambda w: [w.allocation.pk],
        data=lambda w: {"reason": "The terms were broken."},
        ok=frozenset({302}),  # back to the usage page, saying what went back to the call
    ),
    R(
        "portal:award_request_decide",
        {MAINTAINER},
        method="POST",
        args=lambda w: [w.extra["award_request"].pk],
        ok=frozenset({302}),  # an empty decision: back to the requests, saying what is missing
    ),
    R(
        "portal:report_decide",
        {ASSIGNED, MAINTAINER},  # the award's reviewer decides its reports too
        method="POST",
        args=lambda w: [w.allocation.reports.first().pk],
        ok=frozenset({302}),
    ),
    # The program view: every call's figures, maintainers only.
    R("portal:program_view", {MAINTAINER}),
    R("portal:program_hours_csv", {MAINTAINER}),
    R("portal:program_decisions_csv", {MAINTAINER}),
    R("portal:program_reviewers_csv", {MAINTAINER}),
    R("scheduler:pool_list", {MAINTAINER}),
    R("scheduler:queue", {MAINTAINER}),
    R("scheduler:pool_queue", {MAINTAINER}, args=lambda w: [w.job.pool_id]),
    R("scheduler:job_list", SIGNED_IN),
    R("scheduler:job_detail", PROJECT_VIEWERS, **JOB),
    R("scheduler:job_cancel", PROJECT_PEOPLE, method="POST", ok=frozenset({302}), **JOB),
    # Runs.
    R("runs:compare", SIGNED_IN, ok=frozenset({200})),
    R("runs:detail", PROJECT_VIEWERS, **RUN),
    R("runs:panel", PROJECT_VIEWERS, **RUN),
    R("runs:scalars", PROJECT_VIEWERS, **RUN),
    R("runs:download", PROJECT_VIEWERS, args=lambda w: [w.job.pk, "logs"]),
    R("runs:tensorboard", PROJECT_VIEWERS, **RUN),
    R("runs:tensorboard-bare", PROJECT_VIEWERS, ok=frozenset({301, 302}), **RUN),
    R("runs:tensorboard-path", PROJECT_VIEWERS, args=lambda w: [w.job.pk, "data/runs"]),
    # Reproducibility.
    R("reproducibility:report", PROJECT_VIEWERS, args=lambda w: [w.snapshot.pk]),
    # Reviewers read the report but do not re-score it. The world's report is current: nothing to re-score.
    R("reproducibility:rescore", PROJECT_PEOPLE, method="POST", args=lambda w: [w.snapshot.pk], ok=frozenset({302})),
    # Publishing the badge is the project's choice: its members only, not maintainers.
    R(
        "reproducibility:badge_publish",
        {OWNER},
        method="POST",
        args=lambda w: [w.snapshot.pk],
        data=lambda w: {"public": "on"},
        ok=frozenset({302}),
    ),
    # API (token or session). Refused objects answer 403; the world's application is already awarded,
    # so its members' changes reach the workflow and are refused there (400).
    R("api:schema", EVERYONE),
    R("api:docs", EVERYONE),
    R("api:docs", SIGNED_IN, method="POST"),  # makes the user's token, shown on the page
    R("api:api-root", SIGNED_IN, **API),
    R("api:token", SIGNED_IN, **API),
    R("api:token", SIGNED_IN, method="POST", ok=frozenset({201}), **API),
    R("api:token", SIGNED_IN, method="DELETE", ok=frozenset({204}), **API),
    R("api:call-list", SIGNED_IN, **API),
    R("api:call-detail", SIGNED_IN, args=lambda w: [w.call.pk], **API),
    R("api:project-list", SIGNED_IN, **API),
    R("api:project-list", {OWNER, OTHER}, method="POST", data=_new_project, ok=frozenset({201}), **API),
    R("api:project-detail", PROJECT_VIEWERS, **PROJECT),
    R("api:project-detail", PROJECT_PEOPLE, method="PATCH", data=lambda w: {"licence": "MIT"}, **PROJECT),
    R("api:project-invitations", PROJECT_PEOPLE, **PROJECT),
    R(
        "api:project-invitations",
        PROJECT_PEOPLE,
        method="POST",
        data=lambda w: {"invitee": "someone"},
        ok=frozenset({201}),
        **PROJECT,
    ),
    R("api:project-leave", {OWNER}, method="POST", ok=frozenset({400}), **PROJECT),  # the owner cannot leave
    R(
        "api:project-remove-member",
        PROJECT_PEOPLE,
        method="POST",
        data=lambda w: {"username": "eve"},
        ok=frozenset({400}),
        **PROJECT,
    ),
    R("api:invitation-list", SIGNED_IN, **API),  # each sees the invitations addressed to them
    R("api:invitation-detail", {OWNER, OTHER, MAINTAINER}, **INVITATION),
    R("api:invitation-accept", {OTHER}, method="POST", **INVITATION),
    R("api:invitation-decline", {OTHER}, method="POST", **INVITATION),
    # The owner revokes first; the maintainer then finds it revoked (400).
    R("api:invitation-revoke", PROJECT_PEOPLE, method="POST", ok=frozenset({200, 400}), **INVITATION),
    R("api:application-list", SIGNED_IN, **API),
    R("api:application-list", {OWNER}, method="POST", data=_same_draft, ok=frozenset({400}), **API),
    R("api:application-detail", PROJECT_VIEWERS, **APPLICATION),
    R("api:application-detail", {OWNER}, method="PATCH", ok=frozenset({400}), **APPLICATION),
    R("api:application-submit", {OWNER}, method="POST", ok=frozenset({400}), **APPLICATION),
    R("api:application-withdraw", {OWNER}, method="POST", ok=frozenset({400}), **APPLICATION),
    R("api:application-decide", {MAINTAINER}, method="POST", data=_decline, ok=frozenset({400}), **APPLICATION),
    R("api:snapshot-detail", PROJECT_VIEWERS, args=lambda w: [w.snapshot.pk], **API),
    R("api:snapshot-report", PROJECT_VIEWERS, args=lambda w: [w.snapshot.pk], **API),
    R("api:allocation-list", SIGNED_IN, **API),
    R("api:allocation-detail", PROJECT_VIEWERS, args=lambda w: [w.allocation.pk], **API),
    R("api:job-list", SIGNED_IN, **API),
    R("api:job-list", PROJECT_PEOPLE, method="POST", data=_new_job, ok=frozenset({201}), **API),
    R("api:job-detail", PROJECT_VIEWERS, **JOB, **API),
    # The owner cancels first; the maintainer then finds the run ended (400).
    R("api:job-cancel", PROJECT_PEOPLE, method="POST", ok=frozenset({200, 400}), **JOB, **API),
    # After the award (issue 17). The world's final report is due, so a decision on it is refused (400), and an
    # empty report is refused by its form (400); its supplement request is pending, so a second one is refused.
    R("api:report-list", SIGNED_IN, **API),  # each sees the reports of the allocations they see
    R("api:report-detail", PROJECT_VIEWERS, **REPORT),
    R("api:report-submit", PROJECT_PEOPLE, method="POST", ok=frozenset({400}), **REPORT),
    R("api:report-decide", {ASSIGNED, MAINTAINER}, method="POST", data=_return, ok=frozenset({400}), **REPORT),
    R("api:award-request-list", SIGNED_IN, **API),
    R("api:award-request-detail", PROJECT_VIEWERS, **AWARD_REQUEST),
    R("api:award-request-list", PROJECT_PEOPLE, method="POST", data=_supplement, ok=frozenset({400}), **API),
    R("api:award-request-decide", {MAINTAINER}, method="POST", ok=frozenset({400}), **AWARD_REQUEST),
    R("api:allocation-notices", PROJECT_VIEWERS, **ALLOCATION),
    R("api:allocation-release-tranche", {MAINTAINER}, method="POST", data=_hours, ok=frozenset({400}), **ALLOCATION),
    R("api:allocation-reclaim", {MAINTAINER}, method="POST", data=_hours, ok=frozenset({400}), **ALLOCATION),
    R("api:allocation-revoke", {MAINTAINER}, method="POST", data=_reason, **ALLOCATION),
]

# Patterns deliberately outside the matrix, with the reason.
NOT_IN_MATRIX = {
    # The admin's URLs have their own matrix, every model's admin x every role (and the operator):
    # tests/portal/test_admin_authorization_matrix.py.
    "admin",
}


def _walk(patterns: list[Any], namespace: str | None = None) -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or namespace
            if pattern.namespace and namespace:
                inner = f"{namespace}:{pattern.namespace}"
            yield from _walk(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            name = pattern.name or f"<unnamed {pattern.pattern}>"
            yield f"{namespace}:{name}" if namespace else name


def all_url_names() -> set[str]:
    return {name for name in _walk(get_resolver().url_patterns) if name.split(":")[0] not in NOT_IN_MATRIX}


def test_every_url_pattern_is_in_the_matrix() -> None:
    covered = {route.name for route in MATRIX}
    missing = sorted(all_url_names() - covered)
    assert not missing, f"URL patterns without an authorisation expectation: {missing}"
    assert not covered - all_url_names(), "the matrix names routes that no longer exist"


@pytest.fixture
def world(db, make_user, gpu_pool, open_call, make_local_repo, plan, maintainer):  # type: ignore[no-untyped-def]
    owner = make_user("ada", "applicant", affiliation="Open Digits Lab")
    other = make_user("eve", "applicant", affiliation="Elsewhere")
    assigned = make_user("rosa", "reviewer", affiliation="Review Institute")
    open_call.reviews_per_application = 1
    open_call.save()
    project = projects.create_project(owner, name="Digits", repository_url=str(make_local_repo()))
    other_project = projects.create_project(other, name="Other", repository_url=str(make_local_repo("other")))
    application = applications.submit(applications.save_draft(project, open_call, plan, actor=owner), actor=owner)
    # Made after the submission, so the automatic assignment could not pick them.
    unassigned = make_user("ravi", "reviewer", affiliation="Elsewhere Institute")
    conflicted = make_user("carla", "reviewer", affiliation="Independent")
    ConflictDeclaration.objects.create(reviewer=conflicted, project=project, reason="former colleague")
    ReviewAssignment.objects.create(application=application, reviewer=conflicted, state="conflicted")
    mine = application.assignments.get(reviewer=assigned)
    reviews.submit_review(
        mine,
        actor=assigned,
        scores={c.pk: 4 for c in open_call.criteria.all()},
        comment_to_applicant="Solid.",
        recommendation="award",
        recommended_seconds=100 * HOUR,
    )
    application = decisions.award(application, 100 * HOUR, actor=maintainer, message="Enjoy.")
    snapshot = reproducibility_services.score_snapshot(application.snapshot_id)
    job = quota.submit_job(
        application.allocation, quota.JobRequest(entrypoint="train.py", workers=1, max_runtime_seconds=600)
    )
    paths = runs.run_artifacts(job.pk)
    for folder in (paths.logs, paths.model):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "README").write_text("placeholder artifact\n")
    assert not assignment.conflicts_of_interest(unassigned, application)
    invitation = invitations.invite(project, other.username, actor=owner)
    award_request = award_requests.request_supplement(
        application.allocation, actor=owner, seconds=10 * HOUR, reason="A second seed."
    )
    change = repository_changes.request_change(
        project, actor=owner, repository_url=str(make_local_repo("fixed")), reason="Fix the data loader."
    )
    reproducibility_services.score_snapshot(change.snapshot_id)
    return World(
        users={
            OWNER: owner,
            OTHER: other,
            ASSIGNED: assigned,
            UNASSIGNED: unassigned,
            CONFLICTED: conflicted,
            MAINTAINER: maintainer,
        },
        project=project,
        other_project=other_project,
        call=open_call,
        application=application,
        assignment=mine,
        allocation=application.allocation,
        job=job,
        snapshot=snapshot,
        extra={"change": change, "invitation": invitation, "award_request": award_request},
    )


def _request(client: Client, route: Route, world: World) -> Any:
    url = reverse(route.name, args=route.args(world))
    if route.method == "GET":
        response = client.get(url)
    else:
        response = (
            client.generic(
                route.method,
                url,
                data=json.dumps(route.data(world)),
                content_type="application/json",
            )
            if route.api
            else getattr(client, route.method.lower())(url, route.data(world))
        )
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)
    return response


def _denied_roles_first(route: Route) -> list[str]:
    # Refusals first: an allowed POST may change the world (a cancelled job stays cancelled).
    return sorted(ROLES, key=lambda role: role in route.allowed)


@pytest.mark.parametrize("route", MATRIX, ids=lambda r: f"{r.method} {r.name}")
def test_each_role_gets_the_expected_answer(route: Route, world: World) -> None:
    failures = []
    for role in _denied_roles_first(route):
        client = Client()
        if role != ANONYMOUS:
            client.force_login(world.users[role])
        response = _request(client, route, world)
        status = response.status_code
        location = response.get("Location", "")
        if role in route.allowed:
            expected = f"one of {sorted(route.ok)}"
            good = status in route.ok and "/accounts/login/" not in location
        elif role == ANONYMOUS:
            expected = "401/403" if route.api else "a redirect to sign in"
            good = status in (401, 403) if route.api else status == 302 and "/accounts/login/" in location
        else:
            expected = "403 or 404"
            good = status in (403, 404)
        if not good:
            failures.append(f"{role}: got {status} {location}, expected {expected}")
    assert not failures, f"{route.method} {route.name}:\n" + "\n".join(failures)
