"""The project form's refusals name their field: an SSH repository URL is answered with the https
one to use, and one account's projects have names that tell them apart."""

import pytest
from django.urls import reverse

from portal import projects
from portal.errors import WorkflowError
from portal.models import Project
from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db
GOOD = {"name": "Digits", "repository_url": "https://github.com/example/digits", "licence": "MIT"}


@pytest.mark.parametrize("url", ["git@github.com:example/digits.git", "ssh://git@github.com/example/digits.git"])
def test_an_ssh_repository_url_is_answered_with_the_https_one_next_to_the_field(applicant, url):
    response = client_for(applicant).post(reverse("portal:project_create"), {**GOOD, "repository_url": url})
    assert response.status_code == 400
    assert response.context["form"].errors["repository_url"] == [
        "The portal fetches repositories over https, not SSH: use the https URL, "
        "e.g. https://github.com/example/digits.git"
    ]
    assert not Project.objects.exists()


def test_a_second_project_of_the_same_name_in_one_account_is_refused_next_to_the_name(applicant, make_user):
    client = client_for(applicant)
    assert client.post(reverse("portal:project_create"), GOOD).status_code == 302
    response = client.post(reverse("portal:project_create"), {**GOOD, "name": " digits "})
    assert response.status_code == 400
    assert response.context["form"].errors["name"] == [
        "You already have a project named digits; give this one another name."
    ]
    assert Project.objects.count() == 1
    # Another account may use the name; renaming one's own project to a taken name is refused too.
    other = projects.create_project(make_user("bea", "applicant"), name="Digits", repository_url=GOOD["repository_url"])
    second = projects.create_project(applicant, name="Letters", repository_url=GOOD["repository_url"])
    with pytest.raises(WorkflowError, match="already have a project named Digits"):
        projects.update_project(second, actor=applicant, name="Digits")
    projects.update_project(second, actor=applicant, name="Letters")  # its own name is no clash
    assert other.name == "Digits" and Project.objects.get(pk=second.pk).name == "Letters"
