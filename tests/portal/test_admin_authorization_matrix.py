"""The Django admin's URLs x every role (and the operator, a superuser) → the expected answer.

The admin's half of the authorisation matrix (tests/portal/test_authorization_matrix.py holds the
pages' and the API's), on the same world. ADMIN_MODELS says, for each model registered in the
admin, which roles may view, add, change and delete it; from it come the answers of every URL of
the model's admin (changelist, add, change, history, delete, the user's password page, the old
change URL) for GET and for an empty POST, which never changes anything: a refused POST must be
refused before the form is read. SITE_ROUTES covers the rest (index, one app index per app,
sign-in, sign-out...).

Refusals: a signed-in user who is not staff, or an anonymous visitor, is sent to the admin's sign-in
page; staff without the permission get 403 (404 for an app index they may see nothing of).
An admin URL missing from the matrix (a new model in the admin, a new admin view) fails
`test_every_admin_url_is_in_the_matrix`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from portal.access import roles
from portal.models import AllocationNotice, AuditEntry, BudgetEntry, ProgressReport, Verification, VerificationPolicy
from tests.portal.test_authorization_matrix import (  # noqa: F401 (world: the shared fixture)
    ANONYMOUS,
    ASSIGNED,
    MAINTAINER,
    OWNER,
    ROLES,
    World,
    world,
)

OPERATOR = "operator"
ADMIN_ROLES = (*ROLES, OPERATOR)
STAFF = frozenset({MAINTAINER, OPERATOR})
OPERATORS = frozenset({OPERATOR})
NOBODY: frozenset[str] = frozenset()
ADMIN_SIGN_IN = "/admin/login/"


@dataclass(frozen=True)
class ModelRights:
    """Who may do what with one model in the admin, and the object its object pages open."""

    view: frozenset[str]
    add: frozenset[str]
    change: frozenset[str]
    delete: frozenset[str]
    obj: Callable[[World], Any]
    password: frozenset[str] | None = None  # the user admin's "set password" page


def _read_by_staff(obj: Callable[[World], Any], edited_by: frozenset[str] = OPERATORS) -> ModelRights:
    return ModelRights(view=STAFF, add=edited_by, change=edited_by, delete=edited_by, obj=obj)


def _history(obj: Callable[[World], Any]) -> ModelRights:
    """Balances and history change only through the services: nobody edits them here, operators included."""
    return ModelRights(view=STAFF, add=NOBODY, change=NOBODY, delete=NOBODY, obj=obj)


def _operators_only(obj: Callable[[World], Any], add: frozenset[str] = OPERATORS) -> ModelRights:
    return ModelRights(view=OPERATORS, add=add, change=OPERATORS, delete=OPERATORS, obj=obj)


def _workflow(obj: Callable[[World], Any]) -> ModelRights:
    """The grant workflow and what follows an award change on the pages: operators read them here, nobody edits."""
    return ModelRights(view=OPERATORS, add=NOBODY, change=NOBODY, delete=NOBODY, obj=obj)


ADMIN_MODELS: dict[str, ModelRights] = {
    # Accounts: maintainers read the directory; only operators create, edit, delete or set passwords.
    "portal.user": ModelRights(
        view=STAFF,
        add=OPERATORS,
        change=OPERATORS,
        delete=OPERATORS,
        password=OPERATORS,
        obj=lambda w: w.users[ASSIGNED],
    ),
    "auth.group": _operators_only(lambda w: Group.objects.get(name=roles.MAINTAINER)),
    # The admin's own history: written by the admin as it changes things, read by operators.
    "admin.logentry": _workflow(lambda w: w.extra["admin_log"]),
    # Its admin finds a token by its user's id.
    "authtoken.tokenproxy": _operators_only(lambda w: w.extra["token"].user),
    # Lockout records are written by django-axes itself, never added by hand.
    "axes.accessattempt": _operators_only(lambda w: w.extra["attempt"], add=NOBODY),
    "axes.accesslog": _operators_only(lambda w: w.extra["access_log"], add=NOBODY),
    "axes.accessfailurelog": _operators_only(lambda w: w.extra["failure_log"], add=NOBODY),
    "portal.project": _read_by_staff(lambda w: w.project),
    # Maintainers tune capacity and runtime limits; operators make and remove pools.
    "scheduler.acceleratorpool": ModelRights(
        view=STAFF, add=OPERATORS, change=STAFF, delete=OPERATORS, obj=lambda w: w.job.pool
    ),
    "scheduler.allocation": _history(lambda w: w.allocation),
    "scheduler.ledgerentry": _history(lambda w: w.allocation.ledger.first()),
    "scheduler.trainingjob": _history(lambda w: w.job),
    "scheduler.jobevent": _history(lambda w: w.job.events.first()),
    "reproducibility.snapshot": _read_by_staff(lambda w: w.snapshot),
    "reproducibility.report": _read_by_staff(lambda w: w.snapshot.reports.first()),
    # The grant workflow (portal/admin/grants.py).
    "portal.call": _workflow(lambda w: w.call),
    "portal.callpool": _workflow(lambda w: w.call.call_pools.first()),
    "portal.rubriccriterion": _workflow(lambda w: w.call.criteria.first()),
    "portal.application": _workflow(lambda w: w.application),
    "portal.reviewassignment": _workflow(lambda w: w.assignment),
    "portal.review": _workflow(lambda w: w.assignment.review),
    "portal.criterionscore": _workflow(lambda w: w.assignment.review.scores.first()),
    "portal.conflictdeclaration": _workflow(lambda w: w.project.conflicts.first()),
    "portal.projectinvitation": _workflow(lambda w: w.extra["invitation"]),
    "portal.repositorychange": _workflow(lambda w: w.extra["change"]),
    "portal.auditentry": _workflow(lambda w: AuditEntry.objects.first()),
    # After the award (portal/admin/awards.py).
    "portal.budgetentry": _workflow(lambda w: BudgetEntry.objects.filter(allocation=w.allocation).first()),
    "portal.allocationnotice": _workflow(lambda w: w.allocation.notices.first()),
    "portal.progressreport": _workflow(lambda w: w.allocation.reports.first()),
    "portal.awardrequest": _workflow(lambda w: w.extra["award_request"]),
    "portal.verificationpolicy": _workflow(lambda w: w.call.verification_policy),
    "portal.verification": _workflow(lambda w: w.application.verifications.first()),
}


@dataclass(frozen=True)
class AdminRoute:
    """One admin URL, called one way, and who may."""

    key: str  # the URL's name, or its route where Django names none
    allowed: frozenset[str]
    url: Callable[[World], str]
    method: str = "GET"
    ok: frozenset[int] = frozenset({200})
    # Where a refused visitor who is not staff is sent.
    refused_to: str = ADMIN_SIGN_IN
    # What staff without the permission get.
    refused_staff: frozenset[int] = frozenset({403})


def model_routes(label: str, rights: ModelRights) -> list[AdminRoute]:
    """Every URL of one model's admin, as ModelAdmin.get_urls (and UserAdmin's) define them."""
    app_label, model = label.split(".")
    prefix = f"admin:{app_label}_{model}"

    def at(view: str) -> Callable[[World], str]:
        return lambda w: reverse(f"{prefix}_{view}", args=[rights.obj(w).pk])

    readers = rights.view | rights.change  # Django shows a read-only form to viewers
    routes = [
        AdminRoute(f"{prefix}_changelist", readers, lambda w: reverse(f"{prefix}_changelist")),
        AdminRoute(f"{prefix}_add", rights.add, lambda w: reverse(f"{prefix}_add")),
        # An empty form: refused, or answered with the form's errors (or a save of nothing).
        AdminRoute(f"{prefix}_add", rights.add, lambda w: reverse(f"{prefix}_add"), "POST"),
        AdminRoute(f"{prefix}_change", readers, at("change")),
        AdminRoute(f"{prefix}_change", rights.change, at("change"), "POST", ok=frozenset({200, 302})),
        AdminRoute(f"{prefix}_history", readers, at("history")),
        AdminRoute(f"{prefix}_delete", rights.delete, at("delete")),
        # Without the form's "post" field, Django asks again instead of deleting.
        AdminRoute(f"{prefix}_delete", rights.delete, at("delete"), "POST"),
        # The pre-1.9 change URL redirects staff to the change page, which answers for itself.
        AdminRoute(
            f"admin/{app_label}/{model}/<path:object_id>/",
            STAFF,
            lambda w: f"/admin/{app_label}/{model}/{rights.obj(w).pk}/",
            ok=frozenset({301, 302}),
        ),
    ]
    if rights.password is not None:

        def password_page(w: World) -> str:
            return reverse("admin:auth_user_password_change", args=[rights.obj(w).pk])

        routes += [
            AdminRoute("admin:auth_user_password_change", rights.password, password_page),
            AdminRoute("admin:auth_user_password_change", rights.password, password_page, "POST"),
        ]
    return routes


def _app_index(app_label: str) -> frozenset[str]:
    """Who sees an app's index: whoever may view one of its models."""
    return frozenset().union(
        *(rights.view | rights.change for label, rights in ADMIN_MODELS.items() if label.split(".")[0] == app_label)
    )


def _view_on_site(w: World) -> str:
    return reverse("admin:view_on_site", args=[ContentType.objects.get_for_model(w.project).pk, w.project.pk])


EVERYONE = frozenset(ADMIN_ROLES)
AUTOCOMPLETE_OWNERS = "?term=a&app_label=portal&model_name=project&field_name=owner"
SITE_ROUTES: list[AdminRoute] = [
    AdminRoute("admin:index", STAFF, lambda w: reverse("admin:index")),
    # The sign-in page: staff already signed in are sent on to the index.
    AdminRoute("admin:login", EVERYONE, lambda w: reverse("admin:login"), ok=frozenset({200, 302})),
    # Signing out: staff are signed out and sent home (LOGOUT_REDIRECT_URL); anyone else is sent to
    # the index, which sends them to sign in.
    AdminRoute(
        "admin:logout", STAFF, lambda w: reverse("admin:logout"), "POST", ok=frozenset({302}), refused_to="/admin/"
    ),
    AdminRoute("admin:password_change", STAFF, lambda w: reverse("admin:password_change")),  # their own
    AdminRoute("admin:password_change", STAFF, lambda w: reverse("admin:password_change"), "POST"),
    AdminRoute("admin:password_change_done", STAFF, lambda w: reverse("admin:password_change_done")),
    AdminRoute("admin:jsi18n", STAFF, lambda w: reverse("admin:jsi18n")),
    # Django answers for any relation to a model whose admin has search fields (a project's owner:
    # users), to whoever may view that model: the account directory, names only.
    AdminRoute(
        "admin:autocomplete",
        ADMIN_MODELS["portal.user"].view,
        lambda w: reverse("admin:autocomplete") + AUTOCOMPLETE_OWNERS,
    ),
    # Projects have no public URL: no redirect anywhere.
    AdminRoute("admin:view_on_site", STAFF, _view_on_site, ok=frozenset({404})),
    # Unknown admin URLs: 404 for staff, sign-in for everyone else (nothing tells what exists).
    AdminRoute("admin/(?P<url>.*)$", STAFF, lambda w: "/admin/no-such-page/", ok=frozenset({404})),
] + [
    AdminRoute(
        "admin:app_list",
        _app_index(app_label),
        lambda w, app_label=app_label: reverse("admin:app_list", args=[app_label]),  # type: ignore[misc]
        refused_staff=frozenset({404}),
    )
    for app_label in sorted({model._meta.app_label for model in admin.site._registry})
]


def _keys(patterns: list[Any], prefix: str = "", namespace: str | None = None) -> Iterator[str]:
    """Every admin URL as the matrix names it: `admin:<name>`, or its route where it has no name."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _keys(pattern.url_patterns, route, pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern) and namespace == "admin":
            yield f"admin:{pattern.name}" if pattern.name else route


def all_routes() -> list[AdminRoute]:
    return [route for label, rights in ADMIN_MODELS.items() for route in model_routes(label, rights)] + SITE_ROUTES


def matrix_gaps(registered: set[str]) -> list[str]:
    """What the matrix misses or names in vain, given the models registered in the admin."""
    gaps = [
        f"a model in the admin without a row in ADMIN_MODELS: {label}"
        for label in sorted(registered - set(ADMIN_MODELS))
    ]
    gaps += [f"a row for a model no longer in the admin: {label}" for label in sorted(set(ADMIN_MODELS) - registered)]
    urls = set(_keys(get_resolver().url_patterns))
    covered = {route.key for route in all_routes()}
    gaps += [f"an admin URL without an authorisation expectation: {key}" for key in sorted(urls - covered)]
    gaps += [f"the matrix names an admin URL that no longer exists: {key}" for key in sorted(covered - urls)]
    return gaps


def test_every_admin_url_is_in_the_matrix() -> None:
    gaps = matrix_gaps({model._meta.label_lower for model in admin.site._registry})
    assert not gaps, "\n".join(gaps)


def test_a_model_added_to_the_admin_without_a_row_is_a_gap() -> None:
    admin.site.register(ContentType)  # every model of ours is in the admin already
    try:
        gaps = matrix_gaps({model._meta.label_lower for model in admin.site._registry})
    finally:
        admin.site.unregister(ContentType)
    assert gaps == ["a model in the admin without a row in ADMIN_MODELS: contenttypes.contenttype"]


@pytest.fixture
def admin_world(world: World, make_user: Any) -> World:  # noqa: F811 (world is the shared fixture)
    """The pages' world, plus an operator and the records only the admin shows."""
    operator = make_user("root", None)
    operator.is_staff = operator.is_superuser = True
    operator.save()
    world.users[OPERATOR] = operator
    owner = world.users[OWNER]
    world.extra["token"] = Token.objects.create(user=owner)
    now = timezone.now()
    common = {"username": owner.username, "ip_address": "192.0.2.7", "user_agent": "probe"}
    world.extra["attempt"] = AccessAttempt.objects.create(
        attempt_time=now, failures_since_start=1, get_data="", post_data="", **common
    )
    world.extra["access_log"] = AccessLog.objects.create(attempt_time=now, **common)
    world.extra["failure_log"] = AccessFailureLog.objects.create(attempt_time=now, **common)
    add_after_award_records(world)
    world.extra["admin_log"] = LogEntry.objects.create(
        user=operator,
        content_type=ContentType.objects.get_for_model(world.project),
        object_id=str(world.project.pk),
        object_repr=str(world.project),
        action_flag=CHANGE,
        change_message='[{"changed": {"fields": ["Description"]}}]',
    )
    return world


def add_after_award_records(w: World) -> None:
    """The records of the award's later life that the pages' world does not make: a notice, a due
    report, the call's verification policy and a verification of the application."""
    AllocationNotice.objects.create(allocation=w.allocation, kind=AllocationNotice.Kind.EXPIRY_30)
    if not w.allocation.reports.exists():
        ProgressReport.objects.create(
            allocation=w.allocation, kind=ProgressReport.Kind.PROGRESS, months_after_award=1, due_at=timezone.now()
        )
    if not VerificationPolicy.objects.filter(call=w.call).exists():
        VerificationPolicy.objects.create(call=w.call, pool=w.job.pool, budget_seconds=3600)
    Verification.objects.create(application=w.application, snapshot=w.snapshot, run=w.job, verdict="reproduced")


def _answer(route: AdminRoute, role: str, w: World) -> tuple[bool, str]:
    """Whether `role` got what the matrix expects from `route`, and what it got."""
    client = Client()
    if role != ANONYMOUS:
        client.force_login(w.users[role])
    url = route.url(w)
    response = client.get(url) if route.method == "GET" else client.post(url, {})
    status, location = response.status_code, response.get("Location", "")
    got = f"{status} {location}".strip()
    if role in route.allowed:
        return status in route.ok and ADMIN_SIGN_IN not in location, got
    if role in STAFF:
        return status in route.refused_staff, got
    return status == 302 and location.startswith(route.refused_to), got


def _check(routes: list[AdminRoute], w: World) -> list[str]:
    failures = []
    # GETs first, then POSTs; refusals first within each: an allowed POST may change the world.
    for route in sorted(routes, key=lambda r: r.method != "GET"):
        for role in sorted(ADMIN_ROLES, key=lambda role: role in route.allowed):
            good, got = _answer(route, role, w)
            if not good:
                failures.append(f"{route.method} {route.key} as {role}: got {got}, allowed: {sorted(route.allowed)}")
    return failures


@pytest.mark.parametrize("label", sorted(ADMIN_MODELS))
def test_each_role_gets_the_expected_answer_from_a_models_admin(label: str, admin_world: World) -> None:
    failures = _check(model_routes(label, ADMIN_MODELS[label]), admin_world)
    assert not failures, "\n".join(failures)


def test_each_role_gets_the_expected_answer_from_the_admin_site(admin_world: World) -> None:
    failures = _check(SITE_ROUTES, admin_world)
    assert not failures, "\n".join(failures)
