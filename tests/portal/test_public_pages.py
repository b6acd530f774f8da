"""Public project pages: opt-in by the members; they show the awards and the models released in approved
reports with their provenance, and nothing the project did not publish (a check for each field)."""

import pytest
from django.test import Client
from django.urls import reverse

from portal.services import applications, decisions, progress_reports
from reproducibility.models import Snapshot
from scheduler import quota
from scheduler.models import TrainingJob
from tests.portal.conftest import client_for
from tests.scheduler.factories import job_request

HOUR = 3600
pytestmark = pytest.mark.django_db


@pytest.fixture
def produced(draft, applicant, maintainer, make_user):  # type: ignore[no-untyped-def]
    """An award with two finished runs: one model released in an approved report, one in a submitted one."""
    make_user("free", "reviewer", affiliation="Neutral")
    application = decisions.award(applications.submit(draft, actor=applicant), 100 * HOUR, actor=maintainer)
    Snapshot.objects.filter(pk=application.snapshot_id).update(status=Snapshot.Status.DONE, commit="a" * 40)
    allocation = application.allocation
    jobs = []
    for checksum in ("1111111111", "2222222222"):
        job = quota.submit_job(allocation, job_request())
        TrainingJob.objects.filter(pk=job.pk).update(
            model_summary={"fingerprint": {"saved_model_checksum": checksum}}, state="running"
        )
        quota.finish_job(job, "succeeded", worker_seconds=[1800])
        jobs.append(TrainingJob.objects.get(pk=job.pk))
    report = allocation.reports.get(kind="final")
    progress_reports.submit(report, actor=applicant, work_done="Trained.", runs=jobs, released_models=[jobs[0]])
    progress_reports.approve(report, actor=maintainer)
    return application, jobs


def test_a_project_without_a_public_page_has_none_nor_a_badge(produced):
    application, _ = produced
    anyone = Client()
    assert anyone.get(reverse("portal:public_project", args=[application.project_id])).status_code == 404
    assert anyone.get(reverse("portal:sponsored_badge", args=[application.project_id])).status_code == 404


def test_the_public_page_shows_what_was_published_and_nothing_else(produced, applicant, make_user):
    application, (released, _unreleased) = produced
    project = application.project
    project.description = "Digits, trained in the open."
    project.save(update_fields=["description"])
    assert (
        client_for(make_user("eve", "applicant"))
        .post(reverse("portal:project_public_page", args=[project.pk]), {"public": "on"})
        .status_code
        == 403
    )
    client_for(applicant).post(reverse("portal:project_public_page", args=[project.pk]), {"public": "on"})
    page = Client().get(reverse("portal:public_project", args=[project.pk])).content.decode()
    # shown: the project, its sponsor call, the hours, the released model with its provenance
    assert "Digits" in page and "Digits, trained in the open." in page
    assert "Open compute 2027" in page and "100.00 h" in page and "1.00 h" in page
    assert "<code>1111111111</code>" in page and f"<td>{released.pk}</td>" in page and "0.50" in page
    # not shown: a model not released in an approved report, the repository, members, the
    # application's justification and plan, reviews, the unpublished reproducibility badge
    assert "2222222222" not in page
    assert project.repository_url not in page
    assert applicant.username not in page and applicant.email not in page
    assert application.justification not in page and application.entrypoint not in page
    assert "public-repro-badge" not in page
    assert reverse("scheduler:job_detail", args=[released.pk]) not in page
    badge = Client().get(reverse("portal:sponsored_badge", args=[project.pk]))
    assert badge["Content-Type"] == "image/svg+xml"
    assert "sponsored by: Open compute 2027 · 100 accelerator-h" in badge.content.decode()
    # the badge of the reproducibility report shows once the members publish it
    Snapshot.objects.filter(pk=application.snapshot_id).update(badge_public=True)
    assert "public-repro-badge" in Client().get(reverse("portal:public_project", args=[project.pk])).content.decode()
    client_for(applicant).post(reverse("portal:project_public_page", args=[project.pk]), {"public": "off"})
    assert Client().get(reverse("portal:public_project", args=[project.pk])).status_code == 404
