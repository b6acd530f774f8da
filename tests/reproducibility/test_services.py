"""Scoring through the task (on a real worker), the CLI, the report page and the badge."""

from __future__ import annotations

import io
import json
import os
import threading
import time
from pathlib import Path

import jsonschema
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse

from reproducibility import services
from reproducibility.models import Report, Snapshot
from reproducibility.scorecard import SCHEMA
from reproducibility.snapshots import SnapshotError
from tests.reproducibility.conftest import GOOD_FILES

DIGITS = Path(__file__).resolve().parents[2] / "examples" / "digits"


@pytest.mark.django_db(transaction=True)
def test_the_scoring_task_on_a_real_worker_fills_in_the_report(celery_worker, make_repo):
    snapshot = services.request_snapshot(str(make_repo(GOOD_FILES)))
    services.enqueue_scoring(snapshot)  # outside a transaction: sent at once
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        snapshot.refresh_from_db()
        if snapshot.status in (Snapshot.Status.DONE, Snapshot.Status.FAILED):
            break
        time.sleep(0.2)
    assert snapshot.status == Snapshot.Status.DONE, (snapshot.error, celery_worker.log_tail())
    report = snapshot.latest_report
    assert report.level == "gold" and report.results["repo"]["commit"] == snapshot.commit
    assert snapshot.file_count == len(GOOD_FILES)


@pytest.mark.django_db(transaction=True)
def test_two_runs_scoring_one_snapshot_at_once_leave_one_report_and_one_tree(make_repo, settings):
    snapshot = services.request_snapshot(str(make_repo(GOOD_FILES)))
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def run() -> None:
        try:
            barrier.wait()
            outcomes.append(services.score_snapshot(snapshot.pk).status)
        except Exception as error:  # surfaced by the assertion below
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert outcomes == [Snapshot.Status.DONE, Snapshot.Status.DONE]
    snapshot.refresh_from_db()
    assert snapshot.reports.count() == 1 and snapshot.latest_report.level == "gold"
    root = Path(settings.CG_SNAPSHOTS_ROOT)
    tree = root / str(snapshot.pk)
    assert sorted(str(p.relative_to(tree)) for p in tree.rglob("*") if p.is_file()) == sorted(GOOD_FILES)
    assert not list(root.glob(f"{snapshot.pk}.*.partial"))


@pytest.mark.django_db
def test_folders_of_runs_killed_mid_fetch_are_removed_once_abandoned(make_repo, settings):
    snapshot = services.request_snapshot(str(make_repo(GOOD_FILES)))
    root = Path(settings.CG_SNAPSHOTS_ROOT)
    abandoned, live = root / f"{snapshot.pk}.dead.partial", root / f"{snapshot.pk}.live.partial"
    for folder in (abandoned, live):
        folder.mkdir(parents=True)
    long_ago = time.time() - services.ABANDONED_AFTER_SECONDS - 60
    os.utime(abandoned, (long_ago, long_ago))
    assert services.score_snapshot(snapshot.pk).status == Snapshot.Status.DONE
    assert not abandoned.exists() and live.exists()


@pytest.mark.django_db
def test_a_failed_fetch_records_its_reason(tmp_path):
    snapshot = services.request_snapshot(str(tmp_path / "missing"))
    services.score_snapshot(snapshot.pk)
    snapshot.refresh_from_db()
    assert snapshot.status == Snapshot.Status.FAILED and "is not a folder" in snapshot.error
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_scoring_twice_or_the_same_content_again_reuses_the_report(make_repo):
    root = make_repo(GOOD_FILES)
    first = services.score_snapshot(services.request_snapshot(str(root)).pk)
    services.score_snapshot(first.pk)  # a retried task: nothing happens
    second = services.score_snapshot(services.request_snapshot(str(root)).pk)
    assert first.commit == second.commit
    assert Report.objects.count() == 2
    assert second.latest_report.results == first.latest_report.results


@pytest.mark.django_db
def test_a_commit_already_scored_is_never_fetched_twice():
    done = Snapshot.objects.create(kind="git", source="https://github.com/a/b", commit="a" * 40, status="done")
    assert services.request_snapshot("https://github.com/a/b", ref="a" * 40) == done


@pytest.mark.django_db
def test_local_folders_are_refused_unless_the_operator_allows_them(settings, tmp_path):
    settings.CG_ALLOW_LOCAL_REPOSITORIES = False
    with pytest.raises(SnapshotError, match="not accepted"):
        services.request_snapshot(str(tmp_path))


def test_the_cli_prints_json_that_validates_against_the_schema(capsys):
    out = io.StringIO()
    call_command("score_repo", str(DIGITS), "--json", stdout=out)
    report = json.loads(out.getvalue())
    jsonschema.validate(report, SCHEMA)
    assert report["level"] == "gold"
    progress = capsys.readouterr().err
    assert "fetching" in progress and "scoring" in progress and "scored 29 checks" in progress


def test_the_cli_explains_every_finding_and_can_gate_ci(make_repo):
    out = io.StringIO()
    call_command("score_repo", str(make_repo({"train.py": "import pickle\npickle.load(f)\n"})), stdout=out)
    text = out.getvalue()
    assert "✘ No unsafe deserialisation" in text and "train.py:2" in text and "fix:" in text
    with pytest.raises(CommandError, match="below the required 90"):
        call_command("score_repo", str(make_repo({"a.py": "x = 1\n"})), "--min-score", "90", stdout=io.StringIO())


def test_the_cli_refuses_hostile_sources_clearly():
    with pytest.raises(CommandError, match="Only https://"):
        call_command("score_repo", "ext::sh -c id", stdout=io.StringIO())
    with pytest.raises(CommandError, match="not allowed"):
        call_command("score_repo", "https://evil.example/x/y", stdout=io.StringIO())


@pytest.mark.django_db
def test_the_report_page_is_for_the_requester_and_maintainers_not_unassigned_reviewers(client, make_user, make_repo):
    owner, other = make_user("owner"), make_user("other")
    reviewer, maintainer = make_user("rev", "reviewer"), make_user("boss", "maintainer")
    snapshot = services.score_snapshot(services.request_snapshot(str(make_repo(GOOD_FILES)), requested_by=owner).pk)
    url = reverse("reproducibility:report", args=[snapshot.pk])
    assert client.get(url).status_code == 302
    # Reviewers see reports through the applications they are assigned to (tests/portal).
    for user, expected in ((owner, 200), (other, 403), (reviewer, 403), (maintainer, 200)):
        client.force_login(user)
        assert client.get(url).status_code == expected
    page = client.get(url).content.decode()
    assert "Reproducibility report" in page and "Determinism" in page and "level" in page
    assert client.get(url + "?format=json").json()["level"] == "gold"


@pytest.mark.django_db
def test_the_badge_is_public_and_shows_level_and_score(client, make_repo):
    snapshot = services.score_snapshot(services.request_snapshot(str(make_repo(GOOD_FILES))).pk)
    response = client.get(reverse("reproducibility:badge", args=[snapshot.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert f"gold {snapshot.latest_report.score:.0f}" in response.content.decode()
