"""The Kubernetes objects of a job, checked against the official schemas (no cluster needed)."""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError
from kubernetes_validate.utils import all_versions

from scheduler.backends.kubernetes_environments import ENVIRONMENTS_CLAIM, preparation_seconds
from scheduler.backends.kubernetes_manifests import (
    BOOTSTRAP,
    GIT_IMAGE,
    TIME_BOX_EXIT,
    job_network_policy,
    render_manifests,
    render_preparation,
)
from scheduler.contract import JobSpec, PoolSpec, job_artifact_paths
from tests.scheduler.factories import PoolFactory

GPU = PoolSpec(
    "nvidia-v100",
    "gpu",
    "kubernetes",
    "nvidia.com/gpu",
    {"cloud.google.com/gke-accelerator": "nvidia-tesla-v100"},
    default_image="tensorflow/tensorflow:2.21.0-gpu",
)
TPU = PoolSpec(
    "tpu-v4-8",
    "tpu",
    "kubernetes",
    "google.com/tpu",
    {"cloud.google.com/gke-tpu-accelerator": "tpu-v4-podslice", "cloud.google.com/gke-tpu-topology": "2x2x1"},
    kueue_queue="tpu-queue",
    runtime_class="gvisor",
    default_image="tensorflow/tensorflow:2.21.0",
)
VERSIONS = sorted({all_versions()[0], all_versions()[-1]})


def spec(pool: PoolSpec, workers: int = 2, per_worker: int = 1) -> JobSpec:
    return JobSpec(
        17,
        workers,
        per_worker,
        900,
        5,
        "train.py",
        ("--epochs", "3"),
        pool,
        job_artifact_paths(17),
        repository_url="https://github.com/example/digits",
        commit="c" * 40,
    )


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("pool", "uri"), [(GPU, ""), (TPU, "gs://bucket/runs"), (GPU, "s3://bucket/runs")])
def test_every_manifest_validates_strictly_on_the_oldest_and_newest_kubernetes(pool, uri, version):
    for job_spec in (spec(pool), installing(spec(pool))):
        manifests = [job_network_policy(job_spec), render_preparation(job_spec)]
        for manifest in [*manifests, *render_manifests(job_spec, artifact_uri=uri)]:
            kubernetes_validate.validate(manifest, version, strict=True)


def installing(job_spec: JobSpec) -> JobSpec:
    """A job whose repository declares requirements (what kubernetes_environments adds to the spec)."""
    return dataclasses.replace(
        job_spec,
        environment_key="ab" * 16,
        requirements="humanize==4.9.0\nnumpy",
        requirements_manifest="requirements.txt",
    )


def test_the_preparation_pod_alone_fetches_and_installs_and_the_training_pods_wait_offline():
    job_spec = installing(spec(GPU))
    preparation = render_preparation(job_spec)
    pod = preparation["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["fetch-source", "copy-uv"]
    (install,) = pod["containers"]
    env = {e["name"]: e["value"] for e in install["env"]}
    assert install["image"] == GPU.default_image  # the pool's base image, with uv copied in
    assert env["CG_ENVIRONMENT_KEY"] == "ab" * 16 and env["CG_REQUIREMENTS"] == "humanize==4.9.0\nnumpy"
    assert {"name": "environments", "mountPath": "/environments"} in install["volumeMounts"]  # writable here only
    assert preparation["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == "computegrant-preparation"

    _, job = render_manifests(job_spec)
    training = job["spec"]["template"]["spec"]
    assert [c["name"] for c in training["initContainers"]] == ["wait-for-preparation"]
    assert all(c["image"] != GIT_IMAGE for c in [*training["initContainers"], *training["containers"]])
    worker = training["containers"][0]
    assert worker["command"][0] == f"/environments/{'ab' * 16}/bin/python"
    mounts = {m["name"]: m for m in worker["volumeMounts"]}
    assert mounts["environments"]["readOnly"] is True
    claim = next(v for v in training["volumes"] if v["name"] == "environments")["persistentVolumeClaim"]
    assert claim == {"claimName": ENVIRONMENTS_CLAIM, "readOnly": True}
    # Without declared requirements the image's own Python runs, after the same offline wait.
    _, plain = render_manifests(spec(GPU))
    assert plain["spec"]["template"]["spec"]["containers"][0]["command"][0] == "python"


def test_an_indexed_job_with_a_headless_service_named_after_the_job():
    service, job = render_manifests(spec(GPU))
    assert service["metadata"]["name"] == job["metadata"]["name"] == "cg-job-17"
    assert service["spec"]["clusterIP"] == "None"
    assert job["spec"]["completionMode"] == "Indexed" and job["spec"]["completions"] == job["spec"]["parallelism"] == 2
    assert job["spec"]["activeDeadlineSeconds"] == 900 + preparation_seconds() and job["spec"]["suspend"] is False
    pod = job["spec"]["template"]["spec"]
    assert pod["subdomain"] == "cg-job-17"
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert env["CG_WORKER_HOSTS"] == "cg-job-17-0.cg-job-17:2222,cg-job-17-1.cg-job-17:2222"
    assert env["AIP_MODEL_DIR"] == "/artifacts/jobs/17/model" and env["CG_SEED"] == "5"


def test_pods_are_locked_down_and_ask_for_their_accelerators():
    _, job = render_manifests(spec(GPU, per_worker=2))
    pod = job["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in [*pod["initContainers"], *pod["containers"]]:
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert pod["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-tesla-v100"}


def test_tpu_pools_use_gke_tpu_selectors_kueue_and_gvisor():
    _, job = render_manifests(spec(TPU, workers=1, per_worker=4), artifact_uri="gs://bucket/runs")
    pod = job["spec"]["template"]["spec"]
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "tpu-queue" and job["spec"]["suspend"] is True
    assert pod["runtimeClassName"] == "gvisor"
    assert pod["nodeSelector"]["cloud.google.com/gke-tpu-topology"] == "2x2x1"
    assert pod["containers"][0]["resources"]["limits"]["google.com/tpu"] == "4"
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["AIP_MODEL_DIR"] == "gs://bucket/runs/jobs/17/model" and env["CG_STRATEGY"] == "tpu"
    assert env["TPU_WORKER_HOSTNAMES"] == "cg-job-17-0.cg-job-17"
    claims = {v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v}
    assert claims == {ENVIRONMENTS_CLAIM}  # artifacts go to the bucket; the environment is read from the volume


def test_the_pod_bootstrap_builds_tf_config_from_the_completion_index(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("import os, sys\nprint(os.environ['TF_CONFIG'])\nprint(sys.argv[1:])\n")
    env = {
        "CG_WORKER_HOSTS": "cg-job-17-0.cg-job-17:2222,cg-job-17-1.cg-job-17:2222",
        "JOB_COMPLETION_INDEX": "1",
        "CG_STRATEGY": "multi_worker_mirrored",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-c", BOOTSTRAP, str(script), "--epochs", "3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    config_line, args_line = result.stdout.splitlines()
    assert json.loads(config_line) == {
        "cluster": {"worker": env["CG_WORKER_HOSTS"].split(",")},
        "task": {"type": "worker", "index": 1},
    }
    assert args_line == "['--epochs', '3']"


def test_the_pod_bootstrap_stops_the_training_and_what_it_forked_at_the_time_box(tmp_path):
    # Sleeps forever, after forking a background sleeper that writes its pid.
    script = tmp_path / "train.py"
    script.write_text(
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(3600)'])\n"
        "open('forked.pid', 'w').write(str(child.pid))\n"
        "print('step 0 loss: 1.0', flush=True)\n"
        "time.sleep(3600)\n"
    )
    env = {
        "CG_WORKER_HOSTS": "cg-job-17-0.cg-job-17:2222",
        "JOB_COMPLETION_INDEX": "0",
        "CG_MAX_RUNTIME_SECONDS": "2",
        "PATH": "/usr/bin:/bin",
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", BOOTSTRAP, str(script)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == TIME_BOX_EXIT and time.monotonic() - started < 20
    assert "Deadline exceeded: the run passed its maximum runtime of 2 s" in result.stderr
    assert "step 0 loss" in result.stdout
    forked = int((tmp_path / "forked.pid").read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and Path(f"/proc/{forked}").exists():
        time.sleep(0.1)
    assert not Path(f"/proc/{forked}").exists(), "the forked process outlived the time box"


def test_the_pod_bootstrap_passes_the_trainings_exit_code_on():
    env = {"CG_WORKER_HOSTS": "h:2222", "JOB_COMPLETION_INDEX": "0", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", BOOTSTRAP, "-c", "raise SystemExit(3)"], env=env, timeout=60)
    assert result.returncode == 3


@pytest.mark.django_db
def test_render_manifests_prints_yaml_for_a_pool():
    PoolFactory(name="nvidia-v100", capacity=8, backend="kubernetes", resource_name="nvidia.com/gpu")
    out = io.StringIO()
    call_command("render_manifests", "--pool", "nvidia-v100", "--workers", "2", stdout=out)
    documents = list(yaml.safe_load_all(out.getvalue()))
    assert [d["kind"] for d in documents] == ["NetworkPolicy", "Service", "Job", "Job"]
    assert [d["metadata"]["name"] for d in documents][2:] == ["cg-job-0-prepare", "cg-job-0"]
    with pytest.raises(CommandError, match="--pool: no pool is named 'nope'"):
        call_command("render_manifests", "--pool", "nope", stdout=io.StringIO())
    with pytest.raises(CommandError, match="9 x 1 do not fit in nvidia-v100"):
        call_command("render_manifests", "--pool", "nvidia-v100", "--workers", "9", stdout=io.StringIO())


@pytest.mark.parametrize("pool", [GPU, TPU], ids=["gpu", "tpu"])
def test_the_training_container_starts_tensorflow_with_its_quiet_log_level(pool):
    _, job = render_manifests(spec(pool, workers=1, per_worker=4 if pool is TPU else 1))
    env = {e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "2"
