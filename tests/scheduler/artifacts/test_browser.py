"""A reviewer's view in a real browser: the run page's curves and model, and TensorBoard itself."""

from __future__ import annotations

import pytest

from .conftest import JOB_ID

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def browser_page(browser):  # type: ignore[no-untyped-def]
    return browser.new_context()


@pytest.mark.django_db(transaction=True)
def test_a_signed_in_owner_sees_curves_model_and_a_working_tensorboard(  # type: ignore[no-untyped-def]
    live_server, client, jobs, applicant, browser_page
) -> None:
    client.force_login(applicant)
    browser_page.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = browser_page.new_page()
    failures: list[str] = []
    page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    page.goto(f"{live_server.url}/runs/{JOB_ID}/")
    assert page.locator('[data-testid="chart-epoch_loss"] polyline').count() == 2
    assert page.get_by_role("table").filter(has_text="serving_default").first.is_visible()

    page.goto(f"{live_server.url}/runs/{JOB_ID}/tensorboard/")
    # TensorBoard's own frontend, loaded under the run's prefix, lists the runs and draws the tags.
    page.get_by_text("epoch_loss").first.wait_for(timeout=60_000)
    page.get_by_text("validation").first.wait_for(timeout=10_000)
    assert failures == []  # its scripts, fonts and data all load through the portal's mount
