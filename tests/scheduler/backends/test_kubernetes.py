"""The Kubernetes backend through the official client, against a stateful API server on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kubernetes import client

from scheduler.backends.kubernetes import KubernetesBackend
from scheduler.backends.kubernetes_environments import preparation_seconds
from scheduler.backends.kubernetes_manifests import TIME_BOX_EXIT
from scheduler.backends.local import free_ports
from scheduler.contract import JobSpec, PoolSpec, job_artifact_paths
from tests.scheduler.backends.kube_apiserver import ApiServer, Kubelet

DIGITS = Path(__file__).resolve().parents[3] / "examples" / "digits"
GPU = PoolSpec(
    "nvidia-v100",
    "gpu",
    "kubernetes",
    "nvidia.com/gpu",
    namespace="training",
    default_image="tensorflow/tensorflow:2.21.0-gpu",
)
QUEUED = PoolSpec("tpu-v4-8", "tpu", "kubernetes", "google.com/tpu", namespace="training", kueue_queue="tpu-queue")


def spec(job_id: int = 17, pool: PoolSpec = GPU, args: tuple[str, ...] = ("--epochs", "2")) -> JobSpec:
    return JobSpec(
        job_id,
        2,
        1,
        900,
        5,
        "train.py",
        args,
        pool,
        job_artifact_paths(job_id),
        repository_url="https://github.com/example/digits",
        commit="c" * 40,
    )


@pytest.fixture
def api():
    server = ApiServer()
    yield server
    server.close()


@pytest.fixture
def backend(api) -> KubernetesBackend:
    configuration = client.Configuration()
    configuration.host = api.url
    return KubernetesBackend(client.ApiClient(configuration))


def test_submit_creates_a_headless_service_and_an_indexed_job_named_after_the_job(api, backend):
    handle = backend.submit(spec())

    assert handle == {"backend": "kubernetes", "namespace": "training", "name": "cg-job-17", "workers": 2}
    service = api.objects[("services", "training", "cg-job-17")]
    fence = api.objects[("networkpolicies", "training", "cg-job-17")]["spec"]
    same_job = [{"podSelector": {"matchLabels": {"computegrant.org/job-id": "17"}}}]
    assert fence["podSelector"] == same_job[0]["podSelector"]
    assert fence["ingress"] == [{"from": same_job}] and fence["egress"] == [{"to": same_job}]
    job = api.job("training", "cg-job-17")
    assert service["spec"]["clusterIP"] == "None"
    assert job["spec"]["completionMode"] == "Indexed"
    assert job["spec"]["activeDeadlineSeconds"] == 900 + preparation_seconds()  # the pods wait for it first
    preparation = api.job("training", "cg-job-17-prepare")
    assert preparation["metadata"]["labels"]["computegrant.org/job-id"] == "17"  # adopted by it on a retry
    # Its pod is outside the job's own policy (which selects job-id) and has the preparation's egress.
    pod_labels = preparation["spec"]["template"]["metadata"]["labels"]
    assert "computegrant.org/job-id" not in pod_labels
    assert pod_labels["app.kubernetes.io/name"] == "computegrant-preparation"
    status = backend.status(handle)
    assert status.phase == "pending" and "installing its dependencies" in status.reason


def test_a_retried_launch_meets_409_and_adopts_its_own_objects_without_a_second_job(api, backend):
    first = backend.submit(spec())
    second = backend.submit(spec())

    assert first == second
    creates = [path for method, path in api.requests if method == "POST"]
    assert len(creates) == 8  # two attempts x (NetworkPolicy, Service, preparation Job, Job); 409 the second time
    assert sorted(key[2] for key in api.objects if key[0] == "jobs") == ["cg-job-17", "cg-job-17-prepare"]


def test_objects_of_another_job_with_the_same_name_are_refused_not_adopted(api, backend):
    backend.submit(spec())
    api.job("training", "cg-job-17")["metadata"]["labels"]["computegrant.org/job-id"] = "999"

    with pytest.raises(RuntimeError, match="belongs to job '999'"):
        backend.submit(spec())


def test_a_create_the_cluster_refuses_fails_with_a_clear_error_and_creates_nothing(api, backend):
    api.refuse_creates = True

    with pytest.raises(ValueError, match="The cluster refused the NetworkPolicy: 403"):
        backend.submit(spec())
    assert api.objects == {}


def test_without_any_cluster_configuration_the_backend_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)

    with pytest.raises(LookupError, match="No Kubernetes cluster is configured"):
        KubernetesBackend()


def test_status_is_running_only_once_every_worker_pod_is_ready(api, backend):
    handle = backend.submit(spec())
    api.put_pod("training", "cg-job-17", 0, ready=True, state={"running": {"startedAt": "2026-01-01T00:00:00Z"}})
    assert backend.status(handle).phase == "pending"

    api.put_pod("training", "cg-job-17", 1, ready=True, state={"running": {"startedAt": "2026-01-01T00:00:05Z"}})
    status = backend.status(handle)
    assert status.phase == "running"
    assert status.started_at is not None


def test_a_complete_job_succeeds_with_per_worker_seconds(api, backend):
    handle = backend.submit(spec())
    for index in range(2):
        api.put_pod(
            "training",
            "cg-job-17",
            index,
            ready=False,
            state={
                "terminated": {"exitCode": 0, "startedAt": "2026-01-01T00:00:00Z", "finishedAt": "2026-01-01T00:01:40Z"}
            },
        )
    api.set_job_condition("training", "cg-job-17", "Complete")

    status = backend.status(handle)
    assert (status.phase, status.exit_code, status.worker_seconds) == ("succeeded", 0, [100.0, 100.0])


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("DeadlineExceeded", "maximum runtime"),
        ("BackoffLimitExceeded", "retry limit"),
    ],
)
def test_deadline_and_backoff_failures_carry_a_clear_reason(api, backend, reason, words):
    handle = backend.submit(spec())
    api.put_pod(
        "training",
        "cg-job-17",
        0,
        ready=False,
        state={
            "terminated": {"exitCode": 137, "startedAt": "2026-01-01T00:00:00Z", "finishedAt": "2026-01-01T00:00:09Z"}
        },
    )
    api.set_job_condition("training", "cg-job-17", "Failed", reason, "from the Job controller")

    status = backend.status(handle)
    assert status.phase == "failed"
    assert words in status.reason
    assert status.exit_code == 137


def test_a_worker_stopped_at_its_time_box_is_told_apart_from_a_crash(api, backend):
    handle = backend.submit(spec())
    stopped = {"exitCode": TIME_BOX_EXIT, "startedAt": "2026-01-01T00:00:00Z", "finishedAt": "2026-01-01T00:15:00Z"}
    api.put_pod("training", "cg-job-17", 0, ready=False, state={"terminated": stopped})
    api.set_job_condition("training", "cg-job-17", "Failed", "BackoffLimitExceeded", "backoff limit reached")

    status = backend.status(handle)

    # As the local backend says it, which verification reads as the time box, not a crash.
    assert status.phase == "failed" and status.exit_code == TIME_BOX_EXIT
    assert status.reason == "Deadline exceeded: the run passed its maximum runtime of 900 s and was stopped."


def test_a_kueue_pool_creates_the_job_suspended_and_reports_it_waiting(api, backend):
    handle = backend.submit(spec(pool=QUEUED))

    job = api.job("training", "cg-job-17")
    assert job["spec"]["suspend"] is True
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "tpu-queue"
    status = backend.status(handle)
    assert status.phase == "pending" and "Kueue" in status.reason


def test_cancel_deletes_the_job_its_pods_and_the_service_and_is_safe_to_repeat(api, backend):
    handle = backend.submit(spec())
    api.put_pod("training", "cg-job-17", 0, ready=True, state={"running": {"startedAt": "2026-01-01T00:00:00Z"}})

    backend.cancel(handle)
    backend.cancel(handle)

    assert api.objects == {}
    assert backend.status(handle).phase == "lost"


@pytest.mark.slow
def test_tf_config_built_in_the_pods_trains_the_digits_model_through_the_kubernetes_path(api, backend, tmp_path):
    handle = backend.submit(spec(args=("--epochs", "2", "--steps-per-epoch", "5")))
    kubelet = Kubelet(api, DIGITS, tmp_path, free_ports(2))
    kubelet.start("training", "cg-job-17")
    assert backend.status(handle).phase == "running"

    codes = kubelet.wait("training", "cg-job-17", timeout=240)

    tails = backend.log_tails(handle, lines=200)
    assert codes == [0, 0], tails
    status = backend.status(handle)
    assert status.phase == "succeeded" and len(status.worker_seconds) == 2
    artifacts = tmp_path / "jobs" / "17"
    assert (artifacts / "model" / "saved_model.pb").is_file()
    assert list((artifacts / "logs").rglob("events.out.tfevents.*"))
    events = [json.loads(line) for line in tails[0].splitlines() if line.startswith("{")]
    losses = [event["loss"] for event in events if event.get("event") == "epoch"]
    assert len(losses) == 2 and losses[-1] < losses[0]
