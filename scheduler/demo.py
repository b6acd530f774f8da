"""Demo pools and a demo allocation for `manage.py seed_demo`. Idempotent."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from portal.models import Project, User
from scheduler import quota
from scheduler.models import AcceleratorPool, Allocation

DEMO_POOLS = (
    {
        "name": "nvidia-v100",
        "kind": AcceleratorPool.Kind.GPU,
        "resource_name": "nvidia.com/gpu",
        "capacity": 8,
        # The demo runs on one machine: local processes. Production points this at Kubernetes.
        "backend": AcceleratorPool.Backend.LOCAL,
        "node_selectors": {"cloud.google.com/gke-accelerator": "nvidia-tesla-v100"},
        "default_image": "tensorflow/tensorflow:2.21.0-gpu",
    },
    {
        "name": "tpu-v4-8",
        "kind": AcceleratorPool.Kind.TPU,
        "resource_name": "google.com/tpu",
        "capacity": 4,
        "backend": AcceleratorPool.Backend.KUBERNETES,
        "node_selectors": {
            "cloud.google.com/gke-tpu-accelerator": "tpu-v4-podslice",
            "cloud.google.com/gke-tpu-topology": "2x2x1",
        },
        "default_image": "tensorflow/tensorflow:2.21.0",
    },
)
DEMO_PROJECT_SLUG = "digits"
DEMO_HOURS = 100


def seed_pools() -> list[str]:
    for values in DEMO_POOLS:
        AcceleratorPool.objects.get_or_create(name=values["name"], defaults=values)
    lines = [f"pools       {', '.join(str(p['name']) for p in DEMO_POOLS)}"]
    applicant = User.objects.filter(username="applicant").first()
    if applicant is None:
        return lines
    project, _ = Project.objects.get_or_create(
        slug=DEMO_PROJECT_SLUG,
        defaults={
            "name": "Digits",
            "owner": applicant,
            "organisation": applicant.affiliation,
            "repository_url": str(settings.BASE_DIR / "examples" / "digits"),
            "licence": "Apache-2.0",
            "description": ("The reference TensorFlow project: MultiWorkerMirroredStrategy on scikit-learn's digits."),
        },
    )
    pool = AcceleratorPool.objects.get(name="nvidia-v100")
    if not Allocation.objects.filter(project=project, pool=pool).exists():
        quota.award(
            project,
            pool,
            DEMO_HOURS * 3600,
            expires_at=timezone.now() + timedelta(days=365),
            memo="demo award",
        )
    lines.append(f"allocation  {DEMO_HOURS} accelerator-hours of nvidia-v100 for the applicant's project 'Digits'")
    return lines
