"""Scoring through the task (on a real worker), the CLI, the report page and the badge."""

from __future__ import annotations

import errno
import io
import json
import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from reproducibility import services
from reproducibility.models import Report, Snapshot
from reproducibility.scorecard import SCHEMA
from reproducibility.scoring import CHECKER_VERSION
from reproducibility.snapshots import Acquired, SnapshotError
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
def test_files_a_local_snapshot_leaves_out_are_problems_in_the_stored_report(make_repo):
    root = make_repo(GOOD_FILES)
    os.mkfifo(root / "pipe")
    snapshot = services.request_snapshot(str(root))
    assert services.score_snapshot(snapshot.pk).status == Snapshot.Status.DONE
    problems = {p["path"]: p["reason"] for p in snapshot.reports.get().results["problems"]}
    assert problems["pipe"].startswith("not a regular file")


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
def test_the_badge_by_its_link_is_public_and_shows_level_and_score(client, make_repo):
    snapshot = services.score_snapshot(services.request_snapshot(str(make_repo(GOOD_FILES))).pk)
    response = client.get(reverse("reproducibility:badge_by_token", args=[snapshot.badge_token]))
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert f"gold {snapshot.latest_report.score:.0f}" in response.content.decode()


def _made_by_older_checker(snapshot: Snapshot) -> None:
    snapshot.reports.update(checker_version="1.0.0")


@pytest.mark.django_db
def test_a_snapshot_scored_by_an_older_checker_is_re_scored_from_its_stored_tree_without_fetching(
    make_repo, monkeypatch
):
    root = make_repo(GOOD_FILES)
    snapshot = services.score_snapshot(services.request_snapshot(str(root)).pk)
    _made_by_older_checker(snapshot)
    old = snapshot.reports.get()
    (root / "README.md").unlink()  # the source moved on; the snapshot's own tree did not

    def no_fetch(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("a re-score with its tree at hand fetched the source")

    monkeypatch.setattr(services, "_acquire", no_fetch)
    assert services.score_snapshot(snapshot.pk).status == Snapshot.Status.DONE
    new = snapshot.reports.get(checker_version=CHECKER_VERSION)
    assert snapshot.latest_report == new
    assert new.results["repo"]["commit"] == snapshot.commit and new.results["checks"] == old.results["checks"]
    assert services.score_snapshot(snapshot.pk) and snapshot.reports.count() == 2  # done: a retry does nothing


@pytest.mark.django_db
def test_a_re_score_whose_tree_is_gone_fetches_the_recorded_commit_not_the_ref(monkeypatch, settings):
    commit = "c" * 40
    snapshot = Snapshot.objects.create(
        kind="git", source="https://github.com/a/b", ref="main", commit=commit, status="done"
    )
    Report.objects.create(snapshot=snapshot, checker_version="1.0.0", score=0, level="none", results={"checks": []})
    asked: list[str] = []

    def clone(url, dest, *, ref, allowed_hosts, caps):  # type: ignore[no-untyped-def]
        asked.append(ref)
        dest.mkdir(parents=True)
        for name, text in GOOD_FILES.items():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            (dest / name).write_text(str(text))
        return Acquired(commit=ref, size_bytes=1, file_count=len(GOOD_FILES))

    monkeypatch.setattr(services, "clone", clone)
    services.score_snapshot(snapshot.pk)
    assert asked == [commit]
    snapshot.refresh_from_db()
    assert snapshot.latest_report.checker_version == CHECKER_VERSION
    assert snapshot.latest_report.results["repo"]["commit"] == commit and snapshot.commit == commit
    assert Path(snapshot.path) == settings.CG_SNAPSHOTS_ROOT / str(snapshot.pk) and Path(snapshot.path).is_dir()


@pytest.mark.django_db
def test_a_re_score_never_scores_what_the_source_has_become(make_repo):
    root = make_repo(GOOD_FILES)
    snapshot = services.score_snapshot(services.request_snapshot(str(root)).pk)
    _made_by_older_checker(snapshot)
    Snapshot.objects.filter(pk=snapshot.pk).update(path="")  # the stored tree is gone
    (root / "README.md").unlink()
    snapshot = services.score_snapshot(snapshot.pk)
    assert snapshot.status == Snapshot.Status.DONE and "no longer gives the scored commit" in snapshot.error
    assert list(snapshot.reports.values_list("checker_version", flat=True)) == ["1.0.0"]


@pytest.mark.django_db
def test_a_re_score_is_requested_only_for_a_done_snapshot_with_an_older_report(
    make_repo, monkeypatch, django_capture_on_commit_callbacks
):
    from reproducibility.tasks import score_snapshot_task

    sent: list[int] = []
    monkeypatch.setattr(score_snapshot_task, "delay", sent.append)
    snapshot = services.score_snapshot(services.request_snapshot(str(make_repo(GOOD_FILES))).pk)
    queued = services.request_snapshot(str(make_repo(GOOD_FILES)))
    with django_capture_on_commit_callbacks(execute=True):
        assert not services.request_rescore(snapshot) and not services.request_rescore(queued)
    assert sent == []
    _made_by_older_checker(snapshot)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.request_rescore(snapshot)
    assert sent == [snapshot.pk]


# --- the portal's own data is never a repository; no snapshot stays "fetching" -------------


@pytest.fixture
def portal_data(settings, tmp_path) -> Path:
    """A data folder laid out as the portal's (snapshots and artifacts inside), with something to leak."""
    data = tmp_path / "srv" / "var"
    for folder in ("snapshots", "artifacts/jobs/1", "uploads"):
        (data / folder).mkdir(parents=True)
    (data / "uploads" / "someone-elses.zip").write_bytes(b"PK")
    (data.parent / "train.py").write_text("print('hello')\n")
    settings.DATA_DIR = data
    settings.CG_SNAPSHOTS_ROOT = data / "snapshots"
    settings.CG_ARTIFACTS_ROOT = data / "artifacts"
    settings.MEDIA_ROOT = data / "media"
    return data


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["var", "var/snapshots", "var/artifacts/jobs/1", "var/uploads", ".", "link"])
def test_a_local_source_in_or_holding_the_portal_data_fails_with_its_reason_and_copies_nothing(portal_data, where):
    if where == "link":  # a link to the data folder is no way round
        os.symlink(portal_data, portal_data.parent.parent / "innocent")
        source = portal_data.parent.parent / "innocent"
    else:
        source = (portal_data.parent / where).resolve()
    # Recorded as an older portal did, without the rule: the worker is the last line.
    snapshot = Snapshot.objects.create(kind=Snapshot.Kind.LOCAL, source=str(source))
    assert services.score_snapshot(snapshot.pk).status == Snapshot.Status.FAILED
    snapshot.refresh_from_db()
    # It names the path given, never the data folder's own (a source holding it must not learn it).
    assert snapshot.error.startswith(f"{source} is the portal's own data folder, lies inside it or contains it")
    assert list((portal_data / "snapshots").iterdir()) == []  # nothing copied, no partial tree left
    with pytest.raises(SnapshotError, match="the portal's own data folder"):
        services.request_snapshot(str(source))  # and submitting it again is refused at once


@pytest.mark.django_db
def test_a_folder_beside_the_portal_data_is_still_a_repository(portal_data):
    sibling = portal_data.parent / "project"
    sibling.mkdir()
    (sibling / "train.py").write_text("print('hello')\n")
    (portal_data.parent / "variant").mkdir()  # shares the data folder's prefix, not its path
    for source in (sibling, portal_data.parent / "variant"):
        snapshot = services.request_snapshot(str(source))
        assert services.score_snapshot(snapshot.pk).status == Snapshot.Status.DONE


@pytest.mark.django_db
def test_an_unexpected_error_while_fetching_ends_the_snapshot_failed_with_its_reason(make_repo, monkeypatch, settings):
    def too_deep(*args, **kwargs):  # what the worker met copying the data folder into itself
        raise OSError(errno.ENAMETOOLONG, "File name too long", "/srv/var/snapshots/7/snapshots/6/...")

    monkeypatch.setattr(services, "_acquire", too_deep)
    snapshot = services.request_snapshot(str(make_repo(GOOD_FILES)))
    assert services.score_snapshot(snapshot.pk).status == Snapshot.Status.FAILED
    snapshot.refresh_from_db()
    assert snapshot.status == Snapshot.Status.FAILED
    assert "File name too long" in snapshot.error and "/srv/var" not in snapshot.error  # no server paths
    assert not list(Path(settings.CG_SNAPSHOTS_ROOT).glob(f"{snapshot.pk}*"))  # its partial tree removed


@pytest.mark.django_db
def test_an_unexpected_error_while_scoring_ends_the_snapshot_failed(make_repo, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("a checker bug")

    monkeypatch.setattr(services, "score_tree", broken)
    snapshot = services.request_snapshot(str(make_repo(GOOD_FILES)))
    assert services.score_snapshot(snapshot.pk).status == Snapshot.Status.FAILED
    snapshot.refresh_from_db()
    assert "unexpected error (ValueError)" in snapshot.error and not Report.objects.exists()


@pytest.mark.django_db
def test_snapshots_left_fetching_or_scoring_by_a_killed_run_are_failed_by_the_sweep():
    now = timezone.now()
    long_ago = now - timedelta(seconds=services.STALLED_AFTER_SECONDS + 1)
    made = {
        status: Snapshot.objects.create(kind="git", source=f"https://github.com/a/{status}", status=status)
        for status in ("fetching", "scoring", "queued", "done")
    }
    recent = Snapshot.objects.create(kind="git", source="https://github.com/a/recent", status="fetching")
    Snapshot.objects.filter(pk__in=[s.pk for s in made.values()]).update(updated=long_ago)

    assert services.fail_stalled_snapshots(now=now) == 2
    statuses = {s.source.rsplit("/", 1)[1]: (s.status, s.error) for s in Snapshot.objects.all()}
    assert statuses["fetching"] == ("failed", services.STALLED) and statuses["scoring"] == ("failed", services.STALLED)
    assert statuses["queued"][0] == "queued" and statuses["done"][0] == "done" and statuses["recent"][0] == "fetching"
    assert services.fail_stalled_snapshots(now=now) == 0  # idempotent
    recent.refresh_from_db()
    assert recent.status == "fetching"


def test_the_stalled_snapshot_sweep_is_on_the_beat_schedule():
    from config.celery import app

    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "reproducibility.tasks.fail_stalled_snapshots" in tasks
    assert "scheduler.tasks.run_admission_cycle" in tasks  # the scheduler's entries are kept
