"""Empty list pages say what to do next, with the link to do it, for the role that reads them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db


def body(user, name: str, *args: object, query: str = "") -> str:
    response = client_for(user).get(reverse(name, args=args) + query)
    assert response.status_code == 200, name
    return response.content.decode()


def test_a_new_applicant_is_told_to_create_a_project_then_apply(applicant):
    dashboard = body(applicant, "portal:home")
    assert "No projects yet." in dashboard and reverse("portal:project_create") in dashboard
    assert reverse("portal:project_create") in body(applicant, "portal:invitation_list")
    allocations = body(applicant, "scheduler:allocation_list")
    assert "An awarded application becomes one" in allocations and reverse("portal:open_calls") in allocations
    runs = body(applicant, "scheduler:job_list")
    assert "Launch one from an" in runs and reverse("scheduler:allocation_list") in runs


def test_a_new_maintainer_is_told_to_open_a_call(maintainer):
    calls = body(maintainer, "portal:call_list")
    assert "No call yet." in calls and reverse("portal:call_create") in calls
    allocations = body(maintainer, "scheduler:allocation_list")
    assert "Awards made from a" in allocations and reverse("portal:call_list") in allocations
    assert "every request is decided. Projects ask here" in body(maintainer, "portal:repository_change_list")
    assert "No pool exists yet: create one with" in body(maintainer, "scheduler:queue")


def test_a_call_with_no_application_says_where_applicants_find_it(maintainer, open_call):
    page = body(maintainer, "portal:call_dashboard", open_call.pk)
    assert "No application was submitted yet. Applicants see the call under Open calls" in page


def test_a_filtered_list_with_nothing_in_it_says_so(applicant):
    assert "No allocations yet in this state." in body(applicant, "scheduler:allocation_list", query="?state=expired")


def test_a_project_without_applications_points_to_the_apply_button(applicant, project):
    page = body(applicant, "portal:project_detail", project.pk)
    assert "No applications yet: apply with this project to an open call" in page
