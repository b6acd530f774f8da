"""Environments for Kubernetes runs (issue 16): a job's preparation Job fetches the repository at its
commit and installs its declared requirements from the pool's base image into the environments
volume, under the same kind of key as the local backend's (a hash of the requirement set, the image
and the package index), before any training pod runs code.

Why a separate Job rather than an init container of the training pods: a NetworkPolicy selects pods,
not containers, so an init container that may reach the package index would leave the training
containers of the same pod able to reach it too. The preparation pod carries its own label
(`computegrant-preparation`), which the namespace's `preparation-egress-https` policy lets out on
HTTPS; training pods (`computegrant-training`) get no egress but DNS, their own job's pods and the
artifact store. They wait for the preparation's outcome on the shared volume (no network needed),
copy the source and run the environment's Python read-only.

An operator may instead build the repository's own Dockerfile and allow the image by digest
(CG_KUBERNETES_REPOSITORY_IMAGES): then the runs use that image and nothing is installed.

The preparation Job has no Kueue queue label: it asks for CPU only, outside the pools' accelerator
quotas (a Kueue set to manage Jobs without a queue name would hold it suspended forever).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from django.conf import settings

from scheduler import environments
from scheduler.contract import JobSpec, job_artifact_paths

PREPARE_SUFFIX = "-prepare"
ENVIRONMENTS_CLAIM = "computegrant-environments"
ENVIRONMENTS_MOUNT = "/environments"
TOOLS_MOUNT = "/tools"
PREPARATION_NAME = "computegrant-preparation"
INSTALL_CONTAINER = "install"
PREPARES_LABEL = "computegrant.org/prepares-job"
SCRIPT = Path(__file__).with_name("prepare_pod.py")


def preparation_name(job_name: str) -> str:
    return f"{job_name}{PREPARE_SUFFIX}"


def prepared_name(spec: JobSpec, job_name: str) -> str:
    """Where this launch's source and outcome go on the volume (jobs/<name>): named by the launch
    token too, so a job id reused after a database reset never finds an earlier run's files."""
    suffix = hashlib.sha256(spec.token.encode()).hexdigest()[:10] if spec.token else "untokened"
    return f"{job_name}-{suffix}"


def preparation_seconds() -> int:
    """How long the training pods wait for the preparation: resolution and install, each within
    CG_ENVIRONMENT_INSTALL_SECONDS, plus the fetch and the copy."""
    return 2 * int(getattr(settings, "CG_ENVIRONMENT_INSTALL_SECONDS", 120)) + 120


def repository_image(repository_url: str, commit: str) -> str:
    """The operator-built image of the repository's own Dockerfile, if one is allowed for it (at this
    commit, or for the repository at any commit)."""
    allowed: dict[str, str] = getattr(settings, "CG_KUBERNETES_REPOSITORY_IMAGES", {}) or {}
    return allowed.get(f"{repository_url}@{commit}") or allowed.get(repository_url, "")


def environment_key(lines: list[str], image: str) -> str:
    """The environment's name: the requirement set, the image it sits on and the index it came from."""
    identity = {"image": image, "index": environments._index_url(), "requirements": sorted(lines)}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]


def _stored_source(spec: JobSpec) -> Path | None:
    """The snapshot's files at the run's commit, kept by the portal (the job's source_path is the
    snapshot's folder), to read the manifest from; the pods fetch their own copy."""
    return Path(spec.source_path) if spec.source_path and Path(spec.source_path).is_dir() else None


def with_environment(spec: JobSpec) -> JobSpec:
    """The spec with what its preparation pod installs, read from the snapshot's declared requirements.

    Raises InstallFailed when the manifest asks for what is never installed (an option such as
    --index-url): the job fails before anything is created, with that reason recorded as evidence.
    """
    allowed = repository_image(spec.repository_url, spec.commit)
    if allowed:
        environments.record(
            spec,
            {
                "status": "installed",
                "key": f"image {allowed}",
                "image": allowed,
                "manifest": "Dockerfile",
                "cached": True,
            },
        )
        return dataclasses.replace(spec, image=allowed)
    source = _stored_source(spec)
    declared = environments.declared_requirements(source) if source is not None else None
    if declared is None:
        return spec
    manifest, text = declared
    try:
        lines = environments._requirement_lines(text, manifest)
    except environments.InstallFailed as error:
        environments.record(
            spec, {"status": "failed", "summary": error.summary, "log": error.log, "manifest": error.manifest}
        )
        raise
    if not lines:
        return spec
    image = spec.image or spec.pool.default_image
    return dataclasses.replace(
        spec,
        environment_key=environment_key(lines, image),
        requirements="\n".join(lines),
        requirements_manifest=manifest,
    )


def evidence_from_message(message: str) -> dict[str, Any]:
    """The preparation pod's termination message as the run's "installs" evidence."""
    try:
        result = json.loads(message)
    except ValueError:
        return {"status": "failed", "summary": f"the preparation pod said: {message[:300]}", "log": message}
    if not isinstance(result, dict):
        return {"status": "failed", "summary": "the preparation pod's message is not a record", "log": message}
    if result.get("status") == "failed":
        log = environments.ANSI.sub("", str(result.get("log", "")))
        summary = environments._summary(log)
        manifest = str(result.get("manifest", ""))
        return {
            "status": "failed",
            "step": str(result.get("step", "install")),
            "summary": f"{manifest}: {summary}" if manifest and result.get("step") != "publish" else summary,
            "log": log,
            "manifest": manifest,
        }
    return {
        "status": "installed",
        "key": result.get("key") or "image",
        "python": result.get("python", ""),
        "manifest": result.get("manifest", ""),
        "requirements": int(result.get("requirements", 0)),
        "from_worker": int(result.get("from_image", 0)),  # the image is these workers' own environment
        "installed": list(result.get("installed", [])),
        "cached": bool(result.get("cached", False)),
        "seconds": float(result.get("seconds", 0.0)),
    }


def record_evidence(job_id: int, evidence: dict[str, Any]) -> None:
    root = job_artifact_paths(job_id).root
    root.mkdir(parents=True, exist_ok=True)
    (root / environments.EVIDENCE_FILE).write_text(json.dumps(evidence))


def preparation_job(spec: JobSpec, *, job_name: str, labels: dict[str, str], fetch: dict[str, Any]) -> dict[str, Any]:
    """The Job that fetches the source and installs the environment, in its own fenced pod."""
    name = preparation_name(job_name)
    image = spec.image or spec.pool.default_image
    uv_image = str(getattr(settings, "CG_KUBERNETES_UV_IMAGE", "") or "ghcr.io/astral-sh/uv:0.13.9-alpine")
    locked_down = fetch["securityContext"]
    own_labels = {**labels, "app.kubernetes.io/name": PREPARATION_NAME}
    # Its pod carries no job-id label: the job's own NetworkPolicy (which selects that label) must not
    # let it and the training pods talk; `prepares-job` finds it instead.
    pod_labels = {key: value for key, value in own_labels.items() if key != "computegrant.org/job-id"} | {
        PREPARES_LABEL: labels["computegrant.org/job-id"]
    }
    workspace = {"name": "source", "mountPath": "/workspace"}
    tmp = {"name": "tmp", "mountPath": "/tmp"}  # noqa: S108 — the pod's own emptyDir
    env = {
        "CG_JOB_NAME": prepared_name(spec, job_name),
        "CG_ENVIRONMENT_KEY": spec.environment_key,
        "CG_REQUIREMENTS": spec.requirements,
        "CG_MANIFEST": spec.requirements_manifest,
        "CG_PACKAGE_INDEX_URL": environments._index_url(),
        "CG_INSTALL_SECONDS": str(int(getattr(settings, "CG_ENVIRONMENT_INSTALL_SECONDS", 120))),
        # Sources of earlier jobs are swept after a week, or after this job's longest life if longer.
        "CG_KEEP_SOURCES_SECONDS": str(max(7 * 86400, spec.max_runtime_seconds + preparation_seconds() + 86400)),
        # Environments no job has used for this long are removed (CG_KUBERNETES_ENVIRONMENTS_KEEP_DAYS).
        "CG_KEEP_ENVIRONMENTS_SECONDS": str(
            max(
                int(getattr(settings, "CG_KUBERNETES_ENVIRONMENTS_KEEP_DAYS", 30)) * 86400,
                spec.max_runtime_seconds + preparation_seconds() + 86400,
            )
        ),
        "CG_ENVIRONMENTS_DIR": ENVIRONMENTS_MOUNT,
        "CG_UV": f"{TOOLS_MOUNT}/uv",
        "HOME": "/tmp",  # noqa: S108
    }
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": fetch["podSecurityContext"],
        "initContainers": [
            {**fetch["container"], "volumeMounts": [workspace, tmp]},
            {
                "name": "copy-uv",
                "image": uv_image,
                "command": ["cp", "/usr/local/bin/uv", f"{TOOLS_MOUNT}/uv"],
                "volumeMounts": [{"name": "tools", "mountPath": TOOLS_MOUNT}],
                "securityContext": locked_down,
                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
            },
        ],
        "containers": [
            {
                "name": INSTALL_CONTAINER,
                "image": image,
                "command": ["python", "-c", SCRIPT.read_text()],
                "env": [{"name": key, "value": value} for key, value in env.items()],
                "volumeMounts": [
                    workspace,
                    tmp,
                    {"name": "tools", "mountPath": TOOLS_MOUNT, "readOnly": True},
                    {"name": "environments", "mountPath": ENVIRONMENTS_MOUNT},
                ],
                "securityContext": locked_down,
                "terminationMessagePolicy": "File",
                "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "4Gi"}},
            }
        ],
        "volumes": [
            {"name": "source", "emptyDir": {}},
            {"name": "tmp", "emptyDir": {}},
            {"name": "tools", "emptyDir": {}},
            {"name": "environments", "persistentVolumeClaim": {"claimName": ENVIRONMENTS_CLAIM}},
        ],
    }
    if spec.pool.runtime_class:
        pod_spec["runtimeClassName"] = spec.pool.runtime_class
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": spec.pool.namespace, "labels": own_labels},
        "spec": {
            "completions": 1,
            "parallelism": 1,
            "backoffLimit": 0,
            "activeDeadlineSeconds": preparation_seconds(),
            "ttlSecondsAfterFinished": 3600,
            "template": {"metadata": {"labels": pod_labels}, "spec": pod_spec},
        },
    }


# The training pods' first step: wait for the preparation's outcome on the volume, then copy the
# source into the pod's own work folder. No network: the training pods have none to the internet.
WAIT_AND_COPY = """
import json, os, shutil, sys, time
prepared = os.environ['CG_PREPARED']
deadline = time.monotonic() + int(os.environ['CG_PREPARE_SECONDS'])
while not os.path.exists(prepared + '.json'):
    if time.monotonic() > deadline:
        sys.exit('The preparation pod did not finish in time.')
    time.sleep(2)
with open(prepared + '.json') as handle:
    result = json.load(handle)
if result.get('status') != 'installed':
    sys.exit("The repository's dependencies could not be installed (see the preparation pod): nothing runs.")
shutil.copytree(prepared, os.environ.get('CG_WORKSPACE', '/workspace'), symlinks=True, dirs_exist_ok=True)
"""
