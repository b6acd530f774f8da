"""Reproducibility badges: public by number only once awarded or published, by an unguessable link always."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from portal.services import applications, decisions
from reproducibility.models import Snapshot
from reproducibility.services import score_snapshot
from tests.portal.conftest import client_for

HOUR = 3600


@pytest.fixture
def under_review(draft, applicant, reviewer):  # type: ignore[no-untyped-def]
    application = applications.submit(draft, actor=applicant)
    score_snapshot(application.snapshot_id)
    return application


def by_number(snapshot: Snapshot) -> str:
    return reverse("reproducibility:badge", args=[snapshot.pk])


def by_link(snapshot: Snapshot) -> str:
    return f"/reproducibility/badges/{snapshot.badge_token}.svg"


@pytest.mark.django_db
def test_the_badge_of_an_application_under_review_is_not_public_by_its_number(under_review, applicant, make_user):  # type: ignore[no-untyped-def]
    snapshot = under_review.snapshot
    stranger = make_user("eve", "applicant")

    assert Client().get(by_number(snapshot)).status_code == 404
    assert client_for(stranger).get(by_number(snapshot)).status_code == 404
    mine = client_for(applicant).get(by_number(snapshot))
    assert mine.status_code == 200 and mine["Content-Type"] == "image/svg+xml"
    assert "public" not in mine["Cache-Control"]  # no shared cache keeps it for others


@pytest.mark.django_db
def test_anyone_with_the_badge_s_unguessable_link_sees_it(under_review, draft) -> None:  # type: ignore[no-untyped-def]
    snapshot = Snapshot.objects.get(pk=under_review.snapshot_id)
    other = Snapshot.objects.create(kind="local", source="/elsewhere")

    response = Client().get(by_link(snapshot))

    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert f"{snapshot.latest_report.level} {snapshot.latest_report.score:.0f}" in response.content.decode()
    assert len(snapshot.badge_token) >= 32 and snapshot.badge_token != other.badge_token
    assert Client().get(f"/reproducibility/badges/{snapshot.badge_token[:-1]}x.svg").status_code == 404


@pytest.mark.django_db
def test_the_report_offers_the_unguessable_link_for_readmes(under_review, applicant) -> None:  # type: ignore[no-untyped-def]
    snapshot = under_review.snapshot
    page = client_for(applicant).get(reverse("reproducibility:report", args=[snapshot.pk])).content.decode()

    assert by_link(snapshot) in page


@pytest.mark.django_db
def test_an_awarded_application_s_badge_is_public_by_its_number(under_review, maintainer) -> None:  # type: ignore[no-untyped-def]
    decisions.award(under_review, 100 * HOUR, actor=maintainer, message="Enjoy.")

    response = Client().get(by_number(under_review.snapshot))

    assert response.status_code == 200 and "public" in response["Cache-Control"]


@pytest.mark.django_db
def test_the_project_s_members_may_publish_the_badge_and_strangers_may_not(
    under_review, applicant, make_user, maintainer
):  # type: ignore[no-untyped-def]
    snapshot = under_review.snapshot
    publish = reverse("reproducibility:badge_publish", args=[snapshot.pk])

    for outsider in (make_user("eve", "applicant"), maintainer):
        assert client_for(outsider).post(publish, {"public": "on"}).status_code == 403
    assert Client().get(by_number(snapshot)).status_code == 404

    assert client_for(applicant).post(publish, {"public": "on"}).status_code == 302
    assert Client().get(by_number(snapshot)).status_code == 200

    assert client_for(applicant).post(publish, {"public": "maybe"}).status_code == 400
    assert Client().get(by_number(snapshot)).status_code == 200  # the refused request changed nothing
    assert client_for(applicant).post(publish, {"public": "off"}).status_code == 302
    assert Client().get(by_number(snapshot)).status_code == 404
