"""deploy/ checked statically: official schemas, the restricted Pod Security Standard, what operators rely on."""

from __future__ import annotations

import ipaddress
import re
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
from django.conf import settings
from kubernetes_validate.utils import all_versions

from scheduler.backends.kubernetes_environments import ENVIRONMENTS_CLAIM
from scheduler.backends.kubernetes_manifests import (
    ARTIFACTS_CLAIM,
    job_network_policy,
    render_manifests,
    render_preparation,
)
from scheduler.contract import JobSpec, PoolSpec, job_artifact_paths
from tests.deploy.conftest import (
    DEPLOY,
    OVERLAYS,
    RELEASE_IMAGE,
    deploy_copy,
    kustomize,
    of_kind,
    pod_templates,
    rendered,
)

VERSIONS = sorted({all_versions()[0], all_versions()[-1]})
README = Path(__file__).resolve().parents[2] / "README.md"
METADATA = ipaddress.ip_address("169.254.169.254")
# The restricted profile's volume types (https://kubernetes.io/docs/concepts/security/pod-security-standards/).
RESTRICTED_VOLUMES = {
    *("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret")
}


def training_pod() -> dict:
    pool = PoolSpec("gpu", "gpu", "kubernetes", "nvidia.com/gpu", namespace="computegrant", default_image="tf")
    spec = JobSpec(9, 2, 1, 60, 1, "train.py", (), pool, job_artifact_paths(9), repository_url="https://x/y")
    return render_manifests(spec)[1]["spec"]["template"]["spec"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_validates_strictly_on_the_oldest_and_newest_kubernetes(overlay, version):
    for document in rendered(overlay):
        kubernetes_validate.validate(document, version, strict=True)


def assert_restricted(name: str, pod: dict) -> None:
    """The restricted Pod Security Standard, control by control."""
    assert not any(pod.get(key) for key in ("hostNetwork", "hostPID", "hostIPC")), name
    assert pod["securityContext"]["runAsNonRoot"] is True, name
    assert pod["securityContext"].get("runAsUser", 1) != 0, name
    assert pod["securityContext"]["seccompProfile"]["type"] in ("RuntimeDefault", "Localhost"), name
    for volume in pod.get("volumes", []):
        assert set(volume) - {"name"} <= RESTRICTED_VOLUMES, (name, volume)
    for container in [*pod.get("initContainers", []), *pod["containers"]]:
        context = container["securityContext"]
        where = f"{name}/{container['name']}"
        assert context["allowPrivilegeEscalation"] is False, where
        assert not context.get("privileged"), where
        assert context["capabilities"]["drop"] == ["ALL"], where
        assert set(context["capabilities"].get("add", [])) <= {"NET_BIND_SERVICE"}, where
        assert context.get("runAsUser", 1) != 0, where
        assert not any(port.get("hostPort") for port in container.get("ports", [])), where
        limits, requests = container["resources"]["limits"], container["resources"]["requests"]
        assert {"cpu", "memory"} <= set(requests) and "memory" in limits, where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_meets_the_restricted_pod_security_standard_and_namespaces_enforce_it(overlay):
    templates = pod_templates(overlay)
    assert len(templates) >= 7
    for name, pod in templates:
        assert_restricted(name, pod)
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            assert "cpu" in container["resources"]["limits"], f"{name}/{container['name']} has no CPU limit"
    for namespace in of_kind(overlay, "Namespace"):
        assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_training_and_preparation_pods_meet_the_restricted_standard_too():
    assert_restricted("training job", training_pod())
    pool = PoolSpec("gpu", "gpu", "kubernetes", "nvidia.com/gpu", namespace="computegrant", default_image="tf")
    spec = JobSpec(9, 2, 1, 60, 1, "train.py", (), pool, job_artifact_paths(9), environment_key="k" * 32)
    preparation = render_preparation(spec)
    assert_restricted("preparation job", preparation["spec"]["template"]["spec"])
    assert preparation["spec"]["template"]["metadata"]["labels"] == {
        **PREPARATION,
        "app.kubernetes.io/managed-by": "computegrant",
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_web_workers_per_queue_a_single_beat_and_migrations_first(overlay):
    deployments = {d["metadata"]["name"]: d for d in of_kind(overlay, "Deployment")}
    queues = set()
    for deployment in deployments.values():
        command = deployment["spec"]["template"]["spec"]["containers"][0].get("command", [])
        if "worker" in command:
            queues.add(command[command.index("-Q") + 1])
    assert queues == set(settings.CELERY_WORKER_QUEUES)
    beat = deployments["computegrant-beat"]
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"] == {"type": "Recreate"}
    (migrate,) = of_kind(overlay, "Job")
    assert migrate["spec"]["template"]["spec"]["containers"][0]["command"][-2:] == ["migrate", "--noinput"]
    for name, deployment in deployments.items():
        if deployment["metadata"]["labels"].get("app.kubernetes.io/name") != "computegrant":
            continue  # the development overlay's PostgreSQL and Redis
        (wait,) = deployment["spec"]["template"]["spec"]["initContainers"]
        assert "migrate --check" in wait["command"][-1], name
    web = deployments["computegrant-web"]["spec"]["template"]["spec"]["containers"][0]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert web[probe]["httpGet"]["path"] == "/healthz"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_portal_deployment_has_a_disruption_budget_but_beat(overlay):
    budgets = [b["spec"]["selector"]["matchLabels"] for b in of_kind(overlay, "PodDisruptionBudget")]
    for deployment in of_kind(overlay, "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        if labels.get("app.kubernetes.io/name") != "computegrant" or labels["app.kubernetes.io/component"] == "beat":
            continue
        assert any(selector.items() <= labels.items() for selector in budgets), deployment["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_setting_the_readme_lists_is_in_the_config_map_or_the_secret(overlay):
    table = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)`", table, re.MULTILINE))
    assert len(documented) > 20
    (config,) = of_kind(overlay, "ConfigMap")
    secret_keys = set(of_kind("development", "Secret")[0]["data"])  # production's Secret has the same keys
    missing = documented - set(config["data"]) - secret_keys
    assert not missing, f"add these to deploy/base/settings.env (or the Secret): {sorted(missing)}"
    assert not {"DJANGO_SECRET_KEY", "DATABASE_URL", "DJANGO_EMAIL_HOST_PASSWORD"} & set(config["data"])


def test_production_pulls_the_image_by_digest_and_keeps_secrets_out_of_the_repository():
    for name, pod in pod_templates("production"):
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            assert container["image"] == RELEASE_IMAGE, name  # the release's digest, everywhere
    assert not of_kind("production", "Secret")
    # The release file is read, never applied.
    assert not [c for c in of_kind("production", "ConfigMap") if c["metadata"]["name"] == "computegrant-release"]


def test_production_does_not_render_without_the_releases_image_and_says_which_file_to_write():
    result = kustomize(deploy_copy(release_image=None) / "overlays" / "production")

    assert result.returncode != 0 and "release.env" in result.stderr
    assert "no such file" in result.stderr
    kustomization = (DEPLOY / "overlays" / "production" / "kustomization.yaml").read_text()
    assert "COMPUTEGRANT_IMAGE=registry.example.org/computegrant@sha256:" in kustomization  # what to write
    assert "sha256:0000" not in kustomization  # no placeholder digest left to deploy by mistake
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "deploy/overlays/production/release.env"], cwd=DEPLOY.parent, check=False
    )
    assert ignored.returncode == 0, "release.env is per release, never committed"


def addresses_allowed(block: dict) -> bool:
    """Whether an ipBlock lets a pod reach the cloud metadata address."""
    if METADATA not in ipaddress.ip_network(block["cidr"]):
        return False
    return not any(METADATA in ipaddress.ip_network(cidr) for cidr in block.get("except", []))


def selects(policy: dict, labels: dict[str, str]) -> bool:
    wanted = policy["spec"]["podSelector"].get("matchLabels", {})
    return all(labels.get(key) == value for key, value in wanted.items())


TRAINING = {"app.kubernetes.io/name": "computegrant-training", "computegrant.org/job-id": "9"}
PREPARATION = {"app.kubernetes.io/name": "computegrant-preparation", "computegrant.org/prepares-job": "9"}
# What training pods may reach outside their job in production: the object store's private range.
ARTIFACT_STORE = {"199.36.153.8/30"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_training_pods_are_fenced_dns_https_out_never_the_metadata_address(overlay):
    policies = [p for p in of_kind(overlay, "NetworkPolicy") if p["metadata"]["namespace"] == "computegrant"]
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and not p["spec"].get("ingress")]
    assert any(set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"} and "egress" not in p["spec"] for p in deny)
    reach: dict[str, set[str]] = {"training": set(), "preparation": set()}
    for policy in policies:
        assert "ingress" not in policy["spec"], "ingress to training pods comes only from their own job's policy"
        for rule in policy["spec"].get("egress", []):
            for peer in rule.get("to", []):
                if "ipBlock" in peer:
                    assert not addresses_allowed(peer["ipBlock"]), policy["metadata"]["name"]
                    assert {p["port"] for p in rule["ports"]} == {443}
                    for pod, labels in (("training", TRAINING), ("preparation", PREPARATION)):
                        if selects(policy, labels):
                            reach[pod].add(peer["ipBlock"]["cidr"])
                else:
                    assert peer["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
                    assert {p["port"] for p in rule["ports"]} == {53}
    # Only the preparation pods (fetch, install) reach the internet; training pods at most the store.
    assert reach["preparation"] == {"0.0.0.0/0", "::/0"}
    assert reach["training"] == (ARTIFACT_STORE if overlay == "production" else set())
    claims = {c["metadata"]["name"] for c in of_kind(overlay, "PersistentVolumeClaim")}
    assert {ARTIFACTS_CLAIM, ENVIRONMENTS_CLAIM} <= claims


def test_a_jobs_own_policy_admits_only_its_own_pods():
    pool = PoolSpec("gpu", "gpu", "kubernetes", "nvidia.com/gpu", namespace="computegrant")
    policy = job_network_policy(JobSpec(9, 2, 1, 60, 1, "train.py", (), pool, job_artifact_paths(9)))
    own = {"podSelector": {"matchLabels": {"computegrant.org/job-id": "9"}}}
    assert policy["spec"]["podSelector"] == own["podSelector"]
    assert policy["spec"]["ingress"] == [{"from": [own]}] and policy["spec"]["egress"] == [{"to": [own]}]
