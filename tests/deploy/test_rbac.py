"""Least privilege: the scheduler's Role grants exactly what the Kubernetes backend calls, where it calls it.

The verbs are derived from the backend's code (every `self.<api>.<method>` it names), so a new
call without a rule, or a rule no call needs, fails here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from kubernetes import client

from scheduler.backends.kubernetes import KubernetesBackend
from scheduler.contract import JobSpec, PoolSpec, job_artifact_paths
from tests.deploy.conftest import OVERLAYS, of_kind, rendered
from tests.scheduler.backends.kube_apiserver import ApiServer

BACKENDS = sorted((Path(__file__).resolve().parents[2] / "scheduler" / "backends").glob("kubernetes*.py"))
GROUPS = {"CoreV1Api": "", "BatchV1Api": "batch", "NetworkingV1Api": "networking.k8s.io"}
VERBS = {"create": "create", "read": "get", "list": "list", "delete": "delete", "patch": "patch", "replace": "update"}
METHOD = re.compile(
    r"^(?P<verb>create|read|list|delete|patch|replace)_namespaced_(?P<kind>[a-z_]+?)(?P<sub>_log|_status)?$"
)
TRAINING_NAMESPACE = "computegrant"

Right = tuple[str, str, str]  # (API group, resource, verb)


def plural(kind: str) -> str:
    name = kind.replace("_", "")
    return name[:-1] + "ies" if name.endswith("y") else name + "s"


def backend_rights() -> set[Right]:
    """Every (group, resource, verb) the backend's source names through the official client."""
    rights: set[Right] = set()
    for path in BACKENDS:
        tree = ast.parse(path.read_text())
        apis = {  # self.core = client.CoreV1Api(...)
            node.targets[0].attr: node.value.func.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Attribute)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr.endswith("Api")
        }
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)):
                continue
            if node.value.attr not in apis or not isinstance(node.value.value, ast.Name):
                continue
            match = METHOD.match(node.attr)
            assert match, f"{path.name}: {node.attr} is not a call this test can map to a verb; teach it"
            group = GROUPS[apis[node.value.attr]]
            resource = plural(match["kind"]) + ("/log" if match["sub"] == "_log" else "")
            rights.add((group, resource, VERBS[match["verb"]]))
    return rights


def role_rights(overlay: str) -> set[Right]:
    rights: set[Right] = set()
    for role in of_kind(overlay, "Role"):
        for rule in role["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    rights.update((group, resource, verb) for verb in rule["verbs"])
    return rights


def test_the_derivation_sees_the_backends_calls():
    assert {("batch", "jobs", "create"), ("", "pods/log", "get"), ("", "pods", "list")} <= backend_rights()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_role_grants_exactly_the_verbs_the_backend_uses(overlay):
    granted, used = role_rights(overlay), backend_rights()
    assert granted - used == set(), f"granted but never used: {sorted(granted - used)}"
    assert used - granted == set(), f"used but not granted: {sorted(used - granted)}"
    assert not any("*" in right for right in granted)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_nothing_cluster_wide_and_the_role_lives_in_the_training_namespace_only(overlay):
    assert not of_kind(overlay, "ClusterRole") and not of_kind(overlay, "ClusterRoleBinding")
    assert [r["metadata"]["namespace"] for r in of_kind(overlay, "Role")] == [TRAINING_NAMESPACE]
    (binding,) = of_kind(overlay, "RoleBinding")
    assert binding["metadata"]["namespace"] == TRAINING_NAMESPACE
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "computegrant-scheduler", "namespace": "computegrant-portal"}
    ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_launching_and_syncing_workers_hold_the_schedulers_token(overlay):
    tokens = {}
    for doc in rendered(overlay):
        if doc["kind"] in ("Deployment", "Job"):
            pod = doc["spec"]["template"]["spec"]
            account = pod.get("serviceAccountName", "default")
            tokens[doc["metadata"]["name"]] = (account, pod.get("automountServiceAccountToken", True))
    holders = {name for name, (account, mounted) in tokens.items() if mounted}
    assert holders == {"computegrant-worker-launching", "computegrant-worker-syncing"}
    assert {tokens[name][0] for name in holders} == {"computegrant-scheduler"}
    # Pods that never mount a token cannot use one, whatever their account.
    assert all(account != "computegrant-scheduler" for name, (account, _) in tokens.items() if name not in holders)


def test_every_request_the_backend_makes_in_a_jobs_life_is_granted():
    """The same rights seen on the wire: submit, a retried submit (409), find, status, logs, cancel."""
    pool = PoolSpec("gpu", "gpu", "kubernetes", "nvidia.com/gpu", namespace=TRAINING_NAMESPACE)
    spec = JobSpec(5, 2, 1, 60, 1, "train.py", (), pool, job_artifact_paths(5), repository_url="https://x/y")
    api = ApiServer()
    try:
        configuration = client.Configuration()
        configuration.host = api.url
        backend = KubernetesBackend(client.ApiClient(configuration))
        handle = backend.submit(spec)
        backend.submit(spec)
        backend.find(spec)
        backend.status(handle)
        running = {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
        api.put_pod(TRAINING_NAMESPACE, handle["name"], 0, ready=True, state=running)
        backend.log_tails(handle)
        backend.cancel(handle)
        requests = list(api.requests)
    finally:
        api.close()
    seen: set[Right] = set()
    for method, path in requests:
        match = re.match(r"^/(?:api/v1|apis/(?P<group>[^/]+)/v1)/namespaces/(?P<ns>[^/]+)/(?P<rest>.+)$", path)
        assert match and match["ns"] == TRAINING_NAMESPACE, path
        parts = match["rest"].split("/")
        resource = parts[0] + (f"/{parts[2]}" if len(parts) > 2 else "")
        verb = {"POST": "create", "DELETE": "delete"}.get(method) or ("get" if len(parts) > 1 else "list")
        seen.add((match["group"] or "", resource, verb))
    assert seen == backend_rights() == role_rights("production")
