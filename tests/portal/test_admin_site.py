"""The admin site is titled ComputeGrant, not Django."""

import pytest


@pytest.mark.django_db
def test_the_admin_sign_in_page_is_titled_computegrant(client):
    page = client.get("/admin/login/").content.decode()
    assert "<title>Log in | ComputeGrant admin</title>" in page
    assert "ComputeGrant administration" in page and "Django administration" not in page


OUR_APPS = ("portal", "scheduler", "reproducibility")


def test_every_model_of_our_apps_is_in_the_admin_with_columns_and_a_way_to_narrow_the_list():
    from django.apps import apps
    from django.contrib import admin

    missing, bare = [], []
    for app_label in OUR_APPS:
        for model in apps.get_app_config(app_label).get_models():
            model_admin = admin.site._registry.get(model)
            if model_admin is None:
                missing.append(model._meta.label_lower)
            elif model_admin.list_display == ("__str__",) or not (model_admin.list_filter or model_admin.search_fields):
                bare.append(model._meta.label_lower)
    assert not missing, f"not in the admin: {missing}"
    assert not bare, f"in the admin without list columns, filters or search: {bare}"


@pytest.mark.django_db
def test_an_invitations_admin_page_does_not_show_its_secret_link(make_user, project, client):
    from portal.services import invitations

    make_user("eve", "applicant")
    invitation = invitations.invite(project, "eve", actor=project.owner)
    operator = make_user("root", None)
    operator.is_staff = operator.is_superuser = True
    operator.save()
    client.force_login(operator)
    page = client.get(f"/admin/portal/projectinvitation/{invitation.pk}/change/").content.decode()
    assert "eve" in page and invitation.token not in page
    listing = client.get("/admin/portal/projectinvitation/").content.decode()
    assert invitation.token not in listing
