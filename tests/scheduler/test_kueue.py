"""manage.py render_kueue: Kueue's quotas come from the pools' capacities."""

from __future__ import annotations

import io

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from scheduler import quota
from scheduler.backends.kubernetes_manifests import render_manifests
from scheduler.contract import JobSpec
from scheduler.models import AcceleratorPool
from tests.scheduler.factories import PoolFactory, job_request, make_allocation

pytestmark = pytest.mark.django_db
V4_16 = {"cloud.google.com/gke-tpu-accelerator": "tpu-v4-podslice", "cloud.google.com/gke-tpu-topology": "2x2x4"}


def render(*args: str) -> list[dict]:
    out = io.StringIO()
    call_command("render_kueue", *args, stdout=out, stderr=io.StringIO())
    return list(yaml.safe_load_all(out.getvalue()))


def pools() -> tuple[AcceleratorPool, AcceleratorPool]:
    gpu = PoolFactory(
        name="nvidia-v100",
        capacity=8,
        backend="kubernetes",
        namespace="computegrant",
        kueue_queue="gpu-queue",
        node_selectors={"cloud.google.com/gke-accelerator": "nvidia-tesla-v100"},
    )
    tpu = PoolFactory(
        name="tpu-v4-32",
        kind="tpu",
        resource_name="google.com/tpu",
        capacity=32,
        backend="kubernetes",
        namespace="computegrant",
        kueue_queue="tpu-queue",
        node_selectors=V4_16,
    )
    PoolFactory(name="local-gpus", backend="local")  # not on a cluster: no Kueue objects
    return gpu, tpu


def test_a_flavor_a_cluster_queue_and_a_local_queue_per_kubernetes_pool_with_its_capacity():
    pools()
    documents = render()
    assert [(d["kind"], d["metadata"]["name"]) for d in documents] == [
        ("ResourceFlavor", "nvidia-v100"),
        ("ResourceFlavor", "tpu-v4-32"),
        ("ClusterQueue", "nvidia-v100"),
        ("ClusterQueue", "tpu-v4-32"),
        ("LocalQueue", "gpu-queue"),
        ("LocalQueue", "tpu-queue"),
    ]
    flavor, queue = documents[1], documents[3]
    assert flavor["spec"]["nodeLabels"] == V4_16
    (group,) = queue["spec"]["resourceGroups"]
    quotas = {r["name"]: r["nominalQuota"] for r in group["flavors"][0]["resources"]}
    assert set(group["coveredResources"]) == set(quotas) == {"google.com/tpu", "cpu", "memory"}
    assert quotas["google.com/tpu"] == "32"
    assert quotas["cpu"] == "8"  # 8 hosts of 4 chips, one pod each, 1 CPU per pod
    assert quotas["memory"] == "16Gi"
    gpu_quotas = {
        r["name"]: r["nominalQuota"] for r in documents[2]["spec"]["resourceGroups"][0]["flavors"][0]["resources"]
    }
    assert gpu_quotas == {"nvidia.com/gpu": "8", "cpu": "8", "memory": "16Gi"}
    local = documents[5]
    assert local["metadata"]["namespace"] == "computegrant" and local["spec"]["clusterQueue"] == "tpu-v4-32"


def test_the_quota_holds_the_pool_full_of_the_jobs_the_portal_admits_and_no_more_accelerators():
    """As many one-slice jobs as the pool holds fit the ClusterQueue at once; the accelerators match exactly."""
    _, tpu = pools()
    job = quota.submit_job(make_allocation(pool=tpu, hours=10_000), job_request(workers=4, per_worker=4))
    _, manifest = render_manifests(JobSpec.from_job(job))
    pod = manifest["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
    at_once = tpu.capacity // (4 * 4)  # two 16-chip slices
    queue = render("--pool", "tpu-v4-32")[1]
    quotas = {r["name"]: r["nominalQuota"] for r in queue["spec"]["resourceGroups"][0]["flavors"][0]["resources"]}
    pods = manifest["spec"]["parallelism"] * at_once
    assert int(pod["google.com/tpu"]) * pods == int(quotas["google.com/tpu"])
    assert int(pod["cpu"]) * pods == int(quotas["cpu"])


def test_unknown_pools_and_pools_without_a_slice_are_refused_with_the_reason():
    pools()
    with pytest.raises(CommandError, match="--pool: no Kubernetes pool is named nope"):
        render("--pool", "nope")
    with pytest.raises(CommandError, match="no Kubernetes pool is named local-gpus"):
        render("--pool", "local-gpus")
    PoolFactory(name="tpu-bare", kind="tpu", resource_name="google.com/tpu", capacity=4, backend="kubernetes")
    with pytest.raises(CommandError, match="does not say which slice"):
        render("--pool", "tpu-bare")
