"""Notifications leave by email from a real worker, after the step commits; a failed step sends nothing."""

import time

import pytest
from django.urls import reverse

from portal.errors import WorkflowError
from portal.services import applications, decisions, notifications
from reproducibility.models import Snapshot

HOUR = 3600


def _recipients(messages):  # type: ignore[no-untyped-def]
    return {(m["To"], m["Subject"].split(":")[0]) for m in messages}


@pytest.mark.django_db(transaction=True)
def test_submission_scores_the_repository_in_a_worker_and_mails_everyone_concerned(
    draft, applicant, maintainer, make_user, sent_mail
):
    reviewer = make_user("rev", "reviewer", affiliation="Neutral")
    submitted = applications.submit(draft, actor=applicant)
    messages = sent_mail(3)
    assert _recipients(messages) == {
        (applicant.email, "[ComputeGrant] Application submitted"),
        (maintainer.email, "[ComputeGrant] New application"),
        (reviewer.email, "[ComputeGrant] Please review"),
    }
    assigned = next(m for m in messages if m["To"] == reviewer.email)
    assert reverse("portal:review", args=[submitted.assignments.get().pk]) in assigned.get_payload()
    deadline = time.monotonic() + 60
    snapshot = submitted.snapshot
    while snapshot.status not in (Snapshot.Status.DONE, Snapshot.Status.FAILED) and time.monotonic() < deadline:
        time.sleep(0.2)
        snapshot.refresh_from_db()
    assert snapshot.status == Snapshot.Status.DONE, snapshot.error
    assert 0 < snapshot.latest_report.score <= 100


@pytest.mark.django_db(transaction=True)
def test_a_decision_mails_the_project_and_a_refused_one_mails_nobody(draft, applicant, maintainer, sent_mail):
    submitted = applications.submit(draft, actor=applicant)
    submitted.state = "under_review"
    submitted.save(update_fields=["state"])
    sent_mail(2)  # the submission's own messages
    with pytest.raises(WorkflowError):
        decisions.award(submitted, 10_000 * HOUR, actor=maintainer)
    decisions.award(submitted, 100 * HOUR, actor=maintainer, message="Train well.")
    messages = sent_mail(1)
    assert [(m["To"], m["Subject"]) for m in messages] == [
        (applicant.email, "[ComputeGrant] Decision on Digits: Awarded")
    ]
    body = messages[0].get_payload()
    assert "100 accelerator-hours of nvidia-v100" in body and "Train well." in body


def test_every_kind_of_notification_has_a_template_and_unknown_kinds_are_refused():
    from django.template.loader import get_template

    for kind in notifications.KINDS:
        assert get_template(f"portal/email/{kind}.txt")
    with pytest.raises(ValueError, match="Unknown notification"):
        notifications.render("spam", {})


@pytest.mark.django_db
def test_a_withdrawal_reason_is_quoted_whole_and_not_punctuated_twice(draft):
    draft.decision_message = "We found compute elsewhere, thank you."
    subject, body = notifications.render("application_withdrawn", {"application": draft})
    assert subject == f"[ComputeGrant] Application withdrawn: {draft.project}"
    assert "was withdrawn. No review is needed any more." in body
    assert "The reason given: We found compute elsewhere, thank you.\n" in body + "\n"
    assert ".." not in body
