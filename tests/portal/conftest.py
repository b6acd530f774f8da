"""Fixtures for the grant workflow: pools, an open call, a project with a small local repository."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from portal.services import applications, calls, projects
from scheduler.models import AcceleratorPool

HOUR = 3600


def client_for(user: Any) -> Client:
    """A test client signed in as `user` (force_login: django-axes refuses `login()` without a request)."""
    client = Client()
    client.force_login(user)
    return client


REPO_FILES = {
    "README.md": "# Tiny\n\n## Usage\n\n```sh\npython train.py\n```\n",
    "train.py": "import tensorflow as tf\n\ntf.keras.utils.set_random_seed(1)\n",
    "requirements.txt": "tensorflow==2.21.0\n",
    "LICENSE": "Apache License\nVersion 2.0, January 2004\n",
}


@pytest.fixture
def make_local_repo(tmp_path):  # type: ignore[no-untyped-def]
    """A folder with a few files, usable as a project's repository (local paths are allowed in tests)."""

    def factory(name: str = "repo", files: dict[str, str] | None = None) -> Path:
        root = tmp_path / name
        for relative, text in (files or REPO_FILES).items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return root

    return factory


@pytest.fixture
def gpu_pool(db):  # type: ignore[no-untyped-def]
    return AcceleratorPool.objects.create(name="nvidia-v100", kind=AcceleratorPool.Kind.GPU, capacity=8)


@pytest.fixture
def tpu_pool(db):  # type: ignore[no-untyped-def]
    return AcceleratorPool.objects.create(
        name="tpu-v4-8", kind=AcceleratorPool.Kind.TPU, capacity=4, backend=AcceleratorPool.Backend.KUBERNETES
    )


@pytest.fixture
def open_call(gpu_pool, tpu_pool, maintainer):  # type: ignore[no-untyped-def]
    """The golden path's call: nvidia-v100 (1,000 h) and tpu-v4-8 (500 h), the default rubric, two reviews each."""
    now = timezone.now()
    return calls.open_call(
        title="Open compute 2027",
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=30),
        budgets=[(gpu_pool, 1000 * HOUR), (tpu_pool, 500 * HOUR)],
        actor=maintainer,
    )


@pytest.fixture
def project(applicant, make_local_repo):  # type: ignore[no-untyped-def]
    return projects.create_project(
        applicant,
        name="Digits",
        repository_url=str(make_local_repo()),
        licence="Apache-2.0",
        organisation="Open Digits Lab",
    )


@pytest.fixture
def plan(gpu_pool):  # type: ignore[no-untyped-def]
    return applications.Plan(
        pool=gpu_pool,
        requested_seconds=100 * HOUR,
        justification="Train the digits model across two workers.",
        entrypoint="python train.py --epochs 5",
        workers=2,
        accelerators_per_worker=1,
        expected_runs=3,
    )


@pytest.fixture
def draft(project, open_call, plan, applicant):  # type: ignore[no-untyped-def]
    return applications.save_draft(project, open_call, plan, actor=applicant)
