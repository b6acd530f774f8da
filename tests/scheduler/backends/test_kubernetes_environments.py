"""Environments on Kubernetes (issue 16): a job's preparation pod installs the repository's declared
requirements into the environments volume, once per requirement set; the training pods wait for it
offline and run the environment's Python. Through the runner, the official client, the loopback API
server and the test kubelet, which runs the preparation pod's own script with real uv against the
package index (the "image" is this worker's Python, TensorFlow included)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import uv
import yaml

from scheduler import admission, environments, quota, runner
from scheduler.backends.local import free_ports
from scheduler.contract import job_artifact_paths
from scheduler.models import TrainingJob
from tests.scheduler.backends.kube_apiserver import ApiServer, Kubelet
from tests.scheduler.factories import PoolFactory, job_request, make_allocation

pytestmark = pytest.mark.django_db
S = TrainingJob.State
NS = "training"
ABSENT = "humanize==4.9.0"  # small, pure Python, not in the worker's environment
TRAIN = "import humanize, sys\nprint('trained', humanize.intcomma(64000), sys.executable, flush=True)\n"
URL = "https://github.com/example/needs-humanize"


@pytest.fixture
def api(tmp_path, monkeypatch, settings):
    settings.CG_LAUNCH_ON_ADMISSION = False
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


def repository(tmp_path: Path, name: str, requirements: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "requirements.txt").write_text(requirements)
    (folder / "train.py").write_text(TRAIN)
    return folder


def launched(source: Path, workers: int = 1) -> TrainingJob:
    pool = PoolFactory(backend="kubernetes", namespace=NS, capacity=4, default_image="tensorflow/tensorflow:2.21.0")
    request = job_request(workers=workers, runtime=600, source_path=str(source), repository_url=URL, commit="c" * 40)
    job = quota.submit_job(make_allocation(pool=pool, hours=10), request)
    assert admission.admit_pending_jobs(pool) == [job.pk]
    runner.launch_job(job.pk)
    job.refresh_from_db()
    return job


def preparation_env(api: ApiServer, job: TrainingJob) -> dict[str, str]:
    container = api.job(NS, f"cg-job-{job.pk}-prepare")["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e["value"] for e in container["env"]}


def kinds(api: ApiServer) -> list[tuple[str, str]]:
    return sorted((kind, name) for kind, _, name in api.objects)


def test_the_preparation_pod_installs_once_per_requirement_set_and_the_training_pods_run_in_it(api, tmp_path):
    source = repository(tmp_path, "needs", f"{ABSENT}\ntensorflow==2.21.0\n")
    first, second = launched(source), launched(source)
    assert first.state == second.state == S.LAUNCHING
    key = preparation_env(api, first)["CG_ENVIRONMENT_KEY"]
    assert key and preparation_env(api, second)["CG_ENVIRONMENT_KEY"] == key  # same set, same environment
    assert preparation_env(api, first)["CG_REQUIREMENTS"] == f"{ABSENT}\ntensorflow==2.21.0"
    worker = api.job(NS, f"cg-job-{first.pk}")["spec"]["template"]["spec"]["containers"][0]
    assert worker["command"][0] == f"/environments/{key}/bin/python"
    assert runner.sync_job(first.pk) == "pending"  # the pods wait for their preparation

    kubelet = Kubelet(api, source, tmp_path / "node", free_ports(1), environments=tmp_path / "volume")
    installed = kubelet.prepare(NS, f"cg-job-{first.pk}", uv.find_uv_bin())
    assert installed["status"] == "installed" and installed["installed"] == [ABSENT], installed
    assert installed["from_image"] == 1 and installed["cached"] is False  # TensorFlow: the image's own
    assert runner.sync_job(first.pk) == "pending"
    recorded = environments.evidence(job_artifact_paths(first.pk).root)
    assert recorded is not None and recorded["installed"] == [ABSENT] and recorded["key"] == key

    # The second job of the same set installs nothing: the environment is found complete.
    again = Kubelet(api, source, tmp_path / "node2", free_ports(1), environments=tmp_path / "volume")
    cached = again.prepare(NS, f"cg-job-{second.pk}", uv.find_uv_bin())
    assert cached["status"] == "installed" and cached["cached"] is True and cached["seconds"] < 1.0

    kubelet.start(NS, f"cg-job-{first.pk}")  # wait-for-preparation runs first and copies the source
    assert kubelet.wait(NS, f"cg-job-{first.pk}", timeout=120) == [0]
    assert runner.sync_job(first.pk) == "succeeded"
    log = api.logs[(NS, f"cg-job-{first.pk}-0")]
    assert "trained 64,000" in log and f"{key}/bin/python" in log
    # The ended run's Service, NetworkPolicy and preparation are deleted; its Job keeps the logs.
    assert (("services", f"cg-job-{first.pk}") not in kinds(api)) and ("jobs", f"cg-job-{first.pk}") in kinds(api)
    assert ("networkpolicies", f"cg-job-{first.pk}") not in kinds(api)
    assert ("jobs", f"cg-job-{first.pk}-prepare") not in kinds(api)
    assert ("pods", f"cg-job-{first.pk}-prepare-0") not in kinds(api)


def test_a_requirement_that_cannot_be_installed_fails_the_run_with_the_installers_words(api, tmp_path):
    source = repository(tmp_path, "old", "tensorflow==1.15.0\n")
    job = launched(source, workers=2)
    kubelet = Kubelet(api, source, tmp_path / "node", free_ports(2), environments=tmp_path / "volume")

    outcome = kubelet.prepare(NS, f"cg-job-{job.pk}", uv.find_uv_bin())

    assert outcome["status"] == "failed"
    assert runner.sync_job(job.pk) == "failed"
    job.refresh_from_db()
    assert job.state == S.FAILED and job.charged_seconds == 0
    assert job.failure_reason.startswith("The repository's dependencies could not be installed: requirements.txt:")
    assert "tensorflow==1.15.0" in job.failure_reason and "cp311" in job.failure_reason
    recorded = environments.evidence(job_artifact_paths(job.pk).root)
    assert recorded is not None and recorded["status"] == "failed" and "cp311" in recorded["log"]
    # The training pods would have found the outcome on the volume and stopped without running code.
    wait = api.job(NS, f"cg-job-{job.pk}")["spec"]["template"]["spec"]["initContainers"][0]
    env = {e["name"]: e["value"] for e in wait["env"]}
    env["CG_PREPARED"] = env["CG_PREPARED"].replace("/environments", str(tmp_path / "volume"), 1)
    env["CG_WORKSPACE"] = str(tmp_path / "w")
    done = subprocess.run([sys.executable, "-c", wait["command"][2]], env=env, capture_output=True)
    assert done.returncode == 1 and b"could not be installed" in done.stderr and not (tmp_path / "w").exists()
    assert [name for kind, name in kinds(api) if kind != "pods"] == [f"cg-job-{job.pk}"]  # released


def test_a_manifest_choosing_its_own_index_fails_at_launch_creating_nothing(api, tmp_path):
    source = repository(tmp_path, "evil", "--extra-index-url https://example.org/simple\nhumanize\n")

    job = launched(source)

    assert job.state == S.FAILED and "the package index is the portal's" in job.failure_reason
    assert api.objects == {}
    recorded = environments.evidence(job_artifact_paths(job.pk).root)
    assert recorded is not None and recorded["status"] == "failed"


def test_an_operator_built_image_of_the_repository_replaces_the_install(api, tmp_path, settings):
    image = "registry.example.org/needs-humanize@sha256:" + "a" * 64
    settings.CG_KUBERNETES_REPOSITORY_IMAGES = {URL: image}
    source = repository(tmp_path, "built", f"{ABSENT}\n")

    job = launched(source)

    assert preparation_env(api, job)["CG_ENVIRONMENT_KEY"] == ""  # nothing to install: only the fetch
    worker = api.job(NS, f"cg-job-{job.pk}")["spec"]["template"]["spec"]["containers"][0]
    assert worker["image"] == image and worker["command"][0] == "python"
    recorded = json.loads((job_artifact_paths(job.pk).root / environments.EVIDENCE_FILE).read_text())
    assert recorded["status"] == "installed" and recorded["image"] == image and recorded["manifest"] == "Dockerfile"


def test_a_failed_fetch_is_told_apart_from_a_failed_install(api, tmp_path):
    job = launched(repository(tmp_path, "gone", f"{ABSENT}\n"))
    name = f"cg-job-{job.pk}-prepare"
    failed_fetch = {"terminated": {"exitCode": 128, "reason": "Error", "startedAt": "2026-01-01T00:00:00Z"}}
    api.objects[("pods", NS, f"{name}-0")] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"{name}-0", "namespace": NS, "labels": {"job-name": name}},
        "status": {
            "initContainerStatuses": [
                {
                    "name": "fetch-source",
                    "ready": False,
                    "restartCount": 0,
                    "image": "x",
                    "imageID": "",
                    "state": failed_fetch,
                }
            ]
        },
    }
    api.set_job_condition(NS, name, "Failed", "BackoffLimitExceeded", "backoff limit reached")

    assert runner.sync_job(job.pk) == "failed"
    job.refresh_from_db()
    assert job.failure_reason == (
        "The repository could not be fetched at the run's commit: fetch-source exited with 128 (Error)"
    )


def test_repository_images_are_allowed_by_digest_only():
    from django.core.exceptions import ImproperlyConfigured

    from config.settings import repository_images

    image = "registry.example.org/x@sha256:" + "0" * 64
    assert repository_images(json.dumps({URL: image})) == {URL: image}
    assert repository_images("") == {}
    with pytest.raises(ImproperlyConfigured, match="must be by digest"):
        repository_images(json.dumps({URL: "registry.example.org/x:latest"}))
    with pytest.raises(ImproperlyConfigured, match="is not JSON"):
        repository_images("{not json")


def test_a_reused_job_id_never_meets_an_earlier_runs_files_and_old_sources_are_swept(tmp_path):
    import os
    import time

    from scheduler.backends import prepare_pod
    from scheduler.backends.kubernetes_environments import prepared_name
    from scheduler.contract import JobSpec, PoolSpec

    pool = PoolSpec("cpu", "cpu", "kubernetes", namespace=NS)
    before = JobSpec(7, 1, 1, 60, 1, "train.py", (), pool, job_artifact_paths(7), token="7@2026-01-01T00:00:00")
    after = JobSpec(7, 1, 1, 60, 1, "train.py", (), pool, job_artifact_paths(7), token="7@2026-03-01T00:00:00")
    assert prepared_name(before, "cg-job-7") != prepared_name(after, "cg-job-7")

    jobs = tmp_path / "jobs"
    (jobs / "cg-job-1-old").mkdir(parents=True)
    (jobs / "cg-job-1-old.json").write_text("{}")
    (jobs / "cg-job-2-new").mkdir()
    week_ago = time.time() - 8 * 86400
    for old in ("cg-job-1-old", "cg-job-1-old.json"):
        os.utime(jobs / old, (week_ago, week_ago))
    prepare_pod.sweep_old_sources(str(jobs), 7 * 86400)
    assert sorted(p.name for p in jobs.iterdir()) == ["cg-job-2-new"]

    (tmp_path / ".partial-abc-host1" / "venv").mkdir(parents=True)
    (tmp_path / ".partial-def-host2").mkdir()
    (tmp_path / "abc").mkdir()
    os.utime(tmp_path / ".partial-abc-host1", (week_ago, week_ago))
    os.utime(tmp_path / "abc", (week_ago, week_ago))
    prepare_pod.sweep_abandoned_installs(str(tmp_path), 3600)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "jobs") == [".partial-def-host2", "abc"]

    # Environments unused for the keep period go (renamed away first); recently used ones stay.
    for key in ("unused", "used", "current"):
        (tmp_path / key).mkdir(exist_ok=True)
        (tmp_path / key / ".complete").write_text("{}")
        os.utime(tmp_path / key / ".complete", (week_ago, week_ago))
    os.utime(tmp_path / "used" / ".complete")  # a preparation found it cached just now
    prepare_pod.evict_unused_environments(str(tmp_path), 86400, "current")
    kept = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".") and p.name != "jobs")
    assert kept == ["abc", "current", "used"]  # "abc" is no environment (no .complete): not touched
