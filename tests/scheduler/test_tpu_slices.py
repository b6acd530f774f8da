"""TPU slices as GKE schedules them: one pod per host with all its chips; other shapes refused at submission."""

from __future__ import annotations

import pytest

from scheduler import quota, tpu_slices
from scheduler.backends.kubernetes_manifests import render_manifests
from scheduler.contract import JobSpec, PoolSpec, job_artifact_paths
from scheduler.models import AcceleratorPool, LedgerEntry, TrainingJob
from tests.scheduler.factories import PoolFactory, job_request, make_allocation

V4_16 = {"cloud.google.com/gke-tpu-accelerator": "tpu-v4-podslice", "cloud.google.com/gke-tpu-topology": "2x2x4"}


@pytest.mark.parametrize(
    ("accelerator", "topology", "hosts", "per_host"),
    [
        ("tpu-v4-podslice", "2x2x1", 1, 4),
        ("tpu-v4-podslice", "2x2x4", 4, 4),
        ("tpu-v5p-slice", "2x4x4", 8, 4),
        ("tpu-v5-lite-podslice", "1x1", 1, 1),
        ("tpu-v5-lite-podslice", "2x4", 1, 8),
        ("tpu-v5-lite-podslice", "4x4", 4, 4),
        ("tpu-v6e-slice", "8x8", 16, 4),
    ],
)
def test_a_slice_is_hosts_of_all_their_chips_as_gke_lays_them_out(accelerator, topology, hosts, per_host):
    tpu = tpu_slices.slice_of({tpu_slices.ACCELERATOR_SELECTOR: accelerator, tpu_slices.TOPOLOGY_SELECTOR: topology})
    assert (tpu.hosts, tpu.chips_per_host, tpu.chips) == (hosts, per_host, hosts * per_host)


@pytest.mark.parametrize(
    ("selectors", "message"),
    [
        ({}, "does not say which slice"),
        ({tpu_slices.ACCELERATOR_SELECTOR: "tpu-v9", tpu_slices.TOPOLOGY_SELECTOR: "2x2"}, "Unknown TPU accelerator"),
        ({tpu_slices.ACCELERATOR_SELECTOR: "tpu-v4-podslice", tpu_slices.TOPOLOGY_SELECTOR: "big"}, "AxB or AxBxC"),
        ({tpu_slices.ACCELERATOR_SELECTOR: "tpu-v4-podslice", tpu_slices.TOPOLOGY_SELECTOR: "1x1x2"}, "whole number"),
    ],
)
def test_a_pool_that_does_not_describe_a_slice_says_why(selectors, message):
    with pytest.raises(tpu_slices.SliceError, match=message):
        tpu_slices.slice_of(selectors)


def tpu_pool(**kwargs) -> AcceleratorPool:
    values = {
        "kind": AcceleratorPool.Kind.TPU,
        "resource_name": "google.com/tpu",
        "backend": AcceleratorPool.Backend.KUBERNETES,
        "capacity": 32,
        "node_selectors": V4_16,
    }
    return PoolFactory(**{**values, **kwargs})


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("workers", "per_worker", "pool_values", "message"),
    [
        (8, 2, {}, r"ask for 4 worker\(s\) with 4 accelerators each"),
        (2, 4, {}, r"ask for 4 worker\(s\) with 4 accelerators each"),
        (4, 4, {"capacity": 24}, "not a whole number of tpu-v4-podslice 2x2x4"),
        (4, 4, {"node_selectors": {}}, "does not say which slice"),
    ],
)
def test_a_job_that_cannot_be_laid_onto_one_slice_is_refused_with_the_reason_and_nothing_reserved(
    workers, per_worker, pool_values, message
):
    allocation = make_allocation(pool=tpu_pool(**pool_values), hours=1000)
    with pytest.raises(quota.QuotaError, match=message):
        quota.submit_job(allocation, job_request(workers=workers, per_worker=per_worker))
    allocation.refresh_from_db()
    assert allocation.reserved == 0 and not TrainingJob.objects.exists()
    assert not allocation.ledger.filter(kind=LedgerEntry.Kind.RESERVE).exists()


@pytest.mark.django_db
def test_a_job_of_one_pod_per_host_with_all_its_chips_is_accepted_and_rendered_as_gke_wants():
    pool = tpu_pool()
    allocation = make_allocation(pool=pool, hours=1000)
    job = quota.submit_job(allocation, job_request(workers=4, per_worker=4))
    assert job.state == TrainingJob.State.QUEUED

    _, manifest = render_manifests(JobSpec.from_job(job), artifact_uri="gs://bucket/runs")
    pod = manifest["spec"]["template"]["spec"]
    assert manifest["spec"]["completions"] == manifest["spec"]["parallelism"] == 4
    assert pod["nodeSelector"] == V4_16
    container = pod["containers"][0]
    assert container["resources"]["requests"]["google.com/tpu"] == container["resources"]["limits"]["google.com/tpu"]
    assert container["resources"]["limits"]["google.com/tpu"] == "4"
    env = {item["name"]: item for item in container["env"]}
    name = f"cg-job-{job.pk}"
    assert env["TPU_WORKER_HOSTNAMES"]["value"] == ",".join(f"{name}-{i}.{name}" for i in range(4))
    assert env["TPU_WORKER_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == (
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    )
    assert {p["containerPort"] for p in container["ports"]} >= {8471}
    assert pod["subdomain"] == name  # GKE's webhook sets the same TPU variables only with a subdomain


def test_gpu_pools_get_no_tpu_environment():
    gpu = PoolSpec("gpu", "gpu", "kubernetes", "nvidia.com/gpu")
    spec = JobSpec(3, 2, 1, 60, 1, "train.py", (), gpu, job_artifact_paths(3))
    _, manifest = render_manifests(spec)
    names = {item["name"] for item in manifest["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert not names & {"TPU_WORKER_ID", "TPU_WORKER_HOSTNAMES"}
