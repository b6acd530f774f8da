"""The award is for what was reviewed (issue 13, finding 2).

A project's repository is fixed while it is under review or awarded (API, pages, admin, any save);
runs execute the reviewed snapshot at its commit, on the local backend from a copy of its files;
another repository or commit needs a change request that a maintainer approves after reading how
the static report changes.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from portal.errors import WorkflowError
from portal.models import AuditEntry, Project, RepositoryChange
from portal.services import applications, decisions, projects, repository_changes
from reproducibility import checkout
from reproducibility import services as snapshots
from reproducibility.snapshots import SnapshotError
from scheduler import admission, runner
from scheduler.models import Allocation, SourceBasis, TrainingJob
from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db
HOUR = 3600
S = TrainingJob.State
# A tiny "training" program: says which version of the repository it runs.
RUN_PY = (
    "import os, pathlib\nprint('running', pathlib.Path('VERSION').read_text().strip(), 'in', os.getcwd(), flush=True)\n"
)
REVIEWED_FILES = {
    "README.md": "# Tiny\n\n## Usage\n\n```sh\npython run.py\n```\n",
    "run.py": RUN_PY,
    "VERSION": "reviewed-v1\n",
    "requirements.txt": "tensorflow==2.21.0\n",
    "LICENSE": "Apache License\nVersion 2.0, January 2004\n",
}


def git(folder: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=Ada", "-c", "user.email=ada@example.org", "-c", "commit.gpgsign=false", *args]
    return subprocess.run(command, cwd=folder, check=True, capture_output=True, text=True).stdout.strip()


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A local git repository at one commit: what the reviewers will score."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    write(folder, REVIEWED_FILES)
    git(folder, "init", "--quiet")
    git(folder, "add", ".")
    git(folder, "commit", "--quiet", "-m", "reviewed")
    return folder


@pytest.fixture
def awarded(applicant, maintainer, open_call, plan, git_repo) -> Any:
    """The project, its awarded application (scored at the repository's commit) and its allocation."""
    project = projects.create_project(applicant, name="Tiny", repository_url=str(git_repo), licence="Apache-2.0")
    application = applications.submit(
        applications.save_draft(project, open_call, plan, actor=applicant), actor=applicant
    )
    snapshot = snapshots.score_snapshot(application.snapshot_id)
    assert snapshot.status == "done" and snapshot.commit == git(git_repo, "rev-parse", "HEAD")
    application.state = "under_review"
    application.save(update_fields=["state"])
    application = decisions.award(application, 50 * HOUR, actor=maintainer, message="Go.")
    return application


def _run(job: TrainingJob, timeout: float = 60) -> TrainingJob:
    """Drive one job through admission, launch and sync on the local backend, as run_example does."""
    admission.admit_pending_jobs(job.pool)
    runner.launch_job(job.pk)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_terminal:
            return job
        runner.sync_job(job.pk)
        time.sleep(0.2)
    raise AssertionError(f"job {job.pk} is still {job.state}")


def _submit(client: Any, allocation: Allocation) -> TrainingJob:
    data = {"entrypoint": "run.py", "workers": 1, "accelerators_per_worker": 1, "max_runtime_minutes": 5, "seed": 1}
    response = client.post(reverse("scheduler:allocation_detail", args=[allocation.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return TrainingJob.objects.latest("pk")


# --- the repository is fixed -------------------------------------------------------------------


def test_patching_an_awarded_projects_repository_is_refused_and_changes_nothing(awarded, applicant, make_local_repo):
    project = awarded.project
    before = project.repository_url
    response = client_for(applicant).patch(
        reverse("api:project-detail", args=[project.pk]),
        data=json.dumps({"repository_url": str(make_local_repo("elsewhere"))}),
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["repository_url"]  # at its field, as DRF's own validation errors
    [detail] = response.json()["repository_url"]
    assert "cannot change while it has an active allocation" in detail
    assert reverse("portal:project_repository", args=[project.pk]) in detail
    project.refresh_from_db()
    assert project.repository_url == before
    # Other fields still change: only the repository is fixed.
    response = client_for(applicant).patch(
        reverse("api:project-detail", args=[project.pk]),
        data=json.dumps({"description": "Now with docs."}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content


def test_the_repository_is_fixed_while_under_review_and_free_before(
    applicant, open_call, plan, git_repo, make_local_repo
):
    project = projects.create_project(applicant, name="Tiny", repository_url=str(git_repo))
    draft = applications.save_draft(project, open_call, plan, actor=applicant)
    other = str(make_local_repo("other"))
    projects.update_project(project, actor=applicant, repository_url=other)  # a draft fixes nothing
    assert Project.objects.get(pk=project.pk).repository_url == other
    applications.submit(draft, actor=applicant)
    with pytest.raises(WorkflowError, match=r"its application to .* is"):
        projects.update_project(project, actor=applicant, repository_url=str(git_repo))
    assert Project.objects.get(pk=project.pk).repository_url == other


def test_no_save_path_changes_a_fixed_repository_admin_included(awarded, make_user, make_local_repo):
    project = Project.objects.get(pk=awarded.project_id)
    project.repository_url = str(make_local_repo("swap"))
    with pytest.raises(WorkflowError, match="repository change request"):
        project.save()  # the shell, a data fix, any code path
    operator = make_user("root", None)
    operator.is_staff = operator.is_superuser = True
    operator.save()
    page = client_for(operator).get(reverse("admin:portal_project_change", args=[project.pk]))
    assert page.status_code == 200
    assert 'name="repository_url"' not in page.content.decode()  # shown, not editable


# --- runs execute the reviewed commit ----------------------------------------------------------


def test_a_run_after_the_repository_moved_on_still_runs_the_reviewed_commit(awarded, applicant, git_repo):
    reviewed = git(git_repo, "rev-parse", "HEAD")
    write(git_repo, {"VERSION": "unreviewed-v2\n"})
    git(git_repo, "commit", "--quiet", "-am", "after the award")  # same URL, HEAD moved on
    job = _submit(client_for(applicant), awarded.allocation)
    assert (job.repository_url, job.commit, job.source_basis) == (str(git_repo), reviewed, SourceBasis.REVIEWED)
    assert job.snapshot_id == awarded.snapshot_id
    job = _run(job)
    assert job.state == S.SUCCEEDED, job.failure_reason
    log = (Path(job.artifacts_dir) / "workers" / "worker-0.log").read_text()
    assert "running reviewed-v1" in log and "unreviewed-v2" not in log
    assert f"in {runner.sources.sources_root()}" in log  # a copy of its own, not the snapshot's stored tree
    # The snapshot's stored tree is untouched by runs, and the run's copy is gone once it ended.
    assert (Path(awarded.snapshot.path) / "VERSION").read_text() == "reviewed-v1\n"
    assert not any(Path(runner.sources.sources_root()).glob(f"{job.pk}-*"))
    page = client_for(applicant).get(reverse("scheduler:job_detail", args=[job.pk])).content.decode()
    assert reviewed in page and "✓ reviewed" in page
    listing = client_for(applicant).get(reverse("scheduler:job_list")).content.decode()
    assert reviewed[:12] in listing and 'data-basis="reviewed"' in listing
    api = client_for(applicant).get(reverse("api:job-detail", args=[job.pk])).json()
    assert (api["commit"], api["source_basis"], api["snapshot"]) == (reviewed, "reviewed", awarded.snapshot_id)


def test_a_snapshot_whose_stored_files_were_altered_is_not_run(applicant, make_local_repo, tmp_path):
    """A tree that can say what it holds (here a content digest) is checked before a run gets it."""
    snapshot = snapshots.score_snapshot(snapshots.request_snapshot(str(make_local_repo("plain"))).pk)
    assert snapshot.commit.startswith("sha256:")
    assert (checkout.check_out(snapshot, tmp_path / "run-1") / "train.py").exists()
    Path(snapshot.path, "train.py").write_text("print('tampered')\n")
    with pytest.raises(SnapshotError, match="not the recorded commit"):
        checkout.check_out(snapshot, tmp_path / "run-2")
    assert not (tmp_path / "run-2").exists()


def test_an_unscored_reviewed_snapshot_refuses_runs_with_the_reason(awarded, applicant):
    awarded.snapshot.status = "failed"
    awarded.snapshot.error = "git could not fetch the repository"
    awarded.snapshot.save(update_fields=["status", "error"])
    data = {"entrypoint": "run.py", "workers": 1, "accelerators_per_worker": 1, "max_runtime_minutes": 5, "seed": 1}
    response = client_for(applicant).post(reverse("scheduler:allocation_detail", args=[awarded.allocation_id]), data)
    assert response.status_code == 400
    assert "whose snapshot is failed: git could not fetch the repository" in response.content.decode()
    assert not TrainingJob.objects.exists()


# --- the change request, end to end ------------------------------------------------------------


def test_a_change_request_is_scored_compared_approved_and_then_run(
    awarded, applicant, maintainer, make_user, make_local_repo, django_capture_on_commit_callbacks
):
    project = awarded.project
    seeded = "import tensorflow as tf\n\ntf.keras.utils.set_random_seed(1)\n"
    fixed = make_local_repo("fixed", {**REVIEWED_FILES, "VERSION": "fixed-v2\n", "train.py": seeded})
    owner = client_for(applicant)
    url = reverse("portal:project_repository", args=[project.pk])
    assert "fixed because it has an active allocation" in owner.get(url).content.decode()
    # Bad input changes nothing and says why.
    refused = owner.post(url, {"repository_url": str(fixed), "ref": "--upload-pack=evil", "reason": "x"})
    assert refused.status_code == 400 and "Give the commit as git names it" in refused.content.decode()
    refused = owner.post(url, {"repository_url": str(fixed), "ref": "main", "reason": "x"})
    assert refused.status_code == 400 and "commit can only be picked in a git" in refused.content.decode()
    refused = owner.post(url, {"repository_url": str(fixed), "reason": "  "})
    assert refused.status_code == 400
    assert not RepositoryChange.objects.exists()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = owner.post(url, {"repository_url": str(fixed), "reason": "The data loader was wrong."})
    assert response.status_code == 302
    change = RepositoryChange.objects.get()
    assert (change.state, change.base_snapshot_id) == ("pending", awarded.snapshot_id)
    assert _mails(callbacks) == {(maintainer.email, "[ComputeGrant] Repository change requested for Tiny")}
    assert owner.post(url, {"repository_url": str(fixed), "reason": "again"}).status_code == 400  # one at a time

    # Nothing changes before the decision: runs still execute the reviewed commit.
    assert Allocation.objects.get(pk=awarded.allocation_id).snapshot_id == awarded.snapshot_id
    boss = client_for(maintainer)
    page = boss.get(reverse("portal:repository_change", args=[change.pk])).content.decode()
    assert "being scored" in page
    refused = boss.post(
        reverse("portal:repository_change_decide", args=[change.pk]), {"decision": "approve", "message": "ok"}
    )
    assert refused.status_code == 400 and "not scored yet" in refused.content.decode()

    snapshots.score_snapshot(change.snapshot_id)
    diff = repository_changes.report_diff(change)
    assert diff.ready and diff.score_delta == round(diff.after.score - diff.before.score, 1) != 0
    seed = next(c for c in diff.changed if c.id == "global-seed")
    assert seed.status_before != "pass" and seed.status_after == "pass"
    assert change.pk in [c.pk for c in boss.get(reverse("portal:repository_change_list")).context["changes"]]
    page = boss.get(reverse("portal:repository_change", args=[change.pk])).content.decode()
    assert 'data-check="global-seed"' in page
    assert f"{diff.before.score:.1f}" in page and f"{diff.after.score:.1f}" in page
    assert 'data-testid="decide-form"' in page
    assert (
        'data-testid="decide-form"'
        not in owner.get(reverse("portal:repository_change", args=[change.pk])).content.decode()
    )

    refused = boss.post(
        reverse("portal:repository_change_decide", args=[change.pk]), {"decision": "approve", "message": ""}
    )
    assert refused.status_code == 400
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = boss.post(
            reverse("portal:repository_change_decide", args=[change.pk]),
            {"decision": "approve", "message": "A real fix; the licence must come back."},
        )
    assert response.status_code == 302
    change.refresh_from_db()
    assert (change.state, change.decided_by, change.decision_message) == (
        "approved",
        maintainer,
        "A real fix; the licence must come back.",
    )
    assert _mails(callbacks) == {(applicant.email, "[ComputeGrant] Repository change for Tiny: Approved")}
    assert list(
        AuditEntry.objects.filter(target_id=change.pk, verb__startswith="repository_change").values_list(
            "verb", flat=True
        )
    ) == [
        "repository_change.approved",
        "repository_change.requested",
    ]
    allocation = Allocation.objects.get(pk=awarded.allocation_id)
    assert (allocation.snapshot_id, allocation.source_basis) == (change.snapshot_id, SourceBasis.APPROVED)
    assert Project.objects.get(pk=project.pk).repository_url == str(fixed)
    assert (
        boss.post(
            reverse("portal:repository_change_decide", args=[change.pk]), {"decision": "decline", "message": "no"}
        ).status_code
        == 400
    )

    job = _run(_submit(owner, allocation))
    assert job.state == S.SUCCEEDED, job.failure_reason
    assert (job.commit, job.source_basis) == (change.snapshot.commit, SourceBasis.APPROVED)
    assert "running fixed-v2" in (Path(job.artifacts_dir) / "workers" / "worker-0.log").read_text()
    assert "✓ approved change" in owner.get(reverse("scheduler:job_detail", args=[job.pk])).content.decode()


def test_a_declined_change_keeps_the_reviewed_commit_and_members_cannot_decide(
    awarded, applicant, maintainer, make_local_repo
):
    change = repository_changes.request_change(
        awarded.project, actor=applicant, repository_url=str(make_local_repo("other")), reason="Newer code."
    )
    snapshots.score_snapshot(change.snapshot_id)
    with pytest.raises(WorkflowError, match="why the change is declined"):
        repository_changes.decline(change, actor=maintainer, message=" ")
    # A maintainer who belongs to the project does not decide its change.
    awarded.project.members.add(maintainer)
    with pytest.raises(WorkflowError, match="another maintainer decides"):
        repository_changes.decline(change, actor=maintainer, message="No.")
    awarded.project.members.remove(maintainer)
    repository_changes.decline(change, actor=maintainer, message="Run what was reviewed.")
    allocation = Allocation.objects.get(pk=awarded.allocation_id)
    assert (allocation.snapshot_id, allocation.source_basis) == (awarded.snapshot_id, SourceBasis.REVIEWED)
    assert Project.objects.get(pk=awarded.project_id).repository_url == awarded.project.repository_url


def test_a_change_is_only_asked_for_when_something_is_fixed(applicant, git_repo):
    project = projects.create_project(applicant, name="Tiny", repository_url=str(git_repo))
    with pytest.raises(WorkflowError, match="edit its repository directly"):
        repository_changes.request_change(project, actor=applicant, repository_url=str(git_repo), reason="Why not.")


def _mails(callbacks: list[Any]) -> set[tuple[str, str]]:
    """(address, subject) of the messages the captured on-commit callbacks would send."""
    return {(c.args[0], c.args[1]) for c in callbacks if getattr(c, "args", None) and len(c.args) == 3}
