"""The report page: each check linked to its page and its status explained; re-scoring an old report."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from html import unescape
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape, strip_tags

from reproducibility import guide, services
from reproducibility.models import Report, Snapshot
from reproducibility.scoring import CHECKER_VERSION
from tests.reproducibility.conftest import GOOD_FILES

OLD_CHECKER = "1.0.0"
# A good repository with one fault (pickle) and nothing for the notebook check to judge.
MIXED_FILES = {**GOOD_FILES, "tools/load.py": "import pickle\n\nwith open('x', 'rb') as f:\n    pickle.load(f)\n"}


def text_of(html: str) -> str:
    return " ".join(unescape(strip_tags(html)).split())


def score(make_repo: Any, files: dict[str, str | bytes] = GOOD_FILES, requested_by: Any = None) -> Snapshot:
    return services.score_snapshot(services.request_snapshot(str(make_repo(files)), requested_by=requested_by).pk)


def made_by_older_checker(snapshot: Snapshot) -> Report:
    report = snapshot.reports.get()
    report.checker_version = OLD_CHECKER
    report.results = {**report.results, "scorecard": {"version": OLD_CHECKER}}
    report.save()
    return report


def check_blocks(html: str) -> dict[str, str]:
    """Each check's <details> on the report page, by check id."""
    return dict(re.findall(r'<details[^>]*data-check="([^"]+)"[^>]*>(.*?)</details>', html, re.S))


def urls_in(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from urls_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from urls_in(item)
    elif isinstance(value, str) and value.startswith(("http://", "https://")):
        yield value


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The snapshot ids sent to the scoring task (the message itself is not sent)."""
    from reproducibility.tasks import score_snapshot_task

    sent: list[int] = []
    monkeypatch.setattr(score_snapshot_task, "delay", sent.append)
    return sent


@pytest.mark.django_db
def test_the_report_links_each_check_to_its_page_and_explains_its_status_in_a_sentence(client, make_user, make_repo):
    owner = make_user("owner")
    snapshot = score(make_repo, MIXED_FILES, requested_by=owner)
    client.force_login(owner)
    html = client.get(reverse("reproducibility:report", args=[snapshot.pk])).content.decode()
    results = snapshot.latest_report.results["checks"]
    blocks = check_blocks(html)
    assert set(blocks) == {item["id"] for item in results}
    assert {item["status"] for item in results} >= {"pass", "fail", "not_applicable"}
    for item in results:
        block, text = blocks[item["id"]], text_of(blocks[item["id"]])
        assert f'<a href="{reverse("checks:detail", args=[item["id"]])}">{escape(item["name"])}: what' in block
        assert item["reason"] in text
        line = guide.load().entries[item["id"]][item["status"]]
        if not line.startswith("Never"):
            label = guide.MEANING_LABELS[item["status"]]
            assert f"{label}: {line.replace('`', '')}" in text, item["id"]
        for evidence in item["details"]:  # evidence lines stay shown
            assert f"{evidence['path']}:{evidence['line']}" in text or not evidence["line"]
    unsafe = text_of(blocks["unsafe-deserialisation"])
    assert "tools/load.py:4" in unsafe and "pickle.load(f)" in unsafe
    notebooks = text_of(blocks["notebook-hygiene"])
    assert f"Why it does not apply: {guide.load().entries['notebook-hygiene']['not_applicable']}" in notebooks


@pytest.mark.django_db
def test_the_report_lists_unreadable_files_and_the_projects_of_a_monorepo(client, make_user, make_repo):
    project = {"README.md": "# p\n", "requirements.txt": "tensorflow==2.15.0\n"}
    files = {f"{name}/{path}": text for name in ("det", "cls") for path, text in project.items()}
    files |= {"det/main.py": "def main():\n    model.fit(x)\n", "cls/main.py": "x = 1\n", "bad.py": b"\xff\xfe x"}
    owner = make_user("owner")
    snapshot = score(make_repo, files, requested_by=owner)
    client.force_login(owner)
    html = client.get(reverse("reproducibility:report", args=[snapshot.pk])).content.decode()
    assert snapshot.latest_report.results["subprojects"] == ["cls/", "det/"]
    projects = text_of(html.split('data-testid="subprojects"')[1].split("</section>")[0])
    assert "2 projects in one repository" in projects and "cls/" in projects and "det/" in projects
    problems = text_of(html.split('data-testid="problems"')[1].split("</section>")[0])
    assert "bad.py" in problems and "UTF-8" in problems


@pytest.mark.django_db
def test_every_url_in_a_report_s_json_is_a_page_of_the_site_that_answers(client, make_user, make_repo, settings):
    settings.CG_SITE_URL = "https://grants.example.org"
    owner = make_user("owner")
    snapshot = score(make_repo, MIXED_FILES, requested_by=owner)
    client.force_login(owner)
    report = client.get(reverse("reproducibility:report", args=[snapshot.pk]) + "?format=json").json()
    urls = list(urls_in(report))
    assert len(urls) == len(report["checks"])
    anonymous = Client()
    for url in urls:
        assert url.startswith("https://grants.example.org/checks/"), url
        assert anonymous.get(url.removeprefix(settings.CG_SITE_URL)).status_code == 200, url


@pytest.mark.django_db
def test_an_old_checker_s_report_says_so_and_offers_its_owner_and_maintainers_a_re_score(client, make_user, make_repo):
    owner, maintainer = make_user("owner"), make_user("boss", "maintainer")
    snapshot = score(make_repo, requested_by=owner)
    url = reverse("reproducibility:report", args=[snapshot.pk])
    client.force_login(owner)
    assert "made by checker" not in client.get(url).content.decode()  # current: nothing to say
    made_by_older_checker(snapshot)
    for user in (owner, maintainer):
        client.force_login(user)
        html = client.get(url).content.decode()
        assert f"made by checker {OLD_CHECKER}; the current checker is {CHECKER_VERSION}" in text_of(html)
        action = reverse("reproducibility:rescore", args=[snapshot.pk])
        form = re.search(rf'<form method="post" action="{action}"[^>]*>(.*?)</form>', html, re.S)
        assert form and 'name="csrfmiddlewaretoken"' in form[1] and "Re-score" in form[1]


@pytest.mark.django_db
def test_an_outsider_may_not_re_score_and_nothing_is_enqueued(
    client, make_user, make_repo, enqueued, django_capture_on_commit_callbacks
):
    owner, outsider = make_user("owner"), make_user("eve")
    snapshot = score(make_repo, requested_by=owner)
    made_by_older_checker(snapshot)
    client.force_login(outsider)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("reproducibility:rescore", args=[snapshot.pk]))
    assert response.status_code == 403
    assert callbacks == [] and enqueued == []
    assert list(snapshot.reports.values_list("checker_version", flat=True)) == [OLD_CHECKER]


@pytest.mark.django_db
def test_a_re_score_without_the_csrf_token_is_refused(
    make_user, make_repo, enqueued, django_capture_on_commit_callbacks
):
    owner = make_user("owner")
    snapshot = score(make_repo, requested_by=owner)
    made_by_older_checker(snapshot)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(reverse("reproducibility:rescore", args=[snapshot.pk]))
    assert response.status_code == 403 and enqueued == []


@pytest.mark.django_db
def test_re_scoring_enqueues_the_scoring_task_which_scores_the_same_commit_again(
    client, make_user, make_repo, enqueued, django_capture_on_commit_callbacks
):
    owner = make_user("owner")
    root = make_repo(GOOD_FILES)
    snapshot = services.score_snapshot(services.request_snapshot(str(root), requested_by=owner).pk)
    old = made_by_older_checker(snapshot)
    (root / "train.py").write_text("print('the source moved on')\n")  # a newer state the re-score must not see
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reproducibility:rescore", args=[snapshot.pk]), follow=True)
    assert enqueued == [snapshot.pk]
    assert "Re-scoring with checker" in response.content.decode()
    services.score_snapshot(snapshot.pk)  # what the task does
    new = snapshot.reports.get(checker_version=CHECKER_VERSION)
    assert new.results["repo"]["commit"] == old.results["repo"]["commit"] == snapshot.commit
    assert new.results["checks"] == old.results["checks"]
    html = client.get(reverse("reproducibility:report", args=[snapshot.pk])).content.decode()
    assert "made by checker" not in html and f"checker {CHECKER_VERSION}" in html


@pytest.mark.django_db
def test_a_report_by_the_current_checker_is_not_re_scored(
    client, make_user, make_repo, enqueued, django_capture_on_commit_callbacks
):
    owner = make_user("owner")
    snapshot = score(make_repo, requested_by=owner)
    client.force_login(owner)
    url = reverse("reproducibility:rescore", args=[snapshot.pk])
    assert client.get(url).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, follow=True)
    assert enqueued == [] and "Nothing to re-score" in response.content.decode()


@pytest.mark.django_db
def test_a_failed_re_score_is_shown_beside_the_old_report(client, make_user, make_repo):
    owner = make_user("owner")
    root = make_repo(GOOD_FILES)
    snapshot = services.score_snapshot(services.request_snapshot(str(root), requested_by=owner).pk)
    made_by_older_checker(snapshot)
    Snapshot.objects.filter(pk=snapshot.pk).update(path="")  # the stored tree is gone
    (root / "train.py").write_text("print('the source moved on')\n")
    services.score_snapshot(snapshot.pk)
    client.force_login(owner)
    text = text_of(client.get(reverse("reproducibility:report", args=[snapshot.pk])).content.decode())
    assert "Re-scoring failed: The source no longer gives the scored commit" in text
    assert f"made by checker {OLD_CHECKER}" in text


@pytest.mark.django_db(transaction=True)
def test_the_re_score_button_has_a_real_worker_add_the_current_checker_s_report(
    celery_worker, client, make_user, make_repo
):
    owner = make_user("owner")
    snapshot = score(make_repo, requested_by=owner)
    made_by_older_checker(snapshot)
    client.force_login(owner)
    assert client.post(reverse("reproducibility:rescore", args=[snapshot.pk])).status_code == 302
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not snapshot.reports.filter(checker_version=CHECKER_VERSION).exists():
        time.sleep(0.2)
    snapshot.refresh_from_db()
    assert snapshot.latest_report.checker_version == CHECKER_VERSION, celery_worker.log_tail()
    assert (
        snapshot.status == Snapshot.Status.DONE and snapshot.latest_report.results["repo"]["commit"] == snapshot.commit
    )
