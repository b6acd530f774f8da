"""The Kubernetes objects of a training job: a headless Service and an Indexed Job, after a
preparation Job (kubernetes_environments) that fetches the source and installs its environment.

Pods reach each other as `<job>-<index>.<service>`; TF_CONFIG is built inside each pod from
JOB_COMPLETION_INDEX. Pods are locked down (no service-account token, non-root, no privilege
escalation, every capability dropped, seccomp RuntimeDefault, optional runtimeClassName such as
gVisor). With a Kueue queue the Job is created suspended so the cluster's Kueue admits it too.
Object names derive from the job id, so a retried launch meets its own objects (409).
"""

from __future__ import annotations

from typing import Any

from scheduler.backends.kubernetes_environments import (
    ENVIRONMENTS_CLAIM,
    ENVIRONMENTS_MOUNT,
    WAIT_AND_COPY,
    preparation_job,
    preparation_seconds,
    prepared_name,
)
from scheduler.contract import JobSpec
from scheduler.tensorflow_noise import QUIET_TENSORFLOW

WORKER_PORT = 2222
# libtpu's ports on GKE: TPU VMs of a slice talk on 8471; 8431 exports the TPU runtime's metrics.
TPU_PORTS = {"tpu-runtime": 8471, "tpu-metrics": 8431}
COMPLETION_INDEX = "metadata.annotations['batch.kubernetes.io/job-completion-index']"
ARTIFACTS_MOUNT = "/artifacts"
SOURCE_MOUNT = "/workspace"
ARTIFACTS_CLAIM = "computegrant-artifacts"
GIT_IMAGE = "alpine/git:2.47.2"
RUN_AS_USER = 10001
TTL_AFTER_FINISHED = 24 * 3600

# Runs in each pod as its first process: TF_CONFIG from the pod's completion index, then the training
# code as a child in its own process group, stopped at the run's time box (CG_MAX_RUNTIME_SECONDS,
# counted from the worker's start, not from the Job's: the wait for the preparation is not the
# run's). The Job's activeDeadlineSeconds stays as the backstop. A pod's first process gets no
# default signal handling from the kernel, so it supervises rather than exec'ing the training.
BOOTSTRAP = """
import json, os, signal, subprocess, sys
hosts = os.environ['CG_WORKER_HOSTS'].split(',')
index = int(os.environ['JOB_COMPLETION_INDEX'])
os.environ['CG_WORKER_INDEX'] = str(index)
if os.environ.get('CG_STRATEGY') != 'tpu':
    os.environ['TF_CONFIG'] = json.dumps({'cluster': {'worker': hosts}, 'task': {'type': 'worker', 'index': index}})
limit = int(os.environ.get('CG_MAX_RUNTIME_SECONDS') or 0) or None
child = subprocess.Popen([sys.executable, *sys.argv[1:]], start_new_session=True)

def stop(*_):
    for signal_number, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, None)):
        try:
            os.killpg(child.pid, signal_number)
            return child.wait(timeout=grace)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            continue

signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(143)))  # the pod deleted: its code goes too
try:
    code = child.wait(timeout=limit)
except subprocess.TimeoutExpired:
    message = f'Deadline exceeded: the run passed its maximum runtime of {limit} s and was stopped.'
    print(message, file=sys.stderr, flush=True)
    stop()
    sys.exit(124)  # TIME_BOX_EXIT
try:
    os.killpg(child.pid, signal.SIGKILL)  # what the training left running in its group
except ProcessLookupError:
    pass
sys.exit(code if code >= 0 else 128 - code)
"""
TIME_BOX_EXIT = 124  # what BOOTSTRAP exits with at the time box (as coreutils' timeout does)


def object_name(job_id: int) -> str:
    return f"cg-job-{int(job_id)}"


def tpu_environment(name: str, hosts: int) -> list[dict[str, Any]]:
    """What libtpu and TPUStrategy read on a multi-host slice: this pod's worker id (its completion
    index) and every host of the slice in id order, as GKE's own webhook sets them for an Indexed
    Job with a subdomain; set here too so single-host slices and other webhooks agree."""
    return [
        {"name": "TPU_WORKER_ID", "valueFrom": {"fieldRef": {"fieldPath": COMPLETION_INDEX}}},
        {"name": "TPU_WORKER_HOSTNAMES", "value": ",".join(f"{name}-{index}.{name}" for index in range(hosts))},
        {"name": "TPU_NAME", "value": "local"},
    ]


def artifact_location(spec: JobSpec, part: str, artifact_uri: str = "") -> str:
    """Where a pod writes: under a gs:// or s3:// URI when configured, else the shared volume."""
    if artifact_uri:
        return f"{artifact_uri.rstrip('/')}/jobs/{spec.job_id}/{part}"
    return f"{ARTIFACTS_MOUNT}/jobs/{spec.job_id}/{part}"


def job_network_policy(spec: JobSpec) -> dict[str, Any]:
    """The job's fence: its pods accept connections only from, and open them only to, pods of the
    same job. The training namespace's default-deny, DNS and HTTPS-out policies (deploy/) do the
    rest; NetworkPolicies add up, so this one grants nothing beyond the job's own pods."""
    same_job = {"podSelector": {"matchLabels": {"computegrant.org/job-id": str(spec.job_id)}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": object_name(spec.job_id),
            "namespace": spec.pool.namespace,
            "labels": {
                "app.kubernetes.io/name": "computegrant-training",
                "app.kubernetes.io/managed-by": "computegrant",
                "computegrant.org/job-id": str(spec.job_id),
            },
        },
        "spec": {
            **same_job,
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [same_job]}],
            "egress": [{"to": [same_job]}],
        },
    }


LOCKED_DOWN = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
}
POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": RUN_AS_USER,
    "runAsGroup": RUN_AS_USER,
    "fsGroup": RUN_AS_USER,
    "seccompProfile": {"type": "RuntimeDefault"},
}
FETCH = (
    'set -eu; cd /workspace; git init -q .; git remote add origin "$CG_REPOSITORY"; '
    'git -c protocol.allow=never -c protocol.https.allow=always fetch -q --depth 1 origin "$CG_COMMIT"; '
    "git checkout -q --detach FETCH_HEAD; rm -rf .git"
)


def training_labels(spec: JobSpec) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "computegrant-training",
        "app.kubernetes.io/managed-by": "computegrant",
        "computegrant.org/job-id": str(spec.job_id),
    }


def render_preparation(spec: JobSpec) -> dict[str, Any]:
    """The job's preparation Job: fetch the source at the commit, install the environment."""
    fetch = {
        "name": "fetch-source",
        "image": GIT_IMAGE,
        "command": ["sh", "-c", FETCH],
        "env": [
            {"name": "CG_REPOSITORY", "value": spec.repository_url},
            {"name": "CG_COMMIT", "value": spec.commit or "HEAD"},
            {"name": "HOME", "value": "/tmp"},
            {"name": "GIT_TERMINAL_PROMPT", "value": "0"},
            {"name": "GIT_LFS_SKIP_SMUDGE", "value": "1"},
        ],
        "securityContext": LOCKED_DOWN,
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
    }
    return preparation_job(
        spec,
        job_name=object_name(spec.job_id),
        labels=training_labels(spec),
        fetch={"container": fetch, "securityContext": LOCKED_DOWN, "podSecurityContext": POD_SECURITY},
    )


def render_manifests(spec: JobSpec, *, artifact_uri: str = "", backoff_limit: int = 0) -> list[dict[str, Any]]:
    """The Service and the Job that run `spec`, as plain dicts (what `kubectl apply` would take)."""
    name = object_name(spec.job_id)
    labels = training_labels(spec)
    hosts = ",".join(f"{name}-{index}.{name}:{WORKER_PORT}" for index in range(spec.workers))
    env = {
        "AIP_MODEL_DIR": artifact_location(spec, "model", artifact_uri),
        "AIP_TENSORBOARD_LOG_DIR": artifact_location(spec, "logs", artifact_uri),
        "AIP_CHECKPOINT_DIR": artifact_location(spec, "checkpoints", artifact_uri),
        "CG_JOB_ID": str(spec.job_id),
        "CG_SEED": str(spec.seed),
        "CG_WORKERS": str(spec.workers),
        "CG_WORKER_HOSTS": hosts,
        "CG_STRATEGY": "tpu" if spec.pool.kind == "tpu" else "multi_worker_mirrored",
        "CG_MAX_RUNTIME_SECONDS": str(spec.max_runtime_seconds),
        "PYTHONUNBUFFERED": "1",
        "HOME": "/tmp",
        **QUIET_TENSORFLOW,  # TensorFlow's C++ info and warnings (its CUDA probe) out of the pod's log
    }
    resources: dict[str, Any] = {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "8Gi"}}
    if spec.pool.resource_name:
        # On a TPU pool this is every chip of the pod's host (checked at submission: tpu_slices).
        count = str(spec.accelerators_per_worker)
        resources["limits"][spec.pool.resource_name] = count
        resources["requests"][spec.pool.resource_name] = count
    env_list: list[dict[str, Any]] = [{"name": key, "value": value} for key, value in env.items()]
    ports = [{"name": "worker", "containerPort": WORKER_PORT}]
    if spec.pool.kind == "tpu":
        env_list.extend(tpu_environment(name, spec.workers))
        ports.extend({"name": port, "containerPort": number} for port, number in TPU_PORTS.items())
    volumes: list[dict[str, Any]] = [
        {"name": "source", "emptyDir": {}},
        {"name": "tmp", "emptyDir": {}},
        {"name": "environments", "persistentVolumeClaim": {"claimName": ENVIRONMENTS_CLAIM, "readOnly": True}},
    ]
    mounts = [
        {"name": "source", "mountPath": SOURCE_MOUNT},
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "environments", "mountPath": ENVIRONMENTS_MOUNT, "readOnly": True},
    ]
    if not artifact_uri:
        volumes.append({"name": "artifacts", "persistentVolumeClaim": {"claimName": ARTIFACTS_CLAIM}})
        mounts.append({"name": "artifacts", "mountPath": ARTIFACTS_MOUNT})
    image = spec.image or spec.pool.default_image
    python = f"{ENVIRONMENTS_MOUNT}/{spec.environment_key}/bin/python" if spec.environment_key else "python"
    pod_spec: dict[str, Any] = {
        "subdomain": name,
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": POD_SECURITY,
        "initContainers": [
            {
                # No network here or in the worker: the preparation pod fetched and installed.
                "name": "wait-for-preparation",
                "image": image,
                "command": ["python", "-c", WAIT_AND_COPY],
                "env": [
                    {"name": "CG_PREPARED", "value": f"{ENVIRONMENTS_MOUNT}/jobs/{prepared_name(spec, name)}"},
                    {"name": "CG_PREPARE_SECONDS", "value": str(preparation_seconds())},
                    {"name": "CG_WORKSPACE", "value": SOURCE_MOUNT},
                ],
                "volumeMounts": mounts[:3],
                "securityContext": LOCKED_DOWN,
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
            }
        ],
        "containers": [
            {
                "name": "worker",
                "image": image,
                "workingDir": SOURCE_MOUNT,
                "command": [python, "-c", BOOTSTRAP, spec.entrypoint, *spec.args],
                "env": env_list,
                "ports": ports,
                "resources": resources,
                "volumeMounts": mounts,
                "securityContext": LOCKED_DOWN,
            }
        ],
        "volumes": volumes,
    }
    if spec.pool.node_selectors:
        pod_spec["nodeSelector"] = dict(spec.pool.node_selectors)
    if spec.pool.kind in ("gpu", "tpu") and spec.pool.resource_name:
        pod_spec["tolerations"] = [{"key": spec.pool.resource_name, "operator": "Exists", "effect": "NoSchedule"}]
    if spec.pool.runtime_class:
        pod_spec["runtimeClassName"] = spec.pool.runtime_class
    job_labels = dict(labels)
    if spec.pool.kueue_queue:
        job_labels["kueue.x-k8s.io/queue-name"] = spec.pool.kueue_queue
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": spec.pool.namespace, "labels": labels},
        "spec": {
            "clusterIP": "None",
            "selector": {"computegrant.org/job-id": str(spec.job_id)},
            "ports": [{"name": "worker", "port": WORKER_PORT, "targetPort": WORKER_PORT}],
            "publishNotReadyAddresses": True,  # workers must find each other before they are ready
        },
    }
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": spec.pool.namespace, "labels": job_labels},
        "spec": {
            "completionMode": "Indexed",
            "completions": spec.workers,
            "parallelism": spec.workers,
            "backoffLimit": backoff_limit,
            # The pods wait for their preparation first, within the Job's deadline.
            "activeDeadlineSeconds": spec.max_runtime_seconds + preparation_seconds(),
            "ttlSecondsAfterFinished": TTL_AFTER_FINISHED,
            "suspend": bool(spec.pool.kueue_queue),
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }
    return [service, job]
