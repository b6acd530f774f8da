"""A verification on a Kubernetes pool (issue 16): its jobs' objects (the preparation Job installing
the repository's requirements, the training Job waiting for it offline) validate strictly against
the oldest and newest Kubernetes schemas, and are driven through the loopback API server and the
test kubelet as training jobs are: installed once for both runs, run, judged with the evidence."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import kubernetes_validate
import pytest
import uv
import yaml
from kubernetes_validate.utils import all_versions

from portal.models import Verification
from portal.services import applications, projects, verification
from reproducibility import services as scoring
from scheduler import runner
from scheduler.admission import admit_pool
from scheduler.backends.local import free_ports
from scheduler.models import AcceleratorPool, TrainingJob
from tests.portal.conftest import REPO_FILES
from tests.scheduler.backends.kube_apiserver import ApiServer, Kubelet

NS = "training"
VERSIONS = sorted({all_versions()[0], all_versions()[-1]})
# Seeded progress lines, and summaries where the contract says (AIP_TENSORBOARD_LOG_DIR): a pod's
# work folder goes with the pod.
TRAIN = """
import os, random
random.seed(int(os.environ["CG_SEED"]))
loss = 2.0
for step in range(6):
    loss = loss * 0.7 + random.random() * 0.01
    print(f"step {step} loss: {loss:.6f}", flush=True)
if os.environ["CG_WORKER_INDEX"] == "0":
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    writer = EventFileWriter(os.path.join(os.environ["AIP_TENSORBOARD_LOG_DIR"], "train"))
    for step, value in enumerate([1.0, 0.5, 0.25]):
        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="epoch_loss", simple_value=value)])
        writer.add_event(event_pb2.Event(step=step, wall_time=float(step), summary=summary))
    writer.close()
"""
FILES = {**REPO_FILES, "train.py": TRAIN, "requirements.txt": "humanize==4.9.0\n"}


@pytest.fixture(autouse=True)
def _own_folders(settings, tmp_path):
    settings.CG_ARTIFACTS_ROOT = tmp_path / "artifacts"
    settings.CG_LAUNCH_ON_ADMISSION = False


@pytest.fixture
def api(tmp_path, monkeypatch):
    server = ApiServer()
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "loopback", "cluster": {"server": server.url}}],
        "users": [{"name": "tester", "user": {"token": "test-token"}}],
        "contexts": [{"name": "loopback", "context": {"cluster": "loopback", "user": "tester"}}],
        "current-context": "loopback",
    }
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(kubeconfig))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    yield server
    server.close()


@pytest.fixture
def submitted(applicant, reviewer, open_call, plan, make_local_repo, db):
    """A submitted application whose call verifies on a Kubernetes CPU pool (2 workers, a repeat)."""
    pool = AcceleratorPool.objects.create(
        name="cpu-verify-k8s",
        kind=AcceleratorPool.Kind.CPU,
        capacity=4,
        backend=AcceleratorPool.Backend.KUBERNETES,
        namespace=NS,
        default_image="tensorflow/tensorflow:2.21.0",
    )
    verification.set_policy(open_call, pool=pool, budget_hours=1, minutes=1, workers=2, repeat=True)
    project = projects.create_project(
        applicant, name="Verified on k8s", repository_url=str(make_local_repo("k8s", FILES)), licence="Apache-2.0"
    )
    draft = applications.save_draft(project, open_call, plan, actor=applicant)
    application = applications.submit(draft, actor=applicant)
    scoring.score_snapshot(application.snapshot_id)
    application.refresh_from_db()
    return application


def as_posted(document: dict) -> dict:
    """The object as the backend sent it (without what the API server added)."""
    document = copy.deepcopy(document)
    document.pop("status", None)
    for key in ("uid", "resourceVersion", "creationTimestamp"):
        document["metadata"].pop(key, None)
    return document


@pytest.mark.django_db
def test_a_verification_on_kubernetes_installs_once_runs_offline_and_is_judged(submitted, api, tmp_path, settings):
    started = verification.start(submitted)
    run, repeat = started.run, started.repeat_run
    admit_pool(run.pool_id)
    assert runner.launch_job(run.pk) == runner.launch_job(repeat.pk) == "launched"

    posted = [as_posted(obj) for (kind, _, _), obj in api.objects.items() if kind != "pods"]
    assert sorted(d["kind"] for d in posted) == ["Job"] * 4 + ["NetworkPolicy"] * 2 + ["Service"] * 2
    for version in VERSIONS:
        for document in posted:
            kubernetes_validate.validate(document, version, strict=True)
    preparation = api.job(NS, f"cg-job-{run.pk}-prepare")["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "CG_REQUIREMENTS", "value": "humanize==4.9.0"} in preparation["env"]

    source = Path(submitted.snapshot.path)
    volume = tmp_path / "environments-volume"
    outcomes = []
    for job in (run, repeat):
        kubelet = Kubelet(api, source, settings.CG_ARTIFACTS_ROOT, free_ports(2), environments=volume)
        outcomes.append(kubelet.prepare(NS, f"cg-job-{job.pk}", uv.find_uv_bin()))
        kubelet.start(NS, f"cg-job-{job.pk}")
        assert kubelet.wait(NS, f"cg-job-{job.pk}", timeout=120) == [0, 0]
    assert [o["cached"] for o in outcomes] == [False, True]  # the repeat's set was installed already
    assert outcomes[0]["installed"] == ["humanize==4.9.0"] and outcomes[0]["key"] == outcomes[1]["key"]

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(
        TrainingJob.objects.get(pk=job.pk).is_terminal for job in (run, repeat)
    ):
        for job in (run, repeat):
            runner.sync_job(job.pk)
    assert {TrainingJob.objects.get(pk=job.pk).state for job in (run, repeat)} == {TrainingJob.State.SUCCEEDED}
    # Ended: each run's Service, NetworkPolicy and preparation Job are gone; the Jobs keep their logs.
    left = sorted(name for kind, _, name in api.objects if kind == "jobs")
    assert left == [f"cg-job-{run.pk}", f"cg-job-{repeat.pk}"]
    assert not [kind for kind, _, _ in api.objects if kind in ("services", "networkpolicies")]

    verdict = verification.judge(started.pk)
    started.refresh_from_db()
    checks = {check["id"]: check for check in started.result["checks"]}
    assert {k: c["status"] for k, c in checks.items()} == {
        "installs": "pass",
        "starts": "pass",
        "learns": "pass",
        "logs": "pass",
        "exports": "fail",  # no SavedModel written
        "repeats": "pass",
        "exit": "pass",
    }, checks
    assert "humanize==4.9.0" in checks["installs"]["evidence"]
    assert verdict == "failed: exports" and started.state == Verification.State.JUDGED
