"""Right after `seed_demo`, each demo account's pages show the story (portal.demo.story,
scheduler.demo), not empty states; each page is screenshotted at 1280 px and audited (conftest.py)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from portal.demo.seeders import DEMO_PEOPLE
from portal.models import Application, Call
from scheduler.demo import FAILED_RUN, FINISHED_RUN
from scheduler.models import Allocation, TrainingJob

PASSWORDS = {person.username: person.password for person in DEMO_PEOPLE}
EMPTY_STATES = (
    "Nothing waits for a decision",
    "Applications assigned to you appear here",
    "No call yet",
)


NAV_LABELS_BROKEN = """() => {
  const nav = document.querySelector('nav[aria-label="Main"]');
  const lines = (el) => {  // distinct line boxes of the label's visible text
    const bottoms = new Set();
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const text = walker.currentNode;
      if (!text.textContent.trim() || text.parentElement.closest(".visually-hidden")) continue;
      const range = document.createRange();
      range.selectNodeContents(text);
      for (const box of range.getClientRects()) bottoms.add(Math.round(box.bottom));
    }
    return bottoms.size;
  };
  const broken = [...nav.querySelectorAll("a, button, [data-testid=whoami]")].filter((el) => lines(el) > 1);
  // One row of items, all inside the window.
  const boxes = [...nav.querySelectorAll("li")].map((li) => li.getBoundingClientRect());
  const middle = (box) => (box.top + box.bottom) / 2;
  const offRow = boxes.some((box) => Math.abs(middle(box) - middle(boxes[0])) > 8);
  if (offRow || boxes.some((box) => box.right > document.documentElement.clientWidth)) broken.push(nav);
  return broken.map((el) => el.textContent.trim());
}"""


def sign_in(visit: Any, username: str) -> None:
    visit.page.goto(visit.url("/accounts/login/"))
    visit.page.get_by_label("Username").fill(username)
    visit.page.get_by_label("Password").fill(PASSWORDS[username])
    visit.page.get_by_role("button", name="Sign in").click()
    visit.page.get_by_test_id("whoami").filter(has_text=username).wait_for()


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_each_demo_account_walks_into_the_story(live_server, visit, screenshot):  # type: ignore[no-untyped-def]
    call_command("seed_demo", stdout=io.StringIO())
    call = Call.objects.get()
    allocation = Allocation.objects.get()
    finished = TrainingJob.objects.get(name=FINISHED_RUN)
    failed = TrainingJob.objects.get(name=FAILED_RUN)
    waiting = Application.objects.get(project__slug="weather-nowcast")
    draft = Application.objects.get(project__slug="handwriting-gan")
    # Each page with words the story put there.
    pages: dict[str, list[tuple[str, list[str]]]] = {
        "maintainer": [
            (reverse("portal:home"), ["Weather nowcast", "Open compute for open AI"]),
            (reverse("portal:call_dashboard", args=[call.pk]), ["Digits", "Weather nowcast", "Tiny ImageNet"]),
            (reverse("portal:application_reviews", args=[waiting.pk]), ["Weather nowcast"]),
            (reverse("portal:call_audit", args=[call.pk]), ["Music transformer"]),
            (reverse("scheduler:allocation_list"), ["Digits"]),
            (reverse("scheduler:job_list"), [FINISHED_RUN, FAILED_RUN]),
        ],
        "reviewer": [
            (reverse("portal:home"), ["Protein contacts", "Speech commands"]),
            (reverse("portal:review_queue"), ["Protein contacts", "Digits"]),
        ],
        "applicant": [
            (reverse("portal:home"), ["Digits", "Handwriting GAN"]),
            (reverse("portal:project_list"), ["Digits", "Music transformer"]),
            (reverse("portal:application_detail", args=[draft.pk]), ["Handwriting GAN"]),
            (reverse("scheduler:allocation_detail", args=[allocation.pk]), [FINISHED_RUN, FAILED_RUN]),
            (reverse("scheduler:job_detail", args=[finished.pk]), [FINISHED_RUN, "Curves, model and TensorBoard"]),
            (reverse("runs:detail", args=[finished.pk]), ["serving_default", "loss"]),
            (reverse("scheduler:job_detail", args=[failed.pk]), ["invalid int value: 'five'"]),
        ],
    }
    for username, visits in pages.items():
        sign_in(visit, username)
        # The navigation fits at 1280 px: no label breaks over two lines, nothing overflows.
        broken = visit.page.evaluate(NAV_LABELS_BROKEN)
        assert broken == [], f"{username}: navigation labels wrap at 1280 px: {broken}"
        for path, expected in visits:
            visit.page.goto(visit.url(path))
            main = visit.page.locator("main")
            for words in expected:  # waits for parts htmx loads after the page (the model's signatures)
                expect(main, f"{username} on {path}: {words!r} missing").to_contain_text(words, timeout=20_000)
            text = main.inner_text()
            for empty in EMPTY_STATES:
                assert empty not in text, f"{username} on {path}: empty state {empty!r}"
            screenshot(visit.page, f"demo-{username}-{path.strip('/').replace('/', '-') or 'home'}")
        visit.sign_out()
    assert visit.problems == [], "\n".join(visit.problems)
