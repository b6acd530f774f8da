"""`manage.py seed_demo` is idempotent."""

import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError


def snapshot_of_data():
    return {
        model._meta.label: sorted(map(str, model.objects.values_list("pk", flat=True)))
        for model in apps.get_models()
        if model._meta.app_label in {"portal", "scheduler", "reproducibility", "auth"}
    }


@pytest.mark.django_db
def test_seed_demo_twice_gives_the_same_data():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    first = snapshot_of_data()
    assert "password=applicant-demo-pass" in out.getvalue()
    call_command("seed_demo", stdout=io.StringIO())
    assert snapshot_of_data() == first
    from portal.models import User

    assert {u.username for u in User.objects.all()} >= {"applicant", "reviewer", "maintainer"}
    assert User.objects.get(username="maintainer").check_password("maintainer-demo-pass")


@pytest.mark.django_db
def test_seed_demo_refuses_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="Refusing"):
        call_command("seed_demo", stdout=io.StringIO())
