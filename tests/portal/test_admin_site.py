"""The admin site is titled ComputeGrant, not Django."""

import pytest


@pytest.mark.django_db
def test_the_admin_sign_in_page_is_titled_computegrant(client):
    page = client.get("/admin/login/").content.decode()
    assert "<title>Log in | ComputeGrant admin</title>" in page
    assert "ComputeGrant administration" in page and "Django administration" not in page
