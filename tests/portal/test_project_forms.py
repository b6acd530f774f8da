"""The project form's refusals name their field: an SSH repository URL is answered with the https
one to use, and one account's projects have names that tell them apart."""

import pytest
from django.urls import reverse

from portal.errors import WorkflowError
from portal.models import Project
from portal.services import projects
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


@pytest.mark.parametrize(
    ("workers", "message"),
    [
        ("100000", "No pool is that large; the pool you choose sets the limit (see its size)."),
        ("9", "9 workers x 1 accelerators do not fit in nvidia-v100, which has 8 accelerators."),
    ],
)
def test_too_many_workers_are_answered_with_the_pool_s_size_next_to_the_field(
    applicant, open_call, project, workers, message
):
    from portal.forms.applications import ApplicationForm

    data = {"project": project.pk, "pool": "nvidia-v100", "requested_hours": "10", "workers": workers}
    data.update(accelerators_per_worker="1", expected_runs="1")
    form = ApplicationForm(data, call=open_call, projects=Project.objects.all())
    assert not form.is_valid()
    assert form.errors["workers"] == [message]
    assert "32767" not in str(form.errors)
