"""A signed-in user makes, rotates and revokes the API token their CI uses."""

from __future__ import annotations

import re

from rest_framework.test import APIClient

from portal.models import AuditEntry


def signed_in_browser(user) -> tuple[APIClient, str]:  # type: ignore[no-untyped-def]
    """A session client that checks CSRF like a browser, and the CSRF token of the API page's form."""
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(user)
    page = browser.get("/api/docs/")
    assert page.status_code == 200
    csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert csrf, "the API page offers a form to make a token"
    return browser, csrf.group(1).decode()


def test_a_signed_in_user_makes_a_token_from_the_portal_session(api, applicant):
    browser, csrf = signed_in_browser(applicant)
    assert browser.get("/api/v1/token/").json() == {"exists": False, "created": None}
    made = browser.post("/api/v1/token/", HTTP_X_CSRFTOKEN=csrf)
    assert made.status_code == 201
    key = made.json()["key"]
    status = browser.get("/api/v1/token/").json()
    assert status["exists"] is True
    assert key not in str(status)  # the key is shown once
    ci = APIClient()
    ci.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert ci.get("/api/v1/projects/").status_code == 200
    assert AuditEntry.objects.filter(verb="api_token.created", actor=applicant).count() == 1


def test_a_session_post_without_the_csrf_token_makes_no_token(applicant):
    browser, _ = signed_in_browser(applicant)
    answer = browser.post("/api/v1/token/")
    assert answer.status_code == 403
    assert "CSRF" in answer.json()["detail"]
    assert browser.get("/api/v1/token/").json()["exists"] is False


def test_a_new_token_revokes_the_old_one(api, applicant):
    ci = api(applicant)
    old = ci._credentials["HTTP_AUTHORIZATION"]
    new = ci.post("/api/v1/token/").json()["key"]
    assert f"Token {new}" != old
    assert ci.get("/api/v1/projects/").status_code == 401
    ci.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert ci.get("/api/v1/projects/").status_code == 200


def test_a_revoked_token_stops_working(api, applicant):
    ci = api(applicant)
    assert ci.delete("/api/v1/token/").status_code == 204
    assert ci.get("/api/v1/projects/").status_code == 401
    assert AuditEntry.objects.filter(verb="api_token.revoked").count() == 1


def test_an_inactive_users_token_stops_working(api, applicant):
    ci = api(applicant)
    applicant.is_active = False
    applicant.save()
    assert ci.get("/api/v1/projects/").status_code == 401


def test_the_api_page_makes_a_token_and_shows_its_key_once(client, applicant):
    client.force_login(applicant)
    page = client.post("/api/docs/")
    assert page.status_code == 200
    key = re.search(rb'data-testid="api-token">([0-9a-f]{40})<', page.content).group(1).decode()
    assert key.encode() not in client.get("/api/docs/").content
    ci = APIClient()
    ci.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert ci.get("/api/v1/token/").json()["exists"] is True


def test_the_api_page_sends_anonymous_visitors_to_sign_in_for_a_token(client, db):
    answer = client.post("/api/docs/")
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/login/")
