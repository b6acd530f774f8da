"""The deploy/ overlays rendered once per test session by `kubectl kustomize`, as an operator would."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
OVERLAYS = ("development", "production")


@cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (with its built-in kustomize) is needed to render deploy/"
    result = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY / "overlays" / overlay)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def of_kind(overlay: str, kind: str) -> list[dict[str, Any]]:
    return [doc for doc in rendered(overlay) if doc["kind"] == kind]


def pod_templates(overlay: str) -> list[tuple[str, dict[str, Any]]]:
    """(name, pod spec) of every workload: Deployments and Jobs."""
    return [
        (doc["metadata"]["name"], doc["spec"]["template"]["spec"])
        for doc in rendered(overlay)
        if doc["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet")
    ]
