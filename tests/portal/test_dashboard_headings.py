"""The dashboard has one heading per section: a one-role account's parts are the page's sections."""

import re

import pytest

from portal.access import roles
from tests.portal.conftest import client_for


def headings(user) -> list[str]:
    page = client_for(user).get("/").content.decode()
    return [f"h{level} {' '.join(text.split())}" for level, text in re.findall(r"<h([1-6])[^>]*>(.*?)</h\1>", page)]


@pytest.mark.django_db
def test_one_role_s_dashboard_does_not_stack_headings(make_user):
    assert headings(make_user("max", roles.MAINTAINER)) == ["h1 Dashboard", "h2 Calls", "h2 Waiting for a decision (0)"]
    assert headings(make_user("ada", roles.APPLICANT))[:3] == ["h1 Dashboard", "h2 Projects", "h2 Applications"]


@pytest.mark.django_db
def test_several_roles_are_each_a_section_with_their_parts_under_them(make_user):
    both = make_user("both", roles.APPLICANT)
    roles.assign_role(both, roles.MAINTAINER)
    found = headings(both)
    assert found[:3] == ["h1 Dashboard", "h2 Your projects", "h3 Projects"]
    assert "h2 Program" in found and "h3 Calls" in found
