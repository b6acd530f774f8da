"""Public project pages show nothing the project did not publish: one test per field of what follows an award
(renewals, requests, reports, decisions, reviews, notices, ledgers), on the page and on its badge."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.models import Review
from portal.services import applications, award_requests, calls, decisions, progress_reports, renewals, reviews
from reproducibility.models import Snapshot
from scheduler import quota
from scheduler.models import TrainingJob
from tests.portal.conftest import client_for
from tests.scheduler.factories import job_request

HOUR = 3600
pytestmark = pytest.mark.django_db


@dataclass
class Published:
    page: str
    badge: str
    things: dict[str, Any]


@pytest.fixture
def published(draft, applicant, maintainer, make_user, gpu_pool, open_call):  # type: ignore[no-untyped-def]
    """A published project whose award has a bit of everything that is not for the public."""
    open_call.report_months = [1]
    open_call.save()
    reviewer = make_user("rosa", "reviewer", affiliation="Review Institute")
    application = applications.submit(draft, actor=applicant)
    assignment = application.assignments.get(reviewer=reviewer)
    reviews.submit_review(
        assignment,
        actor=reviewer,
        scores={c.pk: 4 for c in open_call.criteria.all()},
        comment_to_applicant="Reviewer says: solid plan.",
        confidential_comment="Confidential: the maintainers only.",
        recommendation="award",
        recommended_seconds=100 * HOUR,
    )
    application = decisions.award(
        application, 100 * HOUR, actor=maintainer, message="Decision message: enjoy.", held_seconds=30 * HOUR
    )
    Snapshot.objects.filter(pk=application.snapshot_id).update(status=Snapshot.Status.DONE, commit="a" * 40)
    allocation = application.allocation
    job = quota.submit_job(allocation, job_request())
    TrainingJob.objects.filter(pk=job.pk).update(
        model_summary={"fingerprint": {"saved_model_checksum": "9999999999"}}, state="running", name="secret-run-name"
    )
    quota.finish_job(job, "succeeded", worker_seconds=[1800])
    first = allocation.reports.get(kind="progress")
    progress_reports.submit(
        first,
        actor=applicant,
        work_done="Work done: private notes.",
        changes="Changes: private.",
        problems="Problems: private.",
        released_models=[TrainingJob.objects.get(pk=job.pk)],
    )
    progress_reports.return_for_changes(first, actor=maintainer, comment="Return comment: link the runs.")
    award_requests.request_supplement(allocation, actor=applicant, seconds=7 * HOUR, reason="Supplement reason.")
    now = timezone.now()
    later = calls.open_call(
        title="Renewal round 2028",
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=30),
        budgets=[(gpu_pool, 500 * HOUR)],
        actor=maintainer,
    )
    renewal = renewals.request_renewal(allocation, actor=applicant, call=later, reason="Renewal reason: go on.")
    project = application.project
    client_for(applicant).post(reverse("portal:project_public_page", args=[project.pk]), {"public": "on"})
    anyone = Client()
    page = anyone.get(reverse("portal:public_project", args=[project.pk]))
    badge = anyone.get(reverse("portal:sponsored_badge", args=[project.pk]))
    assert page.status_code == 200 and badge.status_code == 200
    return Published(
        page.content.decode(),
        badge.content.decode(),
        {
            "application": application,
            "allocation": allocation,
            "job": job,
            "renewal": renewal,
            "reviewer": reviewer,
            "maintainer": maintainer,
            "review": Review.objects.get(assignment=assignment),
        },
    )


# What must not show, one test each: (name, the text taken from the world).
NOT_PUBLISHED: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("renewal call", lambda t: "Renewal round 2028"),
    ("renewal reason", lambda t: "Renewal reason: go on."),
    ("renewal application link", lambda t: reverse("portal:application_detail", args=[t["renewal"].renewal_id])),
    ("supplement reason", lambda t: "Supplement reason."),
    ("supplement hours asked", lambda t: "7.00"),
    ("requests page link", lambda t: reverse("portal:allocation_requests", args=[t["allocation"].pk])),
    ("model of a report not approved", lambda t: "9999999999"),
    ("report work done", lambda t: "Work done: private notes."),
    ("report changes", lambda t: "Changes: private."),
    ("report problems", lambda t: "Problems: private."),
    ("report return comment", lambda t: "Return comment: link the runs."),
    ("report link", lambda t: reverse("portal:allocation_reports", args=[t["allocation"].pk])),
    ("decision message", lambda t: "Decision message: enjoy."),
    ("review comment to the applicant", lambda t: "Reviewer says: solid plan."),
    ("confidential review comment", lambda t: "Confidential: the maintainers only."),
    ("reviewer", lambda t: t["reviewer"].username),
    ("maintainer", lambda t: t["maintainer"].username),
    ("run name", lambda t: "secret-run-name"),
    ("usage page link", lambda t: reverse("portal:allocation_usage", args=[t["allocation"].pk])),
    ("held hours", lambda t: "30.00"),
    ("justification", lambda t: t["application"].justification),
    ("entrypoint", lambda t: t["application"].entrypoint),
]


@pytest.mark.parametrize(("name", "text"), NOT_PUBLISHED, ids=[name for name, _ in NOT_PUBLISHED])
def test_the_public_page_and_badge_do_not_show(published, name, text):  # type: ignore[no-untyped-def]
    secret = text(published.things)
    assert secret and secret not in published.page, name
    assert secret not in published.badge, name


def test_the_public_page_still_shows_the_award(published):  # type: ignore[no-untyped-def]
    assert "Open compute 2027" in published.page and "100.00 h" in published.page
    assert "Renewal round 2028" not in published.badge and "Open compute 2027" in published.badge
