"""The API refuses what the pages refuse, with the same words: one set of rules, the pages' forms.

Issue 13, finding 5: the API took any licence text and line breaks in project names, which the page
refused. Every field the API writes is now judged by its page's form (portal/api/form_rules.py).
"""

from __future__ import annotations

import inspect

import pytest
from django import forms
from django.urls import reverse
from rest_framework import serializers

from portal.api import serializers as api_serializers
from portal.api.form_rules import FormValidated, judged_fields
from portal.forms.applications import ApplicationForm, WithdrawForm
from portal.forms.calls import DecisionForm
from portal.forms.projects import ProjectForm
from portal.forms.validators import NOT_SPDX, ONE_LINE
from portal.models import Application, Project
from scheduler.forms import JobSubmitForm
from scheduler.models import TrainingJob
from tests.scheduler.factories import make_allocation

# API fields no page form holds, and why each is safe.
OWN_FIELDS = {
    # The object a request is about: looked up, then the view checks the user's permission on it (403).
    ("ApplicationCreateSerializer", "project"),
    ("ApplicationCreateSerializer", "call"),
    ("JobSubmitSerializer", "allocation"),
    # A JSON list of arguments, shell-quoted into the run form's `args` field, which judges them.
    ("JobSubmitSerializer", "args"),
    # Members: changed through invitations (finding 3), whose name rule is portal.services.invitations' one service.
    ("ProjectSerializer", "members"),
    ("InviteSerializer", "invitee"),
    ("MemberSerializer", "username"),
}


def _writing_serializers() -> list[type[serializers.Serializer]]:
    """Every serializer of the API with a field a client writes."""
    found = []
    for _, cls in inspect.getmembers(api_serializers, inspect.isclass):
        ours = issubclass(cls, serializers.Serializer) and cls.__module__ == api_serializers.__name__
        if ours and any(not field.read_only for field in cls().fields.values()):
            found.append(cls)
    return found


def _form_of(cls: type[serializers.Serializer]) -> type[forms.Form] | None:
    """The page form judging the serializer (the draft serializers build theirs per call and draft)."""
    if cls.__name__ in ("ApplicationDraftSerializer", "ApplicationCreateSerializer"):
        return ApplicationForm
    return getattr(cls, "form_class", None)


def test_the_api_writes_through_these_serializers():
    names = {cls.__name__ for cls in _writing_serializers()}
    assert {
        "ProjectSerializer",
        "ApplicationCreateSerializer",
        "ApplicationDraftSerializer",
        "WithdrawSerializer",
        "DecisionSerializer",
        "JobSubmitSerializer",
    } <= names


@pytest.mark.parametrize("cls", _writing_serializers(), ids=lambda cls: cls.__name__)
def test_every_field_the_api_writes_is_judged_by_its_pages_form_with_the_same_bounds(cls):
    serializer = cls()
    judged = judged_fields(serializer) if isinstance(serializer, FormValidated) else {}
    for name, field in serializer.fields.items():
        if field.read_only or (cls.__name__, name) in OWN_FIELDS:
            continue
        assert name in judged, f"{cls.__name__}.{name} is validated apart from the page's form"
        form_field = _form_of(cls).base_fields[judged[name]]  # type: ignore[union-attr]
        # What the schema shows is what the form enforces.
        assert getattr(field, "max_length", None) == getattr(form_field, "max_length", None), name
        assert getattr(field, "min_value", None) == getattr(form_field, "min_value", None), name
        assert getattr(field, "max_value", None) == getattr(form_field, "max_value", None), name
        assert field.validators == form_field.validators, name
        assert field.required == (form_field.required and form_field.initial is None), name


# --- the same bad value, the page's form and the API: both refuse, in the same words -------

GOOD_PROJECT = {"name": "Digits", "repository_url": "https://github.com/example/digits", "licence": "MIT"}

PROJECT_CASES = [
    ("name", "Digits\nBcc: everyone@example.org", ONE_LINE),
    ("name", "Digits\u2028Second line", ONE_LINE),
    ("name", "x" * 201, None),
    ("name", "   ", None),
    ("organisation", "Lab\r\nX-Header: 1", ONE_LINE),
    ("licence", "Do whatever you like with it", NOT_SPDX),
    ("licence", "Proprietary", "Proprietary is not on the SPDX licence list."),
    ("licence", "MIT\nOR Apache-2.0", NOT_SPDX),
    ("repository_url", "https://github.com/" + "a" * 500, None),
]


def _form_errors(form: forms.Form, field: str) -> list[str]:
    assert not form.is_valid()
    return [str(message) for message in form.errors[field]]


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "value", "says"), PROJECT_CASES)
def test_a_project_field_the_page_refuses_the_api_refuses_with_the_same_message(api, applicant, field, value, says):
    page = _form_errors(ProjectForm({**GOOD_PROJECT, field: value}), field)
    answer = api(applicant).post("/api/v1/projects/", {**GOOD_PROJECT, field: value}, format="json")
    assert answer.status_code == 400, answer.content
    assert answer.json()[field] == page
    assert says is None or any(says in message for message in page)
    assert not Project.objects.exists()


@pytest.mark.django_db
def test_changing_one_project_field_is_judged_as_the_page_judges_it(api, applicant, project):
    page = _form_errors(ProjectForm({**GOOD_PROJECT, "licence": "Ask me"}), "licence")
    answer = api(applicant).patch(f"/api/v1/projects/{project.pk}/", {"licence": "Ask me"}, format="json")
    assert answer.status_code == 400 and answer.json()["licence"] == page
    answer = api(applicant).patch(f"/api/v1/projects/{project.pk}/", {"name": "Two\nlines"}, format="json")
    assert answer.status_code == 400 and answer.json()["name"] == [ONE_LINE]
    project.refresh_from_db()
    assert (project.name, project.licence) == ("Digits", "Apache-2.0")
    answer = api(applicant).patch(f"/api/v1/projects/{project.pk}/", {"licence": "mit or apache-2.0"}, format="json")
    assert answer.status_code == 200 and answer.json()["licence"] == "MIT OR Apache-2.0"  # spelt as SPDX spells it


@pytest.mark.django_db
def test_the_project_page_refuses_a_name_with_a_line_break(client, applicant):
    client.force_login(applicant)
    response = client.post(reverse("portal:project_create"), {**GOOD_PROJECT, "name": "Digits\nBcc: x@example.org"})
    assert response.status_code == 400 and "Write this on one line" in response.content.decode()
    assert not Project.objects.exists()


GOOD_PLAN = {"pool": "nvidia-v100", "requested_hours": "10", "workers": "1", "entrypoint": "python train.py"}

PLAN_CASES = [
    ("requested_hours", "lots"),
    ("requested_hours", "1.234"),
    ("requested_hours", "2000000"),
    ("entrypoint", "python train.py\nrm -rf /"),
    ("entrypoint", "x" * 301),
    ("workers", "two"),
    ("workers", "1.5"),
    ("workers", "40000"),
    ("pool", "no-such-pool"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "value"), PLAN_CASES)
def test_a_plan_field_the_page_refuses_the_api_refuses_with_the_same_message(
    api, applicant, project, open_call, field, value
):
    data = {**GOOD_PLAN, field: value}
    page_form = ApplicationForm(
        {**data, "project": project.pk}, call=open_call, projects=Project.objects.filter(pk=project.pk)
    )
    page = _form_errors(page_form, field)
    ada = api(applicant)
    created = ada.post("/api/v1/applications/", {**data, "project": project.pk, "call": open_call.pk}, format="json")
    assert created.status_code == 400 and created.json()[field] == page
    assert not Application.objects.exists()

    draft = ada.post("/api/v1/applications/", {**GOOD_PLAN, "project": project.pk, "call": open_call.pk}, format="json")
    assert draft.status_code == 201, draft.content
    changed = ada.patch(f"/api/v1/applications/{draft.json()['id']}/", {field: value}, format="json")
    assert changed.status_code == 400 and changed.json()[field] == page
    assert Application.objects.get().workers == 1


@pytest.mark.django_db
def test_the_page_names_the_pool_it_does_not_know(project, open_call):
    form = ApplicationForm(
        {**GOOD_PLAN, "pool": "a100", "project": project.pk},
        call=open_call,
        projects=Project.objects.filter(pk=project.pk),
    )
    assert _form_errors(form, "pool") == ["There is no pool named a100."]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field", "form_field"),
    [
        ({"decision": "adopt"}, "decision", "decision"),
        ({"decision": "award"}, "awarded_hours", "hours"),
        ({"decision": "award", "awarded_hours": "1.234"}, "awarded_hours", "hours"),
        ({"decision": "award", "awarded_hours": "2000000"}, "awarded_hours", "hours"),
        ({"decision": "decline", "message": "x" * 5001}, "message", "message"),
    ],
)
def test_a_decision_the_ranking_page_refuses_the_api_refuses_with_the_same_message(
    api, maintainer, draft, data, field, form_field
):
    form_data = {("hours" if name == "awarded_hours" else name): value for name, value in data.items()}
    page = _form_errors(DecisionForm(form_data), form_field)
    answer = api(maintainer).post(f"/api/v1/applications/{draft.pk}/decide/", data, format="json")
    assert answer.status_code == 400 and answer.json()[field] == page


@pytest.mark.django_db
def test_a_withdrawal_reason_the_page_refuses_the_api_refuses_with_the_same_message(api, applicant, draft):
    page = _form_errors(WithdrawForm({"reason": "x" * 2001}), "reason")
    answer = api(applicant).post(f"/api/v1/applications/{draft.pk}/withdraw/", {"reason": "x" * 2001}, format="json")
    assert answer.status_code == 400 and answer.json()["reason"] == page
    draft.refresh_from_db()
    assert draft.state == Application.State.DRAFT


GOOD_RUN = {"entrypoint": "train.py", "workers": "1", "max_runtime_minutes": "10"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "nightly\nSubject: hi"),
        ("entrypoint", "/etc/passwd"),
        ("entrypoint", "train.py\r\n--evil"),
        ("entrypoint", ""),
        ("workers", "0"),
        ("workers", "many"),
        ("max_runtime_minutes", str(10**9)),
        ("priority", "11"),
    ],
)
def test_a_run_field_the_run_page_refuses_the_api_refuses_with_the_same_message(
    api, applicant, project, gpu_pool, field, value
):
    allocation = make_allocation(pool=gpu_pool, project=project)
    page = _form_errors(JobSubmitForm({**GOOD_RUN, field: value}), field)
    data = {**GOOD_RUN, field: value, "allocation": allocation.pk}
    answer = api(applicant).post("/api/v1/jobs/", data, format="json")
    assert answer.status_code == 400 and answer.json()[field] == page
    assert not TrainingJob.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("value", [["a", "b"], {"a": 1}, True])
def test_a_value_no_page_could_send_is_refused_by_its_shape(api, applicant, value):
    answer = api(applicant).post("/api/v1/projects/", {**GOOD_PROJECT, "name": value}, format="json")
    assert answer.status_code == 400 and "Give one value" in answer.json()["name"][0]
    assert not Project.objects.exists()
