"""`manage.py seed_demo`: idempotent, and a story every role walks into (portal.demo.story,
scheduler.demo): applications in every state, a real finished run, a failed and a queued one."""

import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError

from portal.demo.seeders import DEMO_CALL_TITLE
from portal.models import Application, AuditEntry, User, Verification, VerificationPolicy
from portal.selectors import dashboard
from portal.services import verification
from scheduler import runner
from scheduler.artifacts.events import read_scalars
from scheduler.artifacts.savedmodel import inspect_saved_model
from scheduler.demo import FAILED_RUN, FINISHED_RUN, QUEUED_RUN
from scheduler.models import AcceleratorPool, Allocation, TrainingJob

S = Application.State


def snapshot_of_data():
    return {
        model._meta.label: sorted(map(str, model.objects.values_list("pk", flat=True)))
        for model in apps.get_models()
        if model._meta.app_label in {"portal", "scheduler", "reproducibility", "auth"}
    }


@pytest.mark.django_db
@pytest.mark.slow
def test_seed_demo_tells_the_whole_story_once():
    """One seeding (it trains for real, so the test seeds once and checks everything)."""
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    first = snapshot_of_data()
    assert "password=applicant-demo-pass" in out.getvalue()
    call_command("seed_demo", stdout=io.StringIO())
    assert snapshot_of_data() == first, "a second seeding changed the data"
    assert {u.username for u in User.objects.all()} >= {"applicant", "reviewer", "maintainer"}
    assert User.objects.get(username="maintainer").check_password("maintainer-demo-pass")
    assert set(AcceleratorPool.objects.values_list("name", flat=True)) == {"nvidia-v100", "tpu-v4-8", "cpu-verify"}
    # The demo call verifies what is submitted next on the CPU pool, so `make run` shows verification.
    policy = VerificationPolicy.objects.get(call__title=DEMO_CALL_TITLE)
    assert (policy.pool.name, policy.enabled, policy.minutes, policy.workers, policy.repeat) == (
        "cpu-verify",
        True,
        5,
        2,
        True,
    )
    assert policy.budget_seconds == 20 * 3600 and "on cpu-verify (5 min, a repeat)" in out.getvalue()
    # Set after the story: its applications were not sent to verification, the next submission is.
    assert not Verification.objects.exists() and verification.wants_verification(Application.objects.first())

    # Every state of the workflow, moved there by the services (so audited).
    states = sorted(Application.objects.values_list("state", flat=True))
    assert states == sorted(
        [S.DRAFT, S.UNDER_REVIEW, S.UNDER_REVIEW, S.UNDER_REVIEW, S.AWARDED, S.DECLINED, S.WAITLISTED, S.WITHDRAWN]
    )
    scoring = Application.objects.get(project__slug="speech-commands")
    assert scoring.snapshot.status == "queued"  # the worker `make run` starts scores it
    one_review = Application.objects.get(project__slug="protein-contacts")
    assert one_review.assignments.filter(state="submitted").count() == 1
    assert AuditEntry.objects.filter(verb="application.awarded").count() == 1
    assert AuditEntry.objects.filter(verb="application.withdrawn").count() == 1

    # Each role finds work waiting, not an empty state.
    reviewer = dashboard.reviewer_dashboard(User.objects.get(username="reviewer"))
    assert reviewer["counts"]["open"] >= 2 and reviewer["counts"]["submitted"] >= 1
    maintainer = dashboard.maintainer_dashboard(User.objects.get(username="maintainer"))
    assert maintainer["waiting_count"] >= 1
    assert Application.objects.get(project__slug="weather-nowcast") in list(maintainer["waiting"])

    # The award is the one allocation: 100 h of nvidia-v100 at the reviewed snapshot.
    allocation = Allocation.objects.get()
    assert (allocation.pool.name, allocation.awarded, allocation.project.owner.username) == (
        "nvidia-v100",
        100 * 3600,
        "applicant",
    )
    assert allocation.snapshot_id == Application.objects.get(state=S.AWARDED).snapshot_id

    jobs = {job.name: job for job in TrainingJob.objects.filter(allocation=allocation)}
    assert set(jobs) == {FINISHED_RUN, FAILED_RUN, QUEUED_RUN}
    assert jobs[QUEUED_RUN].state == "queued"
    assert jobs[FAILED_RUN].state == "failed"
    assert "invalid int value: 'five'" in jobs[FAILED_RUN].failure_reason

    # The finished run is real: its curves and its model are read from the files it wrote.
    finished = jobs[FINISHED_RUN]
    assert finished.state == "succeeded" and finished.charged_seconds > 0
    artifacts = runner.collected_artifacts(finished.pk)
    log_dir = artifacts["event_files"][0].split("/logs/")[0] + "/logs"
    curves = read_scalars(log_dir).runs
    train_loss = next(points for tag, points in curves["train"].items() if "loss" in tag)
    assert len(train_loss) == 3  # one point per epoch
    model = inspect_saved_model(artifacts["saved_model"])
    assert model.variables_bytes > 0
    assert any("serving_default" in str(graph) for graph in model.meta_graphs)


@pytest.mark.django_db
def test_seed_demo_refuses_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="Refusing"):
        call_command("seed_demo", stdout=io.StringIO())


@pytest.mark.django_db
def test_the_runs_go_to_the_reviewed_award_not_one_an_older_seeding_made_without_review(tmp_path):
    from reproducibility.models import Snapshot
    from scheduler.demo import demo_allocation
    from tests.scheduler.factories import PoolFactory, ProjectFactory, make_allocation

    project, pool = ProjectFactory(slug="digits"), PoolFactory(name="nvidia-v100")
    make_allocation(pool=pool, project=project)  # what seed_demo made before the story
    assert demo_allocation() is None
    snapshot = Snapshot.objects.create(kind="local", source=str(tmp_path), commit="c" * 40, status="done")
    reviewed = make_allocation(pool=pool, project=project, snapshot=snapshot)
    assert demo_allocation() == reviewed
