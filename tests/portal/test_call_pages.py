"""The maintainer's pages: opening a call, the call dashboard (budgets, ranking, decisions, reviewers, audit
log), the review panel of an application, and who may see them."""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.models import Application, AuditEntry, Call, CallPool, Project, Review, ReviewAssignment, RubricCriterion
from portal.services import applications, assignment, calls, projects, reviews
from portal.views import calls as call_views
from reproducibility import services as reproducibility_services
from scheduler.models import Allocation, LedgerEntry
from tests.portal.conftest import client_for

HOUR = 3600
S = Application.State
A = ReviewAssignment.State


@pytest.fixture
def reviewers(make_user):  # type: ignore[no-untyped-def]
    """Two reviewers free of conflicts, and one who works for the project's organisation."""
    return {
        "rosa": make_user("rosa", "reviewer", affiliation="Review Institute"),
        "raj": make_user("raj", "reviewer", affiliation="Raj University"),
        "olga": make_user("olga", "reviewer", affiliation="Open Digits Lab"),
    }


def submit(owner: Any, call: Call, plan: Any, repo: Any, name: str, **project: Any) -> Application:
    made = projects.create_project(owner, name=name, repository_url=str(repo), **project)
    return applications.submit(applications.save_draft(made, call, plan, actor=owner), actor=owner)


def review_all(application: Application, score: int, *, hours: int = 80, confidential: str = "") -> None:
    for open_review in application.assignments.filter(state=A.ASSIGNED).select_related("reviewer"):
        reviews.submit_review(
            open_review,
            actor=open_review.reviewer,
            scores={c.pk: score for c in application.call.criteria.all()},
            comment_to_applicant="Comment to the applicant.",
            confidential_comment=confidential,
            recommendation="award",
            recommended_seconds=hours * HOUR,
        )


def call_post(pools: dict[Any, str], **overrides: Any) -> dict[str, Any]:
    """The open-a-call form as a browser posts it: the default rubric's rows and two empty ones."""
    now = timezone.now()
    data: dict[str, Any] = {
        "title": "Open compute 2028",
        "description": "Sponsored GPUs and TPUs for open-source AI.",
        "opens_at": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"),
        "reviews_per_application": "2",
        "conflict_same_affiliation": "on",
        "disagreement_threshold": "1.5",
        "award_validity_days": "365",
        "criteria-TOTAL_FORMS": "6",
        "criteria-INITIAL_FORMS": "0",
        "criteria-MIN_NUM_FORMS": "0",
        "criteria-MAX_NUM_FORMS": "20",
    }
    for i, criterion in enumerate(calls.DEFAULT_RUBRIC):
        data[f"criteria-{i}-name"] = criterion.name
        data[f"criteria-{i}-description"] = criterion.description
        data[f"criteria-{i}-weight"] = str(criterion.weight)
    for pool, hours in pools.items():
        data[f"budget_{pool.pk}"] = hours
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_a_maintainer_opens_a_call_through_the_form(maintainer, gpu_pool, tpu_pool):
    client = client_for(maintainer)
    form = client.get(reverse("portal:call_create"))
    assert form.status_code == 200
    page = form.content.decode()
    assert f'name="budget_{gpu_pool.pk}"' in page and f'name="budget_{tpu_pool.pk}"' in page
    for criterion in calls.DEFAULT_RUBRIC:  # prefilled with the default rubric
        assert f'value="{criterion.name}"' in page
    post = call_post(
        {gpu_pool: "1000", tpu_pool: "500"},
        **{"criteria-4-name": "Community", "criteria-4-weight": "0.1", "criteria-4-description": "Who uses it."},
    )
    response = client.post(reverse("portal:call_create"), post)
    call = Call.objects.get(title="Open compute 2028")
    assert response.status_code == 302 and response["Location"] == reverse("portal:call_dashboard", args=[call.pk])
    assert dict(CallPool.objects.filter(call=call).values_list("pool__name", "budget_seconds")) == {
        "nvidia-v100": 1000 * HOUR,
        "tpu-v4-8": 500 * HOUR,
    }
    assert list(call.criteria.values_list("name", "weight")) == [
        *[(c.name, c.weight) for c in calls.DEFAULT_RUBRIC],
        ("Community", 0.1),
    ]
    assert call.reviews_per_application == 2 and call.conflict_same_affiliation and call.is_open()
    dashboard = client.get(response["Location"]).content.decode()
    assert "Open compute 2028" in dashboard and "1,000.00" in dashboard


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("budgets", "overrides", "message"),
    [
        ("none", {}, "A call offers at least one pool."),
        ("gpu", {"closes_at": "2020-01-01T00:00"}, "A call must close after it opens."),
        ("gpu-zero", {}, "Give a positive number of accelerator-hours, or leave it empty."),
        ("gpu", {"criteria-1-name": "impact"}, "Rubric criteria need distinct names."),
        ("gpu", {"criteria-0-weight": "0"}, "Rubric weights must be positive."),
        ("gpu", {"title": ""}, "This field is required."),
    ],
)
def test_a_refused_call_shows_why_and_nothing_is_created(maintainer, gpu_pool, budgets, overrides, message):
    pools = {"gpu": {gpu_pool: "100"}, "gpu-zero": {gpu_pool: "0"}}.get(budgets, {})
    response = client_for(maintainer).post(reverse("portal:call_create"), call_post(pools, **overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Call.objects.exists() and not RubricCriterion.objects.exists()


@pytest.mark.django_db
def test_a_submitted_application_is_assigned_to_reviewers_without_conflicts(
    open_call, plan, applicant, make_local_repo, reviewers, maintainer
):
    application = submit(applicant, open_call, plan, make_local_repo(), "Digits", organisation="Open Digits Lab")
    assert {a.reviewer.username for a in application.assignments.all()} == {"rosa", "raj"}
    page = client_for(maintainer).get(reverse("portal:call_dashboard", args=[open_call.pk])).content.decode()
    assert "rosa: <span" in page and "raj: <span" in page and "olga" not in page


@pytest.mark.django_db
def test_the_maintainer_sees_the_ranking_and_awards(open_call, plan, applicant, make_local_repo, reviewers, maintainer):
    repo = make_local_repo()
    weak = submit(applicant, open_call, plan, repo, "Weak")
    strong = submit(applicant, open_call, plan, repo, "Strong")
    review_all(weak, 2)
    review_all(strong, 5, hours=60)
    reproducibility_services.score_snapshot(strong.snapshot_id)
    client = client_for(maintainer)
    url = reverse("portal:call_dashboard", args=[open_call.pk])
    page = client.get(url).content.decode()
    assert page.index(">Strong<") < page.index(">Weak<")
    assert "<strong>5.00</strong>/5" in page and "2 of 2 reviews" in page
    score = strong.snapshot.reports.get().score
    assert f"{score:.0f}/100" in page
    # The row's forms come when "Decide" is opened (htmx); the award is prefilled with the reviewers'
    # median recommendation, and the forms bring the maintainer back to this page of the ranking.
    assert f'id="award-hours-{strong.pk}"' not in page
    assert f'hx-get="{reverse("portal:application_decide", args=[strong.pk])}?rank=1"' in page
    forms = client.get(
        reverse("portal:application_decide", args=[strong.pk]),
        {"rank": "1"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver{url}?page=1",
    ).content.decode()
    assert f'id="award-hours-{strong.pk}" name="hours" min="0" step="any" value="60"' in forms
    assert '<input type="hidden" name="rank" value="1">' in forms
    assert f'name="next" value="{url}?page=1#application-{strong.pk}"' in forms
    assert (
        client_for(applicant)
        .get(reverse("portal:application_decide", args=[strong.pk]), HTTP_HX_REQUEST="true")
        .status_code
        == 403
    )

    response = client.post(
        reverse("portal:application_decide", args=[strong.pk]),
        {"decision": "award", "hours": "60", "message": "Enjoy the GPUs."},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == url
    strong.refresh_from_db()
    assert strong.state == S.AWARDED and strong.decision_message == "Enjoy the GPUs."
    allocation = Allocation.objects.get(project=strong.project)
    assert allocation.awarded == 60 * HOUR and allocation.pool == plan.pool
    assert LedgerEntry.objects.get(allocation=allocation).kind == "award"
    assert CallPool.objects.get(call=open_call, pool=plan.pool).remaining_seconds == 940 * HOUR
    page = response.content.decode()
    assert "Awarded 60 accelerator-hours to Strong." in page
    assert "940.00" in page  # the budget table
    assert "application.awarded" in page  # the audit log


@pytest.mark.django_db
def test_a_decision_from_the_ranking_with_htmx_rerenders_the_row(
    open_call, plan, applicant, make_local_repo, reviewers, maintainer
):
    application = submit(applicant, open_call, plan, make_local_repo(), "Digits")
    review_all(application, 4)
    client = client_for(maintainer)
    response = client.post(
        reverse("portal:application_decide", args=[application.pk]),
        {"decision": "award", "hours": "100", "rank": "3"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver" + reverse("portal:call_dashboard", args=[open_call.pk]) + "?page=1",
    )
    assert response.status_code == 200 and response["HX-Trigger"] == "budgets-changed"
    row = response.content.decode()
    assert row.lstrip().startswith(f'<tr id="application-{application.pk}"')
    assert "<td>3</td>" in row, row
    assert 'data-testid="row-state">Awarded<' in row and "100.00 h awarded" in row, row
    # The budget part the row's trigger re-fetches.
    budgets = client.get(
        reverse("portal:call_dashboard", args=[open_call.pk]) + "?part=budgets", HTTP_HX_REQUEST="true"
    )
    assert (
        budgets.content.decode().lstrip().startswith('<div id="call-budgets"') and "900.00" in budgets.content.decode()
    )
    # The ranking loads a row's decision forms when "Decide" is opened; a decided row has none.
    decide = reverse("portal:application_decide", args=[application.pk])
    assert "can no longer be decided" in client.get(decide, HTTP_HX_REQUEST="true").content.decode()
    assert client.get(decide)["Location"] == reverse("portal:application_reviews", args=[application.pk])
    # And the audit log part, which now holds the award.
    log = client.get(reverse("portal:call_dashboard", args=[open_call.pk]) + "?part=log", HTTP_HX_REQUEST="true")
    text = log.content.decode()
    assert text.lstrip().startswith('<div id="call-log"') and "→ awarded" in text and "<html" not in text
    # A refusal re-renders the row with the service's message, and changes nothing.
    refused = client.post(
        reverse("portal:application_decide", args=[application.pk]),
        {"decision": "decline", "message": "No."},
        HTTP_HX_REQUEST="true",
    )
    assert refused.status_code == 200 and "HX-Trigger" not in refused
    assert "The application is awarded; it cannot be decided." in refused.content.decode()
    application.refresh_from_db()
    assert application.state == S.AWARDED


@pytest.mark.django_db
def test_deciding_an_application_withdrawn_meanwhile_answers_with_the_refusal(
    open_call, plan, applicant, make_local_repo, reviewers, maintainer
):
    application = submit(applicant, open_call, plan, make_local_repo(), "Digits")
    applications.withdraw(application, actor=applicant, reason="We found other compute.")
    client = client_for(maintainer)
    url = reverse("portal:application_decide", args=[application.pk])
    row = client.post(url, {"decision": "award", "hours": "10"}, HTTP_HX_REQUEST="true")
    assert row.status_code == 200
    assert "The application is withdrawn; it cannot be decided." in row.content.decode()
    page = client.post(url, {"decision": "award", "hours": "10"}, follow=True)
    assert "The application is withdrawn; it cannot be decided." in page.content.decode()
    assert client.get(reverse("portal:application_reviews", args=[application.pk])).status_code == 200
    assert not Allocation.objects.exists()


@pytest.mark.django_db
def test_declining_and_waitlisting_need_a_message_to_the_applicant(
    open_call, plan, applicant, make_local_repo, reviewers, maintainer
):
    application = submit(applicant, open_call, plan, make_local_repo(), "Digits")
    client = client_for(maintainer)
    url = reverse("portal:application_decide", args=[application.pk])
    refused = client.post(url, {"decision": "decline", "message": "  "}, follow=True)
    assert "Tell the applicant why the application is declined." in refused.content.decode()
    application.refresh_from_db()
    assert application.state == S.UNDER_REVIEW
    client.post(url, {"decision": "waitlist", "message": "If budget frees up, you are next."})
    application.refresh_from_db()
    assert application.state == S.WAITLISTED
    client.post(url, {"decision": "decline", "message": "The plan does not fit the pool."})
    application.refresh_from_db()
    assert application.state == S.DECLINED and application.decision_message == "The plan does not fit the pool."
    assert not Allocation.objects.exists()


@pytest.mark.django_db
def test_an_award_over_the_budget_shows_the_error_and_changes_nothing(
    open_call, plan, applicant, make_local_repo, reviewers, maintainer
):
    application = submit(applicant, open_call, plan, make_local_repo(), "Digits")
    response = client_for(maintainer).post(
        reverse("portal:application_decide", args=[application.pk]),
        {"decision": "award", "hours": "1000.5"},
        follow=True,
    )
    page = response.content.decode()
    assert "Awarding 1,000.5 h would exceed the call&#x27;s budget on nvidia-v100: 1,000 h of 1,000 h remain." in page
    application.refresh_from_db()
    assert application.state == S.UNDER_REVIEW and application.allocation is None
    assert not Allocation.objects.exists()
    assert CallPool.objects.get(call=open_call, pool=plan.pool).awarded_seconds == 0
    for bad in ({"decision": "award", "hours": "lots"}, {"decision": "grant"}):
        response = client_for(maintainer).post(
            reverse("portal:application_decide", args=[application.pk]), bad, follow=True
        )
        assert 'class="message message-error"' in response.content.decode()
    application.refresh_from_db()
    assert application.state == S.UNDER_REVIEW


@pytest.mark.django_db
def test_assigning_by_hand_refuses_conflicts_with_the_services_message(
    open_call, plan, applicant, make_local_repo, reviewers, maintainer, make_user
):
    application = submit(applicant, open_call, plan, make_local_repo(), "Digits", organisation="Open Digits Lab")
    extra = make_user("ines", "reviewer", affiliation="Independent")
    client = client_for(maintainer)
    panel_url = reverse("portal:application_reviews", args=[application.pk])
    panel = client.get(panel_url).content.decode()
    # The select offers the conflict-free candidates only.
    assert f'<option value="{extra.pk}"' in panel and f'<option value="{reviewers["olga"].pk}"' not in panel
    url = reverse("portal:application_assign", args=[application.pk])
    refused = client.post(url, {"reviewer": reviewers["olga"].pk}, follow=True)
    assert (
        "olga has a conflict of interest: works for the project&#x27;s organisation (Open Digits Lab)."
        in refused.content.decode()
    )
    assert not application.assignments.filter(reviewer=reviewers["olga"]).exists()
    client.post(url, {"reviewer": extra.pk})
    assert application.assignments.get(reviewer=extra).assigned_by == maintainer


@pytest.mark.django_db
def test_assign_automatically_tops_an_application_up_after_a_reviewer_declined(
    open_call, plan, applicant, make_local_repo, reviewers, maintainer, make_user
):
    application = submit(applicant, open_call, plan, make_local_repo(), "Digits", organisation="Open Digits Lab")
    first = application.assignments.filter(state=A.ASSIGNED).first()
    assignment.decline(first, actor=first.reviewer, reason="Busy.")  # nobody else is free: one short
    assert application.assignments.filter(state=A.ASSIGNED).count() == 1
    client = client_for(maintainer)
    url = reverse("portal:application_assign", args=[application.pk])
    nobody = client.post(url, {"automatic": "1"}, follow=True)
    assert "No reviewer was added" in nobody.content.decode()
    make_user("ines", "reviewer", affiliation="Independent")
    back = reverse("portal:call_dashboard", args=[open_call.pk])
    response = client.post(url, {"automatic": "1", "next": back})
    assert response["Location"] == back
    assert {a.reviewer.username for a in application.assignments.filter(state=A.ASSIGNED)} >= {"ines"}
    assert application.assignments.filter(state=A.ASSIGNED).count() == 2
    # An outside address is not followed.
    response = client.post(url, {"automatic": "1", "next": "https://evil.example/"})
    assert response["Location"] == reverse("portal:application_reviews", args=[application.pk])


@pytest.mark.django_db
def test_the_review_panel_shows_every_review_with_confidential_comments(
    open_call, plan, applicant, make_local_repo, reviewers, maintainer
):
    application = submit(applicant, open_call, plan, make_local_repo(), "Digits")
    first, second = application.assignments.order_by("pk")
    reviews.submit_review(
        first,
        actor=first.reviewer,
        scores={c.pk: 5 for c in open_call.criteria.all()},
        comment_to_applicant="Excellent.",
        confidential_comment="Fund it fully.",
        recommendation="award",
    )
    reviews.submit_review(
        second,
        actor=second.reviewer,
        scores={c.pk: 1 for c in open_call.criteria.all()},
        comment_to_applicant="Not convincing.",
        confidential_comment="The team seems too small.",
        recommendation="decline",
    )
    client = client_for(maintainer)
    page = client.get(reverse("portal:application_reviews", args=[application.pk])).content.decode()
    for text in ("Excellent.", "Fund it fully.", "Not convincing.", "The team seems too small.", "reviewers disagree"):
        assert text in page
    assert "Impact: 5/5" in page and "Impact: 1/5" in page
    ranking = client.get(reverse("portal:call_dashboard", args=[open_call.pk])).content.decode()
    assert 'data-testid="disagreement"' in ranking and "4.00" in ranking  # the spread
    # Reviewers never read each other's confidential comments on their own page.
    own = client_for(first.reviewer).get(reverse("portal:review", args=[first.pk])).content.decode()
    assert "Fund it fully." in own and "The team seems too small." not in own


@pytest.mark.django_db
def test_the_call_audit_log_lists_the_call_and_its_applications(
    open_call, plan, applicant, make_local_repo, reviewers, maintainer
):
    application = submit(applicant, open_call, plan, make_local_repo(), "Digits")
    page = client_for(maintainer).get(reverse("portal:call_audit", args=[open_call.pk])).content.decode()
    for verb in ("call.opened", "application.drafted", "application.submitted", "review.assigned"):
        assert verb in page
    assert str(application) in page


@pytest.mark.django_db
def test_a_call_s_audit_log_holds_its_own_entries_only(
    open_call, gpu_pool, plan, applicant, make_local_repo, reviewers, maintainer
):
    now = timezone.now()
    other_call = calls.open_call(
        title="Spring sprint 2027",
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=9),
        budgets=[(gpu_pool, 200 * HOUR)],
        actor=maintainer,
    )
    ours = submit(applicant, open_call, plan, make_local_repo("ours"), "Digits")
    theirs = submit(applicant, other_call, plan, make_local_repo("theirs"), "Faces")
    client = client_for(maintainer)
    for call, own, other in ((open_call, ours, theirs), (other_call, theirs, ours)):
        page = client.get(reverse("portal:call_audit", args=[call.pk])).content.decode()
        assert str(own) in page and str(other) not in page
        assert "project.created" not in page  # the project's entries are the project's, not the call's
        dashboard = client.get(reverse("portal:call_dashboard", args=[call.pk])).content.decode()
        assert "application.submitted" in dashboard and str(other) not in dashboard


@pytest.mark.django_db
def test_entries_written_before_the_call_column_are_filed_under_their_call(
    open_call, plan, applicant, make_local_repo, reviewers, maintainer
):
    """The data migration that filled AuditEntry.call: every entry gets the call that audit.call_of gives."""
    migration = importlib.import_module("portal.migrations.0006_audit_entry_call")
    submit(applicant, open_call, plan, make_local_repo(), "Digits")
    written = {entry.pk: entry.call_id for entry in AuditEntry.objects.all()}
    assert set(written.values()) == {open_call.pk, None}  # None: the project's own entries
    AuditEntry.objects.update(call=None)  # as before the column existed
    migration.file_entries_under_their_call(django_apps, None)
    assert {entry.pk: entry.call_id for entry in AuditEntry.objects.all()} == written


@pytest.mark.django_db
def test_the_maintainer_dashboard_shows_calls_budgets_and_applications_waiting(
    open_call, plan, applicant, make_local_repo, reviewers, maintainer
):
    application = submit(applicant, open_call, plan, make_local_repo(), "Digits")
    client = client_for(maintainer)
    response = client.get(reverse("portal:home"))
    page = response.content.decode()
    assert 'data-testid="maintainer-section"' in page
    assert reverse("portal:call_dashboard", args=[open_call.pk]) in page and "1,000.00" in page
    assert reverse("portal:application_reviews", args=[application.pk]) in page and "0 of 2" in page
    for name in ("scheduler:allocation_list", "scheduler:queue", "scheduler:pool_list"):
        assert reverse(name) in page
    assert {"label": "Manage calls", "url": reverse("portal:call_list")} in response.context["nav_items"]
    listing = client.get(reverse("portal:call_list")).content.decode()
    assert "Open compute 2027" in listing and "(1 to decide)" in listing


@pytest.mark.django_db
def test_only_maintainers_see_the_maintainer_pages(open_call, plan, applicant, make_local_repo, reviewers, maintainer):
    application = submit(applicant, open_call, plan, make_local_repo(), "Digits")
    gets = [
        reverse("portal:call_list"),
        reverse("portal:call_create"),
        reverse("portal:call_dashboard", args=[open_call.pk]),
        reverse("portal:call_audit", args=[open_call.pk]),
        reverse("portal:application_reviews", args=[application.pk]),
    ]
    posts = [
        (reverse("portal:call_create"), call_post({plan.pool: "10"})),
        (reverse("portal:application_decide", args=[application.pk]), {"decision": "award", "hours": "1"}),
        (reverse("portal:application_assign", args=[application.pk]), {"automatic": "1"}),
    ]
    for user in (applicant, reviewers["rosa"]):
        client = client_for(user)
        for url in gets:
            assert client.get(url).status_code == 403, url
        for url, data in posts:
            assert client.post(url, data).status_code == 403, url
    for url in gets + [url for url, _ in posts]:
        response = Client().get(url) if url in gets else Client().post(url, {})
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url
    assert Call.objects.count() == 1 and not Allocation.objects.exists()
    application.refresh_from_db()
    assert application.state == S.UNDER_REVIEW
    assert client_for(maintainer).get(reverse("portal:call_dashboard", args=[open_call.pk])).status_code == 200


def _many_applications(call: Call, owner: Any, pool: Any, reviewer: Any, count: int, start: int) -> None:
    """Applications under review with one submitted review each, made in bulk (the workflow is tested above)."""
    made = Project.objects.bulk_create(
        Project(name=f"P{i}", slug=f"p-{i}", owner=owner, repository_url="/tmp/none")
        for i in range(start, start + count)
    )
    apps = Application.objects.bulk_create(
        Application(
            call=call,
            project=p,
            pool=pool,
            requested_seconds=10 * HOUR,
            state=S.UNDER_REVIEW,
            submitted_at=call.opens_at,
        )
        for p in made
    )
    done = ReviewAssignment.objects.bulk_create(
        ReviewAssignment(application=a, reviewer=reviewer, state=A.SUBMITTED) for a in apps
    )
    Review.objects.bulk_create(
        Review(assignment=a, comment_to_applicant="ok", recommendation="award", weighted_score=1 + (a.pk % 4))
        for a in done
    )


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.django_db
def test_the_maintainer_pages_query_counts_do_not_grow_with_applications(
    open_call, gpu_pool, applicant, maintainer, reviewers
):
    client = client_for(maintainer)
    urls = [
        reverse("portal:call_dashboard", args=[open_call.pk]),
        reverse("portal:call_list"),
        reverse("portal:home"),
        reverse("portal:call_audit", args=[open_call.pk]),
    ]
    _many_applications(open_call, applicant, gpu_pool, reviewers["rosa"], 5, 0)
    small = [_queries(client, url) for url in urls]
    _many_applications(open_call, applicant, gpu_pool, reviewers["rosa"], 120, 5)
    large = [_queries(client, url) for url in urls]
    assert large == small
    assert small[0] <= 15, "the ranking page stays a handful of queries"
    page = client.get(urls[0]).content.decode()
    per_page = call_views.RANKING_PAGE_SIZE  # 125 applications
    assert page.count('data-testid="ranking-row"') == per_page and f"Page 1 of {-(-125 // per_page)}" in page


# --- In a real browser ------------------------------------------------------------------------


def _signed_in_page(browser: Any, live_server: Any, user: Any) -> tuple[Any, list[str]]:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    problems: list[str] = []
    # Script errors and policy violations; failed loads are reported by URL below (the browser's own
    # favicon request, which the portal does not serve, is not the page's).
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text else None,
    )
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("a-strong-test-pass-1")  # tests/conftest.py's make_user
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("whoami").wait_for()
    return page, problems


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_in_a_browser_a_review_and_an_award_from_the_ranking_update_the_page_in_place(  # type: ignore[no-untyped-def]
    live_server, browser, open_call, plan, applicant, make_local_repo, reviewers, maintainer, tmp_path
):
    application = submit(applicant, open_call, plan, make_local_repo(), "Digits", organisation="Open Digits Lab")
    reproducibility_services.score_snapshot(application.snapshot_id)
    rosa_assignment = application.assignments.get(reviewer=reviewers["rosa"])
    other = application.assignments.exclude(pk=rosa_assignment.pk).get()
    reviews.submit_review(
        other,
        actor=other.reviewer,
        scores={c.pk: 4 for c in open_call.criteria.all()},
        comment_to_applicant="Good.",
        recommendation="award",
        recommended_seconds=70 * HOUR,
    )

    # The reviewer scores the rubric beside the report.
    page, problems = _signed_in_page(browser, live_server, reviewers["rosa"])
    page.goto(f"{live_server.url}{reverse('portal:review', args=[rosa_assignment.pk])}")
    assert page.get_by_test_id("report-summary").is_visible()
    for criterion in open_call.criteria.all():
        page.get_by_role("group", name=criterion.name).get_by_label("4").check()
    page.get_by_label("Comment to the applicant").fill("Solid plan.")
    page.get_by_label("Award").check()
    page.get_by_label("Recommended accelerator-hours").fill("90")
    page.screenshot(path=str(tmp_path / "review.png"), full_page=True)
    page.get_by_role("button", name="Submit the review").click()
    page.get_by_test_id("submitted-review").wait_for()
    assert Review.objects.filter(assignment=rosa_assignment, recommended_seconds=90 * HOUR).exists()

    # The maintainer awards from the ranking: htmx swaps the row and re-reads the budgets.
    page, more = _signed_in_page(browser, live_server, maintainer)
    problems += more
    page.goto(f"{live_server.url}{reverse('portal:call_dashboard', args=[open_call.pk])}")
    row = page.locator(f"#application-{application.pk}")
    row.get_by_text("Decide").click()
    assert row.get_by_label("Accelerator-hours to award").input_value() == "80"  # the median of 70 and 90
    page.screenshot(path=str(tmp_path / "call-dashboard.png"), full_page=True)
    row.get_by_label("Accelerator-hours to award").fill("1001")
    row.get_by_role("button", name="Award").click()
    row.get_by_test_id("row-error").wait_for()
    assert "exceed the call's budget" in row.get_by_test_id("row-error").inner_text()
    row.get_by_label("Accelerator-hours to award").fill("80")
    row.get_by_role("button", name="Award").click()
    row.get_by_test_id("row-done").wait_for()
    assert row.get_by_test_id("row-state").inner_text() == "Awarded"
    page.get_by_test_id("remaining-nvidia-v100").filter(has_text="920.00").wait_for()
    assert page.url.endswith(reverse("portal:call_dashboard", args=[open_call.pk]))  # no navigation
    assert CallPool.objects.get(call=open_call, pool=plan.pool).awarded_seconds == 80 * HOUR
    assert problems == []
