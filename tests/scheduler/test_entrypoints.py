"""One meaning of "entrypoint" (scheduler.entrypoints): a script in the repository, then its
arguments. The application's example is what the run form takes, and a script the run's snapshot
lacks is refused when the run is submitted, next to the field, with nothing queued."""

import shlex

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from portal.access import roles
from portal.forms.applications import ApplicationForm
from reproducibility.models import Snapshot
from scheduler import entrypoints, quota
from scheduler.forms import JobSubmitForm
from scheduler.models import TrainingJob
from tests.portal.conftest import client_for
from tests.scheduler.factories import PoolFactory, ProjectFactory, make_allocation


@pytest.mark.parametrize(
    ("text", "script", "args"),
    [
        ("train.py", "train.py", ()),
        ("python train.py --epochs 5", "train.py", ("--epochs", "5")),
        ("python3 -u src/train.py", "src/train.py", ()),
        ("python3.11 ./train.py --name 'a b'", "train.py", ("--name", "a b")),
    ],
)
def test_an_entrypoint_is_a_script_and_its_arguments(text, script, args):
    assert entrypoints.parse(text) == entrypoints.Entrypoint(script, args)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Give the script to run"),
        ("python", "Give the script to run"),
        ("python -m digits.train", "not the option -m"),
        ("/etc/passwd", "path inside the repository"),
        ("python ../outside.py", "path inside the repository"),
        ("train.py --name 'unclosed", "could not be read"),
    ],
)
def test_an_entrypoint_that_cannot_run_is_refused_saying_why(text, message):
    with pytest.raises(entrypoints.EntrypointError, match=message):
        entrypoints.parse(text)


words = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=12)


@given(script=st.from_regex(r"[a-z]{1,8}(/[a-z]{1,8})?\.py", fullmatch=True), args=st.lists(words, max_size=4))
def test_what_is_written_back_reads_the_same(script, args):
    entrypoint = entrypoints.parse(shlex.join([script, *args]))
    assert entrypoint == entrypoints.Entrypoint(script, tuple(args))


def test_the_application_form_s_example_is_what_the_run_form_takes():
    data = {"entrypoint": "python train.py --epochs 5", "args": "--seed-offset 1", "workers": 1}
    data.update(max_runtime_minutes=5, accelerators_per_worker=1, seed=1)
    run = JobSubmitForm(data)
    assert run.is_valid(), run.errors
    request = run.job_request()
    assert (request.entrypoint, request.args) == ("train.py", ["--epochs", "5", "--seed-offset", "1"])
    assert entrypoints.EXAMPLE in ApplicationForm.base_fields["entrypoint"].help_text


@pytest.fixture
def reviewed_allocation(db, make_user, tmp_path):
    """An allocation whose reviewed snapshot holds train.py only."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "train.py").write_text("print('training')\n")
    (tree / "evaluate.py").write_text("print('evaluating')\n")
    snapshot = Snapshot.objects.create(
        kind="local", source=str(tmp_path), commit="c0ffee" * 6, path=str(tree), status=Snapshot.Status.DONE
    )
    owner = make_user("owner", roles.APPLICANT)
    project = ProjectFactory(owner=owner)
    return make_allocation(pool=PoolFactory(name="nvidia-v100", capacity=8), project=project, snapshot=snapshot)


def test_a_script_the_snapshot_lacks_is_refused_next_to_the_field_and_nothing_is_queued(reviewed_allocation):
    response = client_for(reviewed_allocation.project.owner).post(
        reverse("scheduler:allocation_detail", args=[reviewed_allocation.pk]),
        {
            "entrypoint": "python trian.py --epochs 5",
            "workers": 1,
            "accelerators_per_worker": 1,
            "max_runtime_minutes": 5,
            "seed": 1,
        },
    )
    assert response.status_code == 400  # the page again, with the error beside the field
    form = response.context["form"]
    assert form.errors["entrypoint"] == [
        "trian.py is not a file in the repository at c0ffeec0ffee (the reviewed commit). "
        "Its top-level scripts: evaluate.py, train.py."
    ]
    assert not form.non_field_errors()
    assert not TrainingJob.objects.exists()
    assert reviewed_allocation.ledger.count() == 1  # the award only: nothing reserved


def test_the_api_refuses_a_missing_script_too_and_a_present_one_is_queued(reviewed_allocation):
    client = client_for(reviewed_allocation.project.owner)
    data = {"allocation": reviewed_allocation.pk, "entrypoint": "missing.py", "max_runtime_minutes": 5}
    answer = client.post("/api/v1/jobs/", data, content_type="application/json")
    assert answer.status_code == 400  # at its field, as the page shows it
    assert "missing.py is not a file in the repository" in answer.json()["entrypoint"][0]
    assert not TrainingJob.objects.exists()
    job = quota.submit_job(
        reviewed_allocation, quota.JobRequest(entrypoint="train.py", max_runtime_seconds=60), actor=None
    )
    assert job.state == TrainingJob.State.QUEUED and job.entrypoint == "train.py"


@pytest.mark.parametrize(("text", "message"), [("python -m digits.train", "not the option -m"), ("../x.py", "inside")])
def test_the_application_form_refuses_an_entrypoint_no_run_could_take(text, message):
    form = ApplicationForm.base_fields["entrypoint"]
    assert form.clean(text) == text  # one line, the field's own rules
    application = ApplicationForm.__new__(ApplicationForm)
    application.cleaned_data = {"entrypoint": text}
    with pytest.raises(ValidationError, match=message):
        application.clean_entrypoint()
