"""The schema in migrations matches the models, and roles exist after migrate."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from portal.roles import ROLES


@pytest.mark.django_db
def test_models_have_no_missing_migrations():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_role_groups_exist_after_migrate():
    assert set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True)) == set(ROLES)


@pytest.mark.django_db
def test_maintainers_hold_the_portal_model_permissions():
    maintainer = Group.objects.get(name="maintainer")
    expected = Permission.objects.filter(content_type__app_label="portal").count()
    assert expected > 0
    assert maintainer.permissions.filter(content_type__app_label="portal").count() == expected
