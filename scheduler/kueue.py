"""Kueue's objects for the portal's pools, so a cluster's quotas match what the portal admits.

Per Kubernetes pool: a ResourceFlavor (the pool's node labels), a ClusterQueue whose nominal
quota is the pool's capacity (and the CPU and memory its largest job's pods request), and a
LocalQueue in the pool's namespace, named as the pool's Jobs are labelled (`kueue_queue`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kubernetes.utils import parse_quantity

from scheduler import tpu_slices
from scheduler.backends.kubernetes_manifests import render_manifests
from scheduler.contract import JobSpec, PoolSpec, job_artifact_paths
from scheduler.models import AcceleratorPool

API_VERSION = "kueue.x-k8s.io/v1beta1"
GIB = Decimal(2**30)


def queue_name(pool: AcceleratorPool) -> str:
    return pool.kueue_queue or pool.name


def pod_requests(pool: AcceleratorPool, per_worker: int) -> dict[str, Decimal]:
    """What Kueue counts for one worker pod of this pool: per resource, the larger of the
    containers' sum and any single init container (Kueue's rule), read from the rendered Job."""
    spec = JobSpec(0, 1, per_worker, 60, 0, "train.py", (), PoolSpec.from_pool(pool), job_artifact_paths(0))
    pod = render_manifests(spec)[1]["spec"]["template"]["spec"]
    totals: dict[str, Decimal] = {}
    for container in pod["containers"]:
        for resource, value in container["resources"]["requests"].items():
            totals[resource] = totals.get(resource, Decimal(0)) + parse_quantity(value)
    for container in pod.get("initContainers", []):
        for resource, value in container["resources"]["requests"].items():
            totals[resource] = max(totals.get(resource, Decimal(0)), parse_quantity(value))
    return totals


def largest_job(pool: AcceleratorPool) -> tuple[int, int]:
    """(workers, accelerators per worker) of the job with the most pods the pool admits."""
    if pool.kind == AcceleratorPool.Kind.TPU:
        tpu = tpu_slices.slice_of(pool.node_selectors)
        return pool.capacity // tpu.chips_per_host, tpu.chips_per_host
    return pool.capacity, 1


def quantity(resource: str, value: Decimal) -> str:
    if resource == "memory":
        return f"{int(value / GIB)}Gi" if value % GIB == 0 else str(int(value))
    if resource == "cpu":
        return f"{int(value * 1000)}m" if value % 1 else str(int(value))
    return str(int(value))


def render_kueue(pools: list[AcceleratorPool]) -> list[dict[str, Any]]:
    """ResourceFlavors, then ClusterQueues, then LocalQueues, for the given Kubernetes pools."""
    flavors, cluster_queues, local_queues = [], [], []
    for pool in pools:
        workers, per_worker = largest_job(pool)
        per_pod = pod_requests(pool, per_worker)
        quotas = [{"name": name, "nominalQuota": quantity(name, value * workers)} for name, value in per_pod.items()]
        if pool.resource_name:  # the accelerators: exactly the pool's capacity
            quotas = [q for q in quotas if q["name"] != pool.resource_name]
            quotas.insert(0, {"name": pool.resource_name, "nominalQuota": str(pool.capacity)})
        labels = {"app.kubernetes.io/managed-by": "computegrant", "computegrant.org/pool": pool.name}
        flavors.append(
            {
                "apiVersion": API_VERSION,
                "kind": "ResourceFlavor",
                "metadata": {"name": pool.name, "labels": labels},
                "spec": {"nodeLabels": dict(pool.node_selectors)},
            }
        )
        cluster_queues.append(
            {
                "apiVersion": API_VERSION,
                "kind": "ClusterQueue",
                "metadata": {"name": pool.name, "labels": labels},
                "spec": {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": pool.namespace}},
                    # The portal already orders jobs (fair share, priority, age, backfill).
                    "queueingStrategy": "BestEffortFIFO",
                    "resourceGroups": [
                        {
                            "coveredResources": [q["name"] for q in quotas],
                            "flavors": [{"name": pool.name, "resources": quotas}],
                        }
                    ],
                },
            }
        )
        local_queues.append(
            {
                "apiVersion": API_VERSION,
                "kind": "LocalQueue",
                "metadata": {"name": queue_name(pool), "namespace": pool.namespace, "labels": labels},
                "spec": {"clusterQueue": pool.name},
            }
        )
    return [*flavors, *cluster_queues, *local_queues]
