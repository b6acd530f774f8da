"""The job contract: what every worker process gets, on every backend.

The variable names follow Vertex AI's custom-training conventions so applicants' code is portable:
TF_CONFIG (the Kubeflow TFJob form), AIP_MODEL_DIR, AIP_TENSORBOARD_LOG_DIR, AIP_CHECKPOINT_DIR,
plus CG_JOB_ID and CG_SEED.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings


@dataclass(frozen=True)
class ArtifactPaths:
    root: Path
    model: Path
    logs: Path
    checkpoints: Path
    workers: Path


def job_artifact_paths(job_id: int) -> ArtifactPaths:
    root = Path(settings.CG_ARTIFACTS_ROOT) / "jobs" / str(int(job_id))
    return ArtifactPaths(root, root / "model", root / "logs", root / "checkpoints", root / "workers")


@dataclass(frozen=True)
class PoolSpec:
    name: str
    kind: str  # gpu, tpu, cpu
    backend: str
    resource_name: str = ""
    node_selectors: dict[str, str] = field(default_factory=dict)
    namespace: str = "computegrant"
    kueue_queue: str = ""
    runtime_class: str = ""
    default_image: str = ""

    @classmethod
    def from_pool(cls, pool: Any) -> PoolSpec:
        return cls(
            name=pool.name,
            kind=pool.kind,
            backend=pool.backend,
            resource_name=pool.resource_name,
            node_selectors=dict(pool.node_selectors),
            namespace=pool.namespace,
            kueue_queue=pool.kueue_queue,
            runtime_class=pool.runtime_class,
            default_image=pool.default_image,
        )


@dataclass(frozen=True)
class JobSpec:
    job_id: int
    workers: int
    accelerators_per_worker: int
    max_runtime_seconds: int
    seed: int
    entrypoint: str
    args: tuple[str, ...]
    pool: PoolSpec
    artifacts: ArtifactPaths
    image: str = ""
    # Identifies this run among any that ever used the same job id (e.g. before a database reset).
    token: str = ""
    source_path: str = ""
    repository_url: str = ""
    commit: str = ""
    # The Python the workers run (scheduler.environments); empty: the worker's own.
    python: str = ""
    # Kubernetes: the environment the preparation pod installs (backends.kubernetes_environments);
    # empty key: the image's Python as it is.
    environment_key: str = ""
    requirements: str = ""
    requirements_manifest: str = ""

    @classmethod
    def from_job(cls, job: Any) -> JobSpec:
        pool = job.pool
        source = job.source_path
        if not source and job.repository_url and Path(job.repository_url).is_absolute():
            source = job.repository_url  # a local repository, where the operator allows them
        return cls(
            job_id=job.pk,
            workers=job.workers,
            accelerators_per_worker=job.accelerators_per_worker,
            max_runtime_seconds=job.max_runtime_seconds,
            seed=job.seed,
            entrypoint=job.entrypoint,
            args=tuple(job.args),
            image=job.image or pool.default_image,
            token=f"{job.pk}@{job.submitted_at.isoformat()}",
            source_path=source,
            repository_url=job.repository_url,
            commit=job.commit,
            pool=PoolSpec.from_pool(pool),
            artifacts=job_artifact_paths(job.pk),
        )


def tf_config(addresses: list[str], index: int) -> str:
    """TF_CONFIG in the Kubeflow TFJob form: every worker's address, and this worker's index."""
    return json.dumps({"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}})


def worker_environment(spec: JobSpec, index: int, addresses: list[str]) -> dict[str, str]:
    """The contract's variables for worker `index`."""
    env = {
        "AIP_MODEL_DIR": str(spec.artifacts.model),
        "AIP_TENSORBOARD_LOG_DIR": str(spec.artifacts.logs),
        "AIP_CHECKPOINT_DIR": str(spec.artifacts.checkpoints),
        "CG_JOB_ID": str(spec.job_id),
        "CG_SEED": str(spec.seed),
        "CG_WORKER_INDEX": str(index),
        "CG_WORKERS": str(spec.workers),
    }
    if spec.pool.kind == "tpu":
        # TPUStrategy finds the host's TPU through the resolver; no TF_CONFIG cluster for MWMS.
        env.update({"CG_STRATEGY": "tpu", "TPU_NAME": "local"})
    else:
        env.update({"CG_STRATEGY": "multi_worker_mirrored", "TF_CONFIG": tf_config(addresses, index)})
    return env
