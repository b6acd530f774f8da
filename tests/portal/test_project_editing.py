"""Editing a project's name, repository and details: refusals next to their field, the repository fixed while
the project is reviewed or awarded, every change audited, and only the project's people may edit."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.models import AuditEntry, Project
from portal.services import applications, projects
from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db


def edit_post(project: Project, **overrides: str) -> dict[str, str]:
    data = {
        "name": project.name,
        "repository_url": project.repository_url,
        "licence": project.licence,
        "description": project.description,
        "organisation": project.organisation,
    }
    return {**data, **overrides}


def test_a_member_renames_a_project_and_rewrites_its_description(applicant, project):
    client = client_for(applicant)
    page = client.get(reverse("portal:project_edit", args=[project.pk]))
    assert page.status_code == 200 and 'value="Digits"' in page.content.decode()
    post = edit_post(project, name="Digits v2", description="Now with a README.", licence="mit")
    response = client.post(reverse("portal:project_edit", args=[project.pk]), post)
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.name, project.description, project.licence) == ("Digits v2", "Now with a README.", "MIT")
    entry = AuditEntry.objects.get(verb="project.updated")
    assert entry.actor == applicant and "name" in str(entry.details) and "repository_url" not in str(entry.details)


def test_every_problem_of_the_edit_form_shows_next_to_its_field(applicant, project):
    projects.create_project(applicant, name="Letters", repository_url=project.repository_url)
    post = edit_post(project, name="letters", repository_url="git@github.com:example/digits.git", licence="Free")
    response = client_for(applicant).post(reverse("portal:project_edit", args=[project.pk]), post)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "Free is not on the SPDX licence list" in errors["licence"][0]
    # The name's and the repository's refusals come from the service, once the fields parse.
    assert list(errors) == ["licence"]
    post["licence"] = "MIT"
    response = client_for(applicant).post(reverse("portal:project_edit", args=[project.pk]), post)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "use the https URL" in errors["repository_url"][0]
    assert errors["name"] == ["You already have a project named letters; give this one another name."]
    project.refresh_from_db()
    assert project.name == "Digits" and not AuditEntry.objects.filter(verb="project.updated").exists()


def test_the_repository_cannot_be_edited_while_the_project_is_reviewed(applicant, open_call, plan, project):
    applications.submit(applications.save_draft(project, open_call, plan, actor=applicant), actor=applicant)
    client = client_for(applicant)
    page = client.get(reverse("portal:project_edit", args=[project.pk])).content.decode()
    assert 'data-testid="repository-locked"' in page and "is submitted" in page
    original = project.repository_url
    post = edit_post(project, repository_url="https://github.com/example/other", description="Docs.")
    response = client.post(reverse("portal:project_edit", args=[project.pk]), post)
    assert response.status_code == 302  # the disabled field keeps its value; the description changes
    project.refresh_from_db()
    assert project.repository_url == original and project.description == "Docs."


def test_saving_an_unchanged_project_records_nothing(applicant, project):
    response = client_for(applicant).post(reverse("portal:project_edit", args=[project.pk]), edit_post(project))
    assert response.status_code == 302
    assert not AuditEntry.objects.filter(verb="project.updated").exists()


def test_people_outside_the_project_cannot_edit_it(make_user, reviewer, project):
    stranger = make_user("bea", "applicant")
    for user in (stranger, reviewer):
        client = client_for(user)
        assert client.get(reverse("portal:project_edit", args=[project.pk])).status_code == 403
        post = edit_post(project, name="Taken over")
        assert client.post(reverse("portal:project_edit", args=[project.pk]), post).status_code == 403
    assert Project.objects.get(pk=project.pk).name == "Digits"
