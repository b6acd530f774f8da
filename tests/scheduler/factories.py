"""Factories for scheduler tests: projects, pools and allocations made through the services."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from portal.models import Project, User
from scheduler import quota
from scheduler.models import AcceleratorPool

HOUR = 3600


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.Sequence(lambda n: f"project-{n}")
    owner = factory.SubFactory(UserFactory)
    repository_url = "https://github.com/example/digits"


class PoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AcceleratorPool

    name = factory.Sequence(lambda n: f"pool-{n}")
    kind = AcceleratorPool.Kind.GPU
    resource_name = "nvidia.com/gpu"
    capacity = 8
    backend = AcceleratorPool.Backend.LOCAL


def make_allocation(pool=None, project=None, hours: float = 100, days: int = 30, **kwargs):
    """An active allocation awarded through the quota service."""
    return quota.award(
        project or ProjectFactory(),
        pool or PoolFactory(),
        int(hours * HOUR),
        expires_at=timezone.now() + timedelta(days=days),
        **kwargs,
    )


def job_request(workers: int = 1, per_worker: int = 1, runtime: int = HOUR, **kwargs) -> quota.JobRequest:
    return quota.JobRequest(
        entrypoint="train.py",
        workers=workers,
        accelerators_per_worker=per_worker,
        max_runtime_seconds=runtime,
        **kwargs,
    )
