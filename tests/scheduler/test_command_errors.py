"""A command given a bad value says which argument or option was wrong, and changes nothing."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from portal.models import AuditEntry
from scheduler.models import AcceleratorPool, Allocation, LedgerEntry, TrainingJob
from tests.scheduler.factories import ProjectFactory

pytestmark = pytest.mark.django_db

GPU = ("--kind", "gpu", "--capacity", "2")

# (command line, the argument or option the error must name first)
BAD_INPUTS = [
    (("create_pool", "bad", "--kind", "gpu", "--capacity", "0"), "--capacity"),
    (("create_pool", "bad", *GPU, "--node-selector", "novalue"), "--node-selector"),
    (("create_pool", "bad", *GPU, "--max-runtime-hours", "0"), "--max-runtime-hours"),
    (("create_pool", "bad", *GPU, "--max-runtime-hours", "nan"), "--max-runtime-hours"),
    (("create_pool", "bad", *GPU, "--max-runtime-hours", "1e9"), "--max-runtime-hours"),
    (("create_pool", "bad", *GPU, "--namespace", "Not A Namespace!" * 10), "--namespace"),
    (("create_pool", "x" * 200, *GPU), "name"),
    (("award", "nope", "gpu-pool", "10"), "project"),
    (("award", "p", "no-pool", "10"), "pool"),
    (("award", "p", "gpu-pool", "0"), "hours"),
    (("award", "p", "gpu-pool", "-3"), "hours"),
    (("award", "p", "gpu-pool", "inf"), "hours"),
    (("award", "p", "gpu-pool", "10", "--days", "0"), "--days"),
    (("award", "p", "gpu-pool", "10", "--actor", "nobody"), "--actor"),
    (("top_up", "999999", "1"), "allocation"),
    (("top_up", "{allocation}", "0"), "hours"),
    (("top_up", "{allocation}", "nan"), "hours"),
    (("top_up", "{allocation}", "1", "--actor", "nobody"), "--actor"),
    (("render_manifests", "--pool", "no-pool"), "--pool"),
    (("render_manifests", "--pool", "kube-pool", "--workers", "0"), "--workers"),
    (("render_manifests", "--pool", "kube-pool", "--accelerators-per-worker", "0"), "--accelerators-per-worker"),
    (("render_manifests", "--pool", "kube-pool", "--workers", "9"), "--workers x --accelerators-per-worker"),
    (("render_manifests", "--pool", "kube-pool", "--max-runtime", "-1"), "--max-runtime"),
    (("render_manifests", "--pool", "kube-pool", "--job-id", "-1"), "--job-id"),
    (("render_manifests", "--pool", "kube-pool", "--artifact-uri", "/tmp/out"), "--artifact-uri"),
    (("render_kueue", "--pool", "no-pool"), "--pool"),
    (("run_example", "--workers", "0"), "--workers"),
    (("run_example", "--epochs", "0"), "--epochs"),
    (("run_example", "--max-runtime", "0"), "--max-runtime"),
    (("run_example", "--timeout", "0"), "--timeout"),
    (("score_repo", ".", "--ref", "main"), "--ref"),
    (("score_repo", ".", "--min-score", "101"), "--min-score"),
]


@pytest.fixture
def existing():
    """A pool, a Kubernetes pool, a project with an allocation: what the good arguments name."""
    gpu = AcceleratorPool.objects.create(name="gpu-pool", kind="gpu", capacity=4)
    AcceleratorPool.objects.create(name="kube-pool", kind="gpu", capacity=4, backend="kubernetes")
    call_command("award", ProjectFactory(slug="p").slug, gpu.name, "5", stdout=io.StringIO())
    return Allocation.objects.get()


def counts():
    return [model.objects.count() for model in (AcceleratorPool, Allocation, LedgerEntry, TrainingJob, AuditEntry)]


@pytest.mark.parametrize(
    ("args", "option"), BAD_INPUTS, ids=lambda value: " ".join(value) if isinstance(value, tuple) else None
)
def test_a_bad_value_is_refused_naming_its_option_and_changes_nothing(args, option, existing):
    args = [arg.format(allocation=existing.pk) for arg in args]
    before = counts()
    with pytest.raises(CommandError) as refused:
        call_command(*args, stdout=io.StringIO(), stderr=io.StringIO())
    message = str(refused.value)
    assert message.startswith(f"{option} ") or message.startswith(f"{option}:"), message
    assert counts() == before


def test_a_runtime_past_the_databases_limit_is_refused_in_hours():
    with pytest.raises(CommandError) as refused:
        call_command("create_pool", "bad", *GPU, "--max-runtime-hours", "1e9", stdout=io.StringIO())
    assert str(refused.value) == "--max-runtime-hours must be more than 0 and at most 596,523, got 1,000,000,000."


def test_argparse_refusals_name_the_option_too():
    with pytest.raises(CommandError, match="argument --capacity: invalid int value: 'many'"):
        call_command("create_pool", "bad", "--kind", "gpu", "--capacity", "many", stdout=io.StringIO())
