"""Every page each demo account reaches, right after `seed_demo`, at 1280 px: screenshotted (kept as test
artifacts, conftest.py's `screenshot`, which runs the axe audit too), no page wider than the window, no table
wider than its column, and each page where the story put something shows it rather than an empty state."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from portal.models import Application, Call, Project, ReviewAssignment
from scheduler.demo import FAILED_RUN, FINISHED_RUN
from scheduler.models import Allocation, TrainingJob
from tests.e2e.test_demo_story import sign_in

# What the pages say when they have nothing to show (each names what to do next).
EMPTY_STATES = (
    "No projects yet",
    "No applications yet",
    "No allocations yet",
    "No runs yet",
    "No call yet",
    "Nothing waits for a decision",
    "No application was submitted yet",
    "No ledger entries yet",
    "No application is assigned to you yet",
)

# Anything wider than the window, and any table wider than the box it scrolls in, by a readable name.
TOO_WIDE = """() => {
  const name = (el) => el.dataset.testid || el.id || el.className || el.tagName;
  const found = [];
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth + 1) found.push(`the page: ${page.scrollWidth} px`);
  for (const table of document.querySelectorAll("main table")) {
    const box = table.parentElement;
    if (table.scrollWidth > box.clientWidth + 1)
      found.push(`table ${name(table)}: ${table.scrollWidth} > ${box.clientWidth} px`);
  }
  return found;
}"""


def _pages(call: Call) -> dict[str, list[tuple[str, list[str] | None]]]:
    """(path, words the story put there, or None for a page with nothing to check but that it renders)."""
    digits = Project.objects.get(slug="digits")
    awarded = Application.objects.get(project=digits, call=call)
    allocation = Allocation.objects.get(project=digits, snapshot__isnull=False)
    finished = TrainingJob.objects.get(name=FINISHED_RUN)
    failed = TrainingJob.objects.get(name=FAILED_RUN)
    draft = Application.objects.get(project__slug="handwriting-gan")
    waiting = Application.objects.get(project__slug="weather-nowcast")
    assignments = ReviewAssignment.objects.filter(reviewer__username="reviewer").select_related("application")
    open_review = assignments.filter(state=ReviewAssignment.State.ASSIGNED).first()
    done_review = assignments.filter(state=ReviewAssignment.State.SUBMITTED).first()
    snapshot = awarded.snapshot_id
    shared: list[tuple[str, list[str] | None]] = [
        (reverse("scheduler:job_detail", args=[finished.pk]), [finished.title]),
        (reverse("runs:detail", args=[finished.pk]), ["serving_default", "loss"]),
        (reverse("reproducibility:report", args=[snapshot]), ["Reproducibility report", "SavedModel"]),
    ]
    reviewer_pages: list[tuple[str, list[str] | None]] = [
        (reverse("portal:home"), ["Protein contacts"]),
        (reverse("portal:review_queue"), ["Protein contacts", "Digits"]),
    ]
    for assignment in (open_review, done_review):
        if assignment is not None:
            reviewer_pages.append(
                (reverse("portal:review", args=[assignment.pk]), [assignment.application.project.name])
            )
    return {
        "maintainer": [
            (reverse("portal:home"), ["Weather nowcast", call.title]),
            (reverse("portal:call_list"), [call.title]),
            (reverse("portal:call_dashboard", args=[call.pk]), ["Digits", "Weather nowcast", "Tiny ImageNet"]),
            (reverse("portal:call_edit", args=[call.pk]), [call.title]),
            (reverse("portal:call_audit", args=[call.pk]), ["Music transformer"]),
            (reverse("portal:call_verification", args=[call.pk]), None),
            (reverse("portal:application_reviews", args=[waiting.pk]), ["Weather nowcast"]),
            (reverse("portal:repository_change_list"), None),
            (reverse("portal:program_view"), [call.title]),
            (reverse("portal:open_calls"), [call.title]),
            (reverse("portal:project_detail", args=[digits.pk]), ["Digits"]),
            (reverse("portal:application_detail", args=[awarded.pk]), ["Digits"]),
            (reverse("scheduler:allocation_list"), ["Digits"]),
            (reverse("scheduler:allocation_detail", args=[allocation.pk]), [finished.title, failed.title]),
            (reverse("portal:allocation_usage", args=[allocation.pk]), None),
            (reverse("scheduler:job_list"), [finished.title, failed.title]),
            (reverse("scheduler:pool_list"), ["nvidia-v100"]),
            (reverse("scheduler:queue"), ["nvidia-v100"]),
            (reverse("scheduler:pool_queue", args=[allocation.pool_id]), None),
            *shared,
        ],
        "reviewer": [*reviewer_pages, *shared],
        "applicant": [
            (reverse("portal:home"), ["Digits", "Handwriting GAN"]),
            (reverse("portal:project_list"), ["Digits", "Music transformer"]),
            (reverse("portal:project_create"), None),
            (reverse("portal:project_detail", args=[digits.pk]), ["Digits", "Open compute"]),
            (reverse("portal:project_edit", args=[digits.pk]), ["Digits", "The repository is fixed while"]),
            (reverse("portal:project_members", args=[digits.pk]), None),
            (reverse("portal:project_repository", args=[digits.pk]), None),
            (reverse("portal:open_calls"), [call.title]),
            (reverse("portal:application_detail", args=[draft.pk]), ["Handwriting GAN"]),
            (reverse("portal:application_edit", args=[draft.pk]), None),
            (reverse("portal:application_detail", args=[awarded.pk]), ["Digits"]),
            (reverse("portal:invitation_list"), None),
            (reverse("scheduler:allocation_list"), ["Digits"]),
            (reverse("scheduler:allocation_detail", args=[allocation.pk]), [finished.title, failed.title]),
            (reverse("portal:allocation_usage", args=[allocation.pk]), None),
            (reverse("portal:allocation_reports", args=[allocation.pk]), None),
            (reverse("portal:allocation_requests", args=[allocation.pk]), None),
            (reverse("scheduler:job_list"), [finished.title, failed.title]),
            (reverse("scheduler:job_detail", args=[failed.pk]), ["invalid int value: 'five'"]),
            *shared,
        ],
    }


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_every_page_of_each_demo_account_fits_at_1280_px_and_shows_the_story(live_server, visit, screenshot):  # type: ignore[no-untyped-def]
    call_command("seed_demo", stdout=io.StringIO())
    pages = _pages(Call.objects.get())
    problems: list[str] = []
    for username, visits in pages.items():
        sign_in(visit, username)
        for path, expected in visits:
            response: Any = visit.page.goto(visit.url(path))
            if response is None or response.status >= 400:
                problems.append(f"{username} on {path}: {response.status if response else 'no answer'}")
                continue
            main = visit.page.locator("main")
            for words in expected or []:  # waits for parts htmx loads after the page (the model's signatures)
                expect(main, f"{username} on {path}: {words!r} missing").to_contain_text(words, timeout=20_000)
            if expected:
                text = main.inner_text()
                problems += [f"{username} on {path}: empty state {empty!r}" for empty in EMPTY_STATES if empty in text]
            problems += [f"{username} on {path}: too wide: {what}" for what in visit.page.evaluate(TOO_WIDE)]
            screenshot(visit.page, f"{username}-{path.strip('/').replace('/', '-') or 'home'}")
        visit.sign_out()
    assert problems == [], "\n".join(problems)
    assert visit.problems == [], "\n".join(visit.problems)
