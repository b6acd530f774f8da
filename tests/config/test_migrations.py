"""The schema in migrations matches the models, and roles exist after migrate."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from portal.access.admin_rights import permissions_of
from portal.access.roles import ROLES


@pytest.mark.django_db
def test_models_have_no_missing_migrations():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_role_groups_exist_after_migrate():
    assert set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True)) == set(ROLES)


@pytest.mark.django_db
def test_after_migrate_each_role_holds_exactly_its_admin_rights():
    """Maintainers once held every permission of the portal's models, accounts included (issue 13)."""
    for role in ROLES:
        group = Group.objects.get(name=role)
        held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
        assert held == permissions_of(role), role
    assert not Group.objects.get(name="maintainer").permissions.filter(codename="change_user").exists()
