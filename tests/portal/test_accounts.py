"""Sign-up, sign-in, sign-out, password reset, and navigation per role."""

import re

import pytest
from django.core import mail

from portal.access import roles
from portal.models import User

pytestmark = pytest.mark.django_db

SIGNUP = {
    "username": "newcomer",
    "email": "newcomer@example.org",
    "first_name": "New",
    "last_name": "Comer",
    "affiliation": "Tiny Models Co",
    "password1": "long-enough-pass-42",
    "password2": "long-enough-pass-42",
}


def test_sign_up_creates_an_applicant_and_signs_them_in(client):
    response = client.post("/signup/", SIGNUP)
    assert response.status_code == 302
    user = User.objects.get(username="newcomer")
    assert roles.role_names(user) == {"applicant"}
    assert user.is_staff is False
    assert client.get("/").context["user"] == user


def test_sign_up_refuses_a_taken_email_whatever_its_case_and_creates_nothing(client, applicant):
    response = client.post("/signup/", {**SIGNUP, "email": applicant.email.upper()})
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert not User.objects.filter(username="newcomer").exists()


def test_sign_up_refuses_mismatched_passwords(client):
    response = client.post("/signup/", {**SIGNUP, "password2": "something-else-42"})
    assert response.status_code == 400
    assert not User.objects.filter(username="newcomer").exists()


def test_login_and_logout(client, applicant):
    response = client.post("/accounts/login/", {"username": "ada", "password": "a-strong-test-pass-1"})
    assert response.status_code == 302
    assert client.get("/").context["user"] == applicant
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert not client.get("/").context["user"].is_authenticated


def test_login_with_a_wrong_password_says_so(client, applicant):
    response = client.post("/accounts/login/", {"username": "ada", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_password_reset_sends_a_working_link(client, applicant):
    client.post("/accounts/password_reset/", {"email": applicant.email})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"] is True
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": "brand-new-pass-77", "new_password2": "brand-new-pass-77"}
    )
    assert done.status_code == 302
    applicant.refresh_from_db()
    assert applicant.check_password("brand-new-pass-77")


@pytest.mark.parametrize(
    ("role", "section", "absent"),
    [
        ("applicant", "applicant-section", ["reviewer-section", "maintainer-section", ">Admin<"]),
        ("reviewer", "reviewer-section", ["applicant-section", "maintainer-section", ">Admin<"]),
        ("maintainer", "maintainer-section", ["applicant-section", "reviewer-section"]),
    ],
)
def test_each_role_sees_its_own_dashboard_and_navigation(client, make_user, role, section, absent):
    client.force_login(make_user(f"someone-{role}", role))
    page = client.get("/").content.decode()
    assert f'data-testid="{section}"' in page
    for text in absent:
        assert text not in page
    if role == "maintainer":
        assert ">Admin<" in page
        assert client.get("/admin/").status_code == 200


def test_anonymous_visitors_see_the_welcome_page(client):
    page = client.get("/").content.decode()
    assert "Apply for compute" in page
    assert "Dashboard" not in page


def test_every_navigation_entry_resolves(client, make_user):
    from portal.navigation import all_entries

    user = make_user("everyone", "maintainer")
    for role in roles.ROLES:
        roles.assign_role(user, role)
    client.force_login(user)
    page = client.get("/").content.decode()
    for label, _url_name, _roles in all_entries():
        assert f">{label}<" in page
