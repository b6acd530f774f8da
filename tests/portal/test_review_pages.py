"""The reviewer's pages: the queue, the review page with the report beside the rubric, declining and conflicts."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.models import Application, ConflictDeclaration, Review, ReviewAssignment
from portal.services import applications, decisions, projects, reviews
from reproducibility import services as reproducibility_services
from scheduler import quota
from tests.portal.conftest import client_for

HOUR = 3600
A = ReviewAssignment.State


@pytest.fixture
def reviewers(make_user):  # type: ignore[no-untyped-def]
    """Three reviewers free of conflicts with the project (the call asks for two reviews)."""
    return [make_user(name, "reviewer", affiliation=f"{name.title()} Institute") for name in ("rosa", "raj", "rui")]


@pytest.fixture
def submitted(draft, applicant, reviewers):  # type: ignore[no-untyped-def]
    """The draft submitted (two reviewers assigned) and its repository scored."""
    application = applications.submit(draft, actor=applicant)
    reproducibility_services.score_snapshot(application.snapshot_id)
    application.refresh_from_db()
    return application


def assigned(application: Application) -> list[ReviewAssignment]:
    return list(application.assignments.filter(state=A.ASSIGNED).select_related("reviewer").order_by("pk"))


def rubric_post(application: Application, *scores: int, **extra: Any) -> dict[str, Any]:
    criteria = list(application.call.criteria.all())
    data: dict[str, Any] = {f"score_{c.pk}": s for c, s in zip(criteria, scores, strict=False)}
    data.update(
        {
            "comment_to_applicant": "A clear plan. Pin the base image by digest.",
            "confidential_comment": "The team shipped similar work before.",
            "recommendation": "award",
            "recommended_hours": "80",
        }
    )
    data.update(extra)
    return data


@pytest.mark.django_db
def test_the_review_page_shows_the_application_with_its_report_beside_the_rubric(submitted):
    assignment = assigned(submitted)[0]
    response = client_for(assignment.reviewer).get(reverse("portal:review", args=[assignment.pk]))
    assert response.status_code == 200
    page = response.content.decode().replace("<wbr>", "")  # long paths and commands break at separators
    assert "Train the digits model across two workers." in page  # justification
    assert "python train.py --epochs 5" in page and submitted.project.repository_url in page
    report = submitted.snapshot.latest_report
    assert f"<strong>{report.score:.0f}</strong>/100" in page and report.level in page
    failing = [c for c in report.results["checks"] if c["status"] == "fail"]
    assert failing, "the tiny repository fails some checks"
    assert failing[0]["name"] in page and "Remedy:" in page
    assert reverse("reproducibility:report", args=[submitted.snapshot_id]) in page
    for criterion in submitted.call.criteria.all():
        assert criterion.name in page and criterion.description in page
    assert 'name="recommendation"' in page and 'name="recommended_hours"' in page
    assert reverse("portal:review_decline", args=[assignment.pk]) in page
    assert reverse("portal:review_conflict", args=[assignment.pk]) in page


@pytest.mark.django_db
def test_a_reviewer_submits_a_review_through_the_page_and_then_reads_it(submitted):
    assignment = assigned(submitted)[0]
    client = client_for(assignment.reviewer)
    url = reverse("portal:review", args=[assignment.pk])
    response = client.post(url, rubric_post(submitted, 5, 4, 3, 2))
    assert response.status_code == 302 and response["Location"] == url
    review = Review.objects.get(assignment=assignment)
    assert review.weighted_score == pytest.approx(0.3 * 5 + 0.3 * 4 + 0.2 * 3 + 0.2 * 2)
    assert review.recommended_seconds == 80 * HOUR and review.recommendation == "award"
    assert review.confidential_comment == "The team shipped similar work before."
    page = client.get(url).content.decode()
    assert 'data-testid="submitted-review"' in page and 'data-testid="review-form"' not in page
    assert "A clear plan. Pin the base image by digest." in page and "<strong>3.70</strong>/5" in page
    # Posting again changes nothing.
    again = client.post(url, rubric_post(submitted, 1, 1, 1, 1), follow=True)
    assert "already submitted" in again.content.decode()
    assert Review.objects.get(assignment=assignment).weighted_score == review.weighted_score


@pytest.mark.django_db
def test_an_incomplete_review_shows_the_services_message_and_records_nothing(submitted):
    assignment = assigned(submitted)[0]
    client = client_for(assignment.reviewer)
    url = reverse("portal:review", args=[assignment.pk])
    response = client.post(url, rubric_post(submitted, 5, 4, 3))
    assert response.status_code == 400
    assert "Score every criterion; missing: Reproducibility." in response.content.decode()
    response = client.post(url, rubric_post(submitted, 5, 4, 3, 2, comment_to_applicant="  "))
    assert response.status_code == 400 and "Write a comment to the applicant." in response.content.decode()
    response = client.post(url, rubric_post(submitted, 5, 4, 3, 9))
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert not Review.objects.exists()
    assignment.refresh_from_db()
    assert assignment.state == A.ASSIGNED


@pytest.mark.django_db
def test_declining_reassigns_the_application_to_another_reviewer(submitted, reviewers):
    first, second = assigned(submitted)
    (spare,) = [r for r in reviewers if r not in (first.reviewer, second.reviewer)]
    client = client_for(first.reviewer)
    response = client.post(reverse("portal:review_decline", args=[first.pk]), {"reason": "Travelling."})
    assert response.status_code == 302 and response["Location"] == reverse("portal:review_queue")
    first.refresh_from_db()
    assert first.state == A.DECLINED and first.reason == "Travelling."
    assert {a.reviewer for a in assigned(submitted)} == {second.reviewer, spare}
    # The declined review no longer shows the application.
    assert client.get(reverse("portal:review", args=[first.pk])).status_code == 403


@pytest.mark.django_db
def test_declaring_a_conflict_reassigns_and_bars_the_reviewer_from_the_project(submitted, reviewers):
    first = assigned(submitted)[0]
    client = client_for(first.reviewer)
    url = reverse("portal:review_conflict", args=[first.pk])
    # A conflict needs a reason: the service's message, nothing changed.
    refused = client.post(url, {"reason": " "}, follow=True)
    assert "Say what the conflict of interest is." in refused.content.decode()
    first.refresh_from_db()
    assert first.state == A.ASSIGNED and not ConflictDeclaration.objects.exists()

    response = client.post(url, {"reason": "I advised the project last year."}, follow=True)
    assert response.status_code == 200 and "conflict of interest" in response.content.decode()
    first.refresh_from_db()
    assert first.state == A.CONFLICTED
    assert ConflictDeclaration.objects.filter(reviewer=first.reviewer, project=submitted.project).exists()
    now_assigned = {a.reviewer for a in assigned(submitted)}
    assert first.reviewer not in now_assigned and len(now_assigned) == 2
    # The conflicted reviewer sees neither their old assignment nor the new reviewer's.
    assert client.get(reverse("portal:review", args=[first.pk])).status_code == 403
    for other in assigned(submitted):
        assert client.get(reverse("portal:review", args=[other.pk])).status_code == 403


@pytest.mark.django_db
def test_only_the_assigned_reviewer_may_open_or_post_the_review_page(submitted, applicant, maintainer, make_user):
    assignment = assigned(submitted)[0]
    url = reverse("portal:review", args=[assignment.pk])
    outsider = make_user("ravi", "reviewer", affiliation="Elsewhere")
    other_assigned = assigned(submitted)[1].reviewer
    for user in (outsider, other_assigned, applicant, maintainer):
        client = client_for(user)
        assert client.get(url).status_code == 403
        assert client.post(url, rubric_post(submitted, 5, 5, 5, 5)).status_code == 403
        assert client.post(reverse("portal:review_decline", args=[assignment.pk])).status_code == 403
    assert not Review.objects.exists()
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    assert client_for(applicant).get(reverse("portal:review_queue")).status_code == 403
    assert Client().get(reverse("portal:review_queue")).status_code == 302


@pytest.mark.django_db
def test_the_queue_lists_open_reviews_first_then_submitted_ones(open_call, plan, applicant, make_local_repo, make_user):
    rosa = make_user("rosa", "reviewer", affiliation="Review Institute")
    open_call.reviews_per_application = 1
    open_call.save()
    done, todo = [
        applications.submit(
            applications.save_draft(
                projects.create_project(applicant, name=name, repository_url=str(make_local_repo(name))),
                open_call,
                plan,
                actor=applicant,
            ),
            actor=applicant,
        )
        for name in ("Alpha", "Beta")
    ]
    reviews.submit_review(
        done.assignments.get(),
        actor=rosa,
        scores={c.pk: 4 for c in open_call.criteria.all()},
        comment_to_applicant="Fine.",
        recommendation="award",
    )
    client = client_for(rosa)
    page = client.get(reverse("portal:review_queue")).content.decode()
    assert "1 to do · 1 submitted" in page
    assert page.index("Beta") < page.index("Alpha")
    assert "to do" in page and "submitted: 4.00/5" in page
    dashboard = client.get(reverse("portal:home")).content.decode()
    assert 'data-testid="reviewer-section"' in dashboard
    assert dashboard.index("Beta") < dashboard.index("Alpha")
    assert reverse("portal:review", args=[todo.assignments.get().pk]) in dashboard
    nav = client.get(reverse("portal:home")).context["nav_items"]
    assert {"label": "Reviews", "url": reverse("portal:review_queue")} in nav


@pytest.mark.django_db
def test_the_review_page_lists_the_projects_training_runs(submitted, maintainer):
    first = assigned(submitted)[0]
    reviews.submit_review(
        first,
        actor=first.reviewer,
        scores={c.pk: 4 for c in submitted.call.criteria.all()},
        comment_to_applicant="Good.",
        recommendation="award",
    )
    awarded = decisions.award(submitted, 100 * HOUR, actor=maintainer)
    job = quota.submit_job(
        awarded.allocation, quota.JobRequest(entrypoint="train.py", workers=2, max_runtime_seconds=600)
    )
    page = client_for(first.reviewer).get(reverse("portal:review", args=[first.pk])).content.decode()
    assert 'data-testid="runs"' in page
    assert reverse("scheduler:job_detail", args=[job.pk]) in page and reverse("runs:detail", args=[job.pk]) in page
    # The reviewer may follow the links.
    assert client_for(first.reviewer).get(reverse("scheduler:job_detail", args=[job.pk])).status_code == 200


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.django_db
def test_the_queue_and_review_page_query_counts_do_not_grow_with_assignments(
    open_call, plan, applicant, make_local_repo, make_user
):
    rosa = make_user("rosa", "reviewer", affiliation="Review Institute")
    open_call.reviews_per_application = 1
    open_call.save()
    repo = str(make_local_repo())

    def apply(name: str) -> Application:
        project = projects.create_project(applicant, name=name, repository_url=repo)
        return applications.submit(applications.save_draft(project, open_call, plan, actor=applicant), actor=applicant)

    first = apply("P0")
    client = client_for(rosa)
    review_url = reverse("portal:review", args=[first.assignments.get().pk])
    small = (_queries(client, reverse("portal:review_queue")), _queries(client, review_url))
    for i in range(1, 8):
        apply(f"P{i}")
    large = (_queries(client, reverse("portal:review_queue")), _queries(client, review_url))
    assert large == small
