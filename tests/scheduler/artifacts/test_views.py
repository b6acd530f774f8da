"""Run pages, the TensorBoard mount and downloads: what each kind of user may see, and bad input.

The runs are the `jobs` fixture of conftest.py (see there for the stand-in until TrainingJob lands).
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile

import pytest
from django.test import Client

from scheduler.artifacts import runs

from .conftest import JOB_ID, OTHER_JOB_ID, refresh_stand_in

pytestmark = pytest.mark.django_db

PAGES = [
    f"/runs/{JOB_ID}/",
    f"/runs/{JOB_ID}/panel/",
    f"/runs/{JOB_ID}/scalars.json",
    f"/runs/{JOB_ID}/tensorboard/",
    f"/runs/{JOB_ID}/tensorboard/data/runs",
    f"/runs/{JOB_ID}/download/model.tar.gz",
    f"/runs/{JOB_ID}/download/logs.tar.gz",
]


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client: Client, jobs, url: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", PAGES)
def test_an_unrelated_user_cannot_tell_the_run_exists(client: Client, jobs, make_user, url: str) -> None:  # type: ignore[no-untyped-def]
    client.force_login(make_user("eve"))

    assert client.get(url).status_code == 404


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("who", ["owner", "maintainer"])
def test_the_owner_and_maintainers_may_open_every_part_of_a_run(  # type: ignore[no-untyped-def]
    client: Client, jobs, applicant, maintainer, url: str, who: str
) -> None:
    client.force_login(applicant if who == "owner" else maintainer)

    response = client.get(url)

    assert response.status_code == 200
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)


def test_the_run_page_draws_train_and_validation_curves_together(client: Client, jobs, applicant) -> None:  # type: ignore[no-untyped-def]
    client.force_login(applicant)

    page = client.get(f"/runs/{JOB_ID}/").content.decode()

    assert 'data-testid="chart-epoch_loss"' in page
    chart = page.split('data-testid="chart-epoch_loss"', 1)[1].split("</figure>", 1)[0]
    assert chart.count("<polyline") == 2
    assert "train" in chart and "validation" in chart
    assert "Epoch 40 of 40." in page
    assert "learning_rate" in page and "adam" in page


def test_the_run_page_shows_the_model_signatures_and_risky_ops(client: Client, jobs, applicant) -> None:  # type: ignore[no-untyped-def]
    client.force_login(applicant)

    page = client.get(f"/runs/{JOB_ID}/").content.decode()

    assert "<code>serving_default</code>" in page
    assert "<code>pixels</code>" in page and "(-1, 64)" in page
    assert 'data-testid="risky-op"><code>ReadFile</code>' in page


def test_tensorboard_under_the_portal_serves_the_same_curves_as_the_run_page(client: Client, jobs, maintainer) -> None:  # type: ignore[no-untyped-def]
    client.force_login(maintainer)

    response = client.get(
        f"/runs/{JOB_ID}/tensorboard/data/plugin/scalars/scalars", {"run": "validation", "tag": "epoch_loss"}
    )

    served = json.loads(b"".join(response.streaming_content))
    assert served == jobs[JOB_ID].scalar_cache["runs"]["validation"]["epoch_loss"]


def test_tensorboard_frontend_is_served_under_the_run_prefix(client: Client, jobs, applicant) -> None:  # type: ignore[no-untyped-def]
    client.force_login(applicant)

    assert client.get(f"/runs/{JOB_ID}/tensorboard")["Location"] == f"/runs/{JOB_ID}/tensorboard/"
    page = client.get(f"/runs/{JOB_ID}/tensorboard/").content
    assert b'src="index.js' in page
    assert b"url(/font-roboto/" not in page and b"url(font-roboto/" in page


def test_tensorboard_data_queries_posted_by_its_frontend_pass_without_a_csrf_token(jobs, applicant) -> None:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    client.force_login(applicant)

    response = client.post(
        f"/runs/{JOB_ID}/tensorboard/data/plugin/scalars/scalars_multirun",
        {"tag": "epoch_accuracy", "runs": ["train", "validation"]},
    )

    assert response.status_code == 200
    assert set(json.loads(b"".join(response.streaming_content))) == {"train", "validation"}


def test_tensorboard_refuses_other_methods(client: Client, jobs, applicant) -> None:  # type: ignore[no-untyped-def]
    client.force_login(applicant)

    assert client.put(f"/runs/{JOB_ID}/tensorboard/data/runs").status_code == 405


def test_the_model_download_is_a_streamed_archive_of_the_saved_model(
    client: Client, jobs, applicant, saved_model_dir
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(applicant)

    response = client.get(f"/runs/{JOB_ID}/download/model.tar.gz")

    assert response["Content-Disposition"] == f'attachment; filename="job-{JOB_ID}-model.tar.gz"'
    with tarfile.open(fileobj=io.BytesIO(b"".join(response.streaming_content)), mode="r:gz") as archive:
        member = archive.extractfile(f"job-{JOB_ID}-model/saved_model.pb")
        assert member is not None and member.read() == (saved_model_dir / "saved_model.pb").read_bytes()


def test_an_unknown_download_kind_is_not_found(client: Client, jobs, applicant) -> None:  # type: ignore[no-untyped-def]
    client.force_login(applicant)

    assert client.get(f"/runs/{JOB_ID}/download/checkpoints.tar.gz").status_code == 404


def test_missing_artifacts_are_a_clear_message_not_a_server_error(client: Client, jobs, applicant) -> None:  # type: ignore[no-untyped-def]
    paths = runs.run_artifacts(JOB_ID)
    shutil.rmtree(paths.logs)
    shutil.rmtree(paths.model)
    refresh_stand_in(jobs[JOB_ID])
    client.force_login(applicant)

    page = client.get(f"/runs/{JOB_ID}/").content.decode()
    assert "No TensorBoard logs yet" in page
    assert "No exported model: the run has no model folder." in page
    for url in (
        f"/runs/{JOB_ID}/tensorboard/",
        f"/runs/{JOB_ID}/download/logs.tar.gz",
        f"/runs/{JOB_ID}/download/model.tar.gz",
    ):
        response = client.get(url)
        assert response.status_code == 404
        assert "This run has" in response.content.decode()


def test_damaged_event_files_and_a_malformed_model_show_as_messages(client: Client, jobs, applicant) -> None:  # type: ignore[no-untyped-def]
    paths = runs.run_artifacts(JOB_ID)
    event_file = next((paths.logs / "validation").iterdir())
    event_file.write_bytes(event_file.read_bytes()[:-5])
    (paths.model / "saved_model.pb").write_bytes(b"\x0a\xff\xff\xff\xff\xff")
    refresh_stand_in(jobs[JOB_ID])
    client.force_login(applicant)

    response = client.get(f"/runs/{JOB_ID}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="event-warning">validation/' in page and "truncated" in page
    assert "saved_model.pb is not a valid SavedModel protobuf" in page
    assert 'data-testid="chart-epoch_loss"' in page  # what could be read is still drawn


def test_compare_draws_only_the_runs_the_user_may_see_on_one_chart(client: Client, jobs, applicant) -> None:  # type: ignore[no-untyped-def]
    client.force_login(applicant)

    page = client.get("/runs/compare/", {"job": [str(JOB_ID), str(OTHER_JOB_ID)]}).content.decode()

    chart = page.split('data-testid="chart-epoch_loss"', 1)[1].split("</figure>", 1)[0]
    assert f"#{JOB_ID} train" in chart and f"#{JOB_ID} validation" in chart
    assert f"#{OTHER_JOB_ID}" not in page


def test_a_maintainer_compares_runs_of_several_projects(client: Client, jobs, maintainer) -> None:  # type: ignore[no-untyped-def]
    client.force_login(maintainer)

    page = client.get("/runs/compare/", {"job": [str(JOB_ID), str(OTHER_JOB_ID)]}).content.decode()

    chart = page.split('data-testid="chart-epoch_loss"', 1)[1].split("</figure>", 1)[0]
    assert chart.count("<polyline") == 4


def test_compare_refuses_ids_that_are_not_numbers(client: Client, jobs, applicant) -> None:  # type: ignore[no-untyped-def]
    client.force_login(applicant)

    assert client.get("/runs/compare/", {"job": "1;drop"}).status_code == 400


def test_tensorboard_is_refused_for_logs_that_link_outside_the_run(client: Client, jobs, applicant) -> None:  # type: ignore[no-untyped-def]
    logs = runs.run_artifacts(JOB_ID).logs
    (logs / "borrowed").symlink_to(runs.run_artifacts(OTHER_JOB_ID).logs, target_is_directory=True)
    client.force_login(applicant)

    response = client.get(f"/runs/{JOB_ID}/tensorboard/data/runs")

    assert response.status_code == 403
    assert "symbolic links (borrowed)" in response.content.decode()
    assert client.get(f"/runs/{JOB_ID}/").status_code == 200  # the page's own reader skips links


def _reviewer_of(project, make_user, name: str, state: str):  # type: ignore[no-untyped-def]
    """A reviewer with an assignment in `state` on an application of `project`."""
    from datetime import timedelta

    from django.utils import timezone

    from portal.models import Application, ReviewAssignment
    from portal.services.calls import open_call

    reviewer = make_user(name, "reviewer")
    pool = project.allocations.get().pool
    now = timezone.now()
    call = open_call(title=f"Call for {name}", opens_at=now, closes_at=now + timedelta(days=1), budgets=[(pool, 3600)])
    application = Application.objects.create(
        call=call, project=project, pool=pool, requested_seconds=3600, state="under_review"
    )
    ReviewAssignment.objects.create(application=application, reviewer=reviewer, state=state)
    return reviewer


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize(("state", "expected"), [("assigned", 200), ("submitted", 200), ("conflicted", 404)])
def test_reviewers_see_the_runs_of_applications_they_review_only(  # type: ignore[no-untyped-def]
    client: Client, jobs, make_user, url: str, state: str, expected: int
) -> None:
    project = jobs[JOB_ID].allocation.project
    client.force_login(_reviewer_of(project, make_user, "rosa", state))

    response = client.get(url)

    assert response.status_code == expected
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)
    # Never the runs of a project they do not review.
    assert client.get(url.replace(str(JOB_ID), str(OTHER_JOB_ID))).status_code == 404


def test_the_job_list_shows_reviewers_the_runs_they_may_open(client: Client, jobs, make_user) -> None:  # type: ignore[no-untyped-def]
    from scheduler.selectors import visible_jobs

    reviewer = _reviewer_of(jobs[JOB_ID].allocation.project, make_user, "rosa", "assigned")
    unassigned = make_user("ravi", "reviewer")

    assert [job.pk for job in visible_jobs(reviewer)] == [JOB_ID]
    assert list(visible_jobs(unassigned)) == []
