"""Who may do what in the Django admin: the role table (portal.access.admin_rights) and the account takeover it closes.

Issue 13, finding 1: maintainers held every permission of the portal's apps, User included, and the
admin's standard user editor let one set is_superuser, set another user's password, and grant
themselves any permission through their own account's `user_permissions`.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.test import Client

from portal.access import admin_rights, roles
from portal.models import User
from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db

PASSWORD = "a-strong-test-pass-1"  # what tests/conftest.py gives every user
NEW_PASSWORD = "taken-over-pass-9876"


@pytest.fixture
def operator(make_user):  # type: ignore[no-untyped-def]
    """A superuser: the person who runs the installation."""
    user = make_user("root", None)
    user.is_staff = user.is_superuser = True
    user.save()
    return user


def _user_form(user: User, **changes: Any) -> dict[str, Any]:
    """The admin's user change form as the browser posts it, with `changes` applied."""
    data: dict[str, Any] = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "affiliation": user.affiliation,
        "is_active": "on",
        "groups": [str(pk) for pk in user.groups.values_list("pk", flat=True)],
        "user_permissions": [str(pk) for pk in user.user_permissions.values_list("pk", flat=True)],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "_save": "Save",
    }
    if user.is_staff:
        data["is_staff"] = "on"
    data.update(changes)
    return data


def _permission(label: str) -> Permission:
    app_label, codename = label.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


# --- the finding, as the probe did it ---------------------------------------------------------


def test_a_maintainer_cannot_make_an_account_superuser(maintainer, make_user):  # type: ignore[no-untyped-def]
    reviewer = make_user("rosa", "reviewer")
    client = client_for(maintainer)
    for target in (reviewer, maintainer):
        response = client.post(
            f"/admin/portal/user/{target.pk}/change/", _user_form(target, is_superuser="on", is_staff="on")
        )
        assert response.status_code == 403, target
        target.refresh_from_db()
        assert not target.is_superuser
    reviewer.refresh_from_db()
    assert not reviewer.is_staff


def test_a_maintainer_cannot_set_another_users_password(maintainer, make_user):  # type: ignore[no-untyped-def]
    reviewer = make_user("rosa", "reviewer")
    client = client_for(maintainer)
    url = f"/admin/portal/user/{reviewer.pk}/password/"
    assert client.get(url).status_code == 403
    form = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    assert client.post(url, form).status_code == 403
    reviewer.refresh_from_db()
    assert reviewer.check_password(PASSWORD)
    assert not reviewer.check_password(NEW_PASSWORD)
    signing_in = Client().post("/accounts/login/", {"username": "rosa", "password": NEW_PASSWORD})
    assert signing_in.status_code == 200 and "_auth_user_id" not in signing_in.client.session


def test_a_maintainer_cannot_grant_themselves_more_permissions(maintainer):  # type: ignore[no-untyped-def]
    client = client_for(maintainer)
    group = Group.objects.get(name=roles.MAINTAINER)
    before = set(group.permissions.values_list("pk", flat=True))
    change_group, change_user = _permission("auth.change_group"), _permission("portal.change_user")
    # Through their own account: extra permissions, or the operators' group.
    operators = Group.objects.create(name="operators")
    operators.permissions.add(change_group)
    response = client.post(
        f"/admin/portal/user/{maintainer.pk}/change/",
        _user_form(
            maintainer,
            user_permissions=[str(change_group.pk), str(change_user.pk)],
            groups=[str(group.pk), str(operators.pk)],
        ),
    )
    assert response.status_code == 403
    # Through their role's group.
    response = client.post(
        f"/admin/auth/group/{group.pk}/change/",
        {"name": group.name, "permissions": [str(pk) for pk in before | {change_group.pk, change_user.pk}]},
    )
    assert response.status_code == 403
    maintainer.refresh_from_db()
    assert not maintainer.user_permissions.exists()
    assert set(maintainer.groups.values_list("name", flat=True)) == {roles.MAINTAINER}
    assert set(group.permissions.values_list("pk", flat=True)) == before
    user = User.objects.get(pk=maintainer.pk)  # a fresh instance: permissions are cached per instance
    assert not user.has_perm("auth.change_group")
    assert not user.has_perm("portal.change_user")


def test_a_maintainer_cannot_create_accounts_or_change_roles(maintainer, make_user):  # type: ignore[no-untyped-def]
    applicant = make_user("ada", "applicant")
    client = client_for(maintainer)
    response = client.post(
        "/admin/portal/user/add/", {"username": "sock", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 403
    assert not User.objects.filter(username="sock").exists()
    reviewer_group = Group.objects.get(name=roles.REVIEWER)
    response = client.post(
        f"/admin/portal/user/{applicant.pk}/change/", _user_form(applicant, groups=[str(reviewer_group.pk)])
    )
    assert response.status_code == 403
    assert roles.role_names(User.objects.get(pk=applicant.pk)) == {roles.APPLICANT}
    assert client.post(f"/admin/portal/user/{applicant.pk}/delete/", {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=applicant.pk).exists()


def test_a_maintainer_reads_accounts_without_hashes_or_privilege_fields(maintainer, make_user):  # type: ignore[no-untyped-def]
    reviewer = make_user("rosa", "reviewer", affiliation="Review Institute")
    page = client_for(maintainer).get(f"/admin/portal/user/{reviewer.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Review Institute" in text and "rosa@example.org" in text
    algorithm, _iterations_or_salt, *_ = reviewer.password.split("$")
    for hidden in (algorithm, "Superuser status", "User permissions", "Staff status", "/password/", 'name="email"'):
        assert hidden not in text, hidden
    assert "Roles" in text and "reviewer" in text


def test_an_operator_keeps_full_account_administration(operator, make_user):  # type: ignore[no-untyped-def]
    reviewer = make_user("rosa", "reviewer")
    client = client_for(operator)
    page = client.get(f"/admin/portal/user/{reviewer.pk}/change/").content.decode()
    assert "Superuser status" in page and "User permissions" in page
    response = client.post(f"/admin/portal/user/{reviewer.pk}/change/", _user_form(reviewer, is_staff="on"))
    assert response.status_code == 302
    response = client.post(
        f"/admin/portal/user/{reviewer.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302
    reviewer.refresh_from_db()
    assert reviewer.is_staff and reviewer.check_password(NEW_PASSWORD)


# --- the table -------------------------------------------------------------------------------


def test_each_role_group_holds_exactly_the_tables_permissions(maintainer):  # type: ignore[no-untyped-def]
    for role in roles.ROLES:
        group = Group.objects.get(name=role)
        held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
        assert held == admin_rights.permissions_of(role), role
    assert admin_rights.permissions_of(roles.MAINTAINER)  # the table is not empty by mistake
    assert not admin_rights.permissions_of(roles.APPLICANT)
    assert not admin_rights.permissions_of(roles.REVIEWER)


def test_migrate_takes_back_permissions_outside_the_table(maintainer):  # type: ignore[no-untyped-def]
    """A database migrated before the table held every portal permission for maintainers."""
    group = Group.objects.get(name=roles.MAINTAINER)
    group.permissions.add(_permission("portal.change_user"), _permission("auth.change_group"))
    admin_rights.grant_role_permissions()
    held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
    assert held == admin_rights.permissions_of(roles.MAINTAINER)


def test_migrate_takes_back_permissions_granted_to_accounts(maintainer, make_user):  # type: ignore[no-untyped-def]
    """The old user editor let a maintainer grant their own account any permission."""
    maintainer.user_permissions.add(_permission("portal.change_user"), _permission("auth.change_group"))
    reviewer = make_user("rosa", "reviewer")
    reviewer.user_permissions.add(_permission("portal.view_user"))
    admin_rights.grant_role_permissions()
    assert not maintainer.user_permissions.exists() and not reviewer.user_permissions.exists()
    assert not User.objects.get(pk=maintainer.pk).has_perm("portal.change_user")


def test_every_model_has_a_decision_in_the_table() -> None:
    models = {model._meta.label_lower for model in apps.get_models()}
    missing = sorted(models - set(admin_rights.ADMIN_RIGHTS))
    assert not missing, (
        f"models without an entry in portal.access.admin_rights.ADMIN_RIGHTS: {missing}; "
        "say which roles may use each in the admin ({} for none)"
    )
    assert not set(admin_rights.ADMIN_RIGHTS) - models, "the table names models that no longer exist"


def test_no_role_may_touch_accounts_permissions_or_append_only_records() -> None:
    never = {"portal.user": ("add", "change", "delete"), "auth.group": ("add", "change", "delete", "view")}
    never |= {label: ("add", "change", "delete") for label in admin_rights.APPEND_ONLY}
    for role in roles.ROLES:
        granted = admin_rights.permissions_of(role)
        for label, actions in never.items():
            app_label, model = label.split(".")
            assert not {f"{app_label}.{action}_{model}" for action in actions} & granted, (role, label)
        assert not {p for p in granted if p.startswith(("auth.", "authtoken.", "axes.", "admin.", "sessions."))}


# --- the same class outside the admin ----------------------------------------------------------


def test_signing_up_grants_no_privilege_whatever_the_form_carries(client):  # type: ignore[no-untyped-def]
    maintainers = Group.objects.get(name=roles.MAINTAINER)
    form = {
        "username": "newcomer",
        "email": "newcomer@example.org",
        "password1": "long-enough-pass-42",
        "password2": "long-enough-pass-42",
        "is_staff": "on",
        "is_superuser": "on",
        "groups": [str(maintainers.pk)],
        "user_permissions": [str(_permission("portal.change_user").pk)],
    }
    assert client.post("/signup/", form).status_code == 302
    user = User.objects.get(username="newcomer")
    assert not user.is_staff and not user.is_superuser
    assert roles.role_names(user) == {roles.APPLICANT}
    assert not user.user_permissions.exists()


def test_the_api_changes_no_projects_owner_or_account(maintainer, project):  # type: ignore[no-untyped-def]
    """The API has no account routes; the one field that names an account's rights (owner) is read-only."""
    client = client_for(maintainer)
    response = client.patch(
        f"/api/v1/projects/{project.pk}/",
        data={"owner": maintainer.username, "is_superuser": True, "password": NEW_PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200
    project.refresh_from_db()
    assert project.owner.username == "ada"
    assert project.owner.check_password(PASSWORD)
    maintainer.refresh_from_db()
    assert not maintainer.is_superuser
