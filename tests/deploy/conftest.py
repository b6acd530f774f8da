"""The deploy/ overlays rendered once per test session by `kubectl kustomize`, as an operator would."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
OVERLAYS = ("development", "production")


# What an operator writes per release (production/release.env, not in git): the image by digest.
RELEASE_IMAGE = "registry.example.org/computegrant@sha256:" + "ab" * 32


def kustomize(folder: Path) -> subprocess.CompletedProcess[str]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (with its built-in kustomize) is needed to render deploy/"
    return subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=120)


def deploy_copy(release_image: str | None = RELEASE_IMAGE) -> Path:
    """deploy/ copied, with the production release file as an operator would write it (or none)."""
    copy = Path(tempfile.mkdtemp(prefix="deploy-")) / "deploy"
    shutil.copytree(DEPLOY, copy)
    release = copy / "overlays" / "production" / "release.env"
    release.unlink(missing_ok=True)
    if release_image is not None:
        release.write_text(f"COMPUTEGRANT_IMAGE={release_image}\n")
    return copy


@cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    result = kustomize(deploy_copy() / "overlays" / overlay)
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
