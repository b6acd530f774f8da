"""Browser fixtures (Chromium itself is tests/conftest.py's `browser`): a page that records every problem
it meets, numbered screenshots, and a way to hold one Celery queue so a page can be seen while its work waits."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.portal.conftest import draft, gpu_pool, make_local_repo, open_call, plan, project, tpu_pool  # noqa: F401

PASSWORD = "a-strong-test-pass-1"  # tests/conftest.py's make_user
SCREENSHOTS = pytest.StashKey[list[Path]]()


@dataclass
class Visit:
    """One browser tab on the live server, with what went wrong on it: script errors, policy
    violations (CSP reports them on the console) and responses of 400 or more."""

    page: Any
    base_url: str
    problems: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def sign_in(self, user: Any) -> None:
        self.page.goto(self.url("/accounts/login/"))
        self.page.get_by_label("Username").fill(user.username)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.get_by_test_id("whoami").filter(has_text=user.username).wait_for()

    def sign_out(self) -> None:
        self.page.get_by_role("button", name="Sign out").click()
        self.page.get_by_role("link", name="Sign in").first.wait_for()


@pytest.fixture
def visit(browser, live_server) -> Visit:  # type: ignore[no-untyped-def]
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    found = Visit(page=page, base_url=live_server.url)

    def on_console(message: Any) -> None:
        # Failed loads are reported with their URL by the response handler below.
        if message.type == "error" and "Failed to load resource" not in message.text:
            found.problems.append(f"console on {page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: found.problems.append(f"script error on {page.url}: {error}"))
    page.on("response", lambda r: found.problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return found


@pytest.fixture
def artifacts(request, tmp_path) -> Path:  # type: ignore[no-untyped-def]
    """Where screenshots go: $CG_TEST_ARTIFACTS if set (CI keeps it), else the test's tmp_path."""
    configured = os.environ.get("CG_TEST_ARTIFACTS")
    folder = Path(configured) if configured else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    request.config.stash.setdefault(SCREENSHOTS, []).append(folder)
    print(f"screenshots: {folder}")  # shown with -s, and in the summary below either way
    return folder


AXE = Axe()  # axe-core, the engine of the browsers' own accessibility audits


def accessibility_problems(page: Any) -> list[str]:
    """What axe-core finds wrong on the page as it is now (WCAG 2.x A and AA rules, best practices)."""
    found = AXE.run(page).response["violations"]
    return [
        f"axe on {page.url}: {v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(" ".join(map(str, node["target"])) for node in v["nodes"][:3])
        for v in found
    ]


@pytest.fixture
def screenshot(artifacts, visit) -> Callable[[Any, str], Path]:  # type: ignore[no-untyped-def]
    """Save a full-page screenshot as NN-name.png, numbered in the order the steps take them, and
    check the page's accessibility there: what axe-core finds is one of the visit's problems."""
    taken: list[Path] = []

    def take(page: Any, name: str) -> Path:
        visit.problems.extend(accessibility_problems(page))
        path = artifacts / f"{len(taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        taken.append(path)
        return path

    return take


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    for folder in dict.fromkeys(config.stash.get(SCREENSHOTS, [])):
        terminalreporter.write_line(f"e2e screenshots: {folder}")


@pytest.fixture
def hold_queue(celery_worker) -> Callable[[str], Any]:  # type: ignore[no-untyped-def]
    """A context manager under which the test's worker takes nothing from `queue`; the messages wait."""
    from config.celery import app

    # The node name given to the worker (tests/support/celery_worker.py: `-n test-…@%h`).
    arguments = list(celery_worker.process.args)
    node = [arguments[arguments.index("-n") + 1].replace("%h", socket.gethostname())]

    def control(command: Callable[..., Any], queue: str) -> None:
        # Addressed to this worker alone; returns on its reply instead of waiting out the timeout.
        replies = command(queue, destination=node, reply=True, limit=1, timeout=10)
        assert [next(iter(reply)) for reply in replies] == node, f"the worker did not answer: {replies}"

    @contextmanager
    def hold(queue: str) -> Iterator[None]:
        control(app.control.cancel_consumer, queue)
        try:
            yield
        except BaseException:
            app.control.add_consumer(queue, destination=node)  # the session's worker serves later tests
            raise
        control(app.control.add_consumer, queue)

    return hold
