"""Operators' commands: create pools, award and top up from the command line; demo data."""

import io
import json

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from scheduler.models import AcceleratorPool, Allocation
from scheduler.plain_yaml import plain_yaml
from tests.scheduler.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_create_pool_then_award_then_top_up():
    result = run(
        "create_pool",
        "tpu-v4-8",
        "--kind",
        "tpu",
        "--capacity",
        "4",
        "--backend",
        "kubernetes",
        "--resource-name",
        "google.com/tpu",
        "--node-selector",
        "cloud.google.com/gke-tpu-topology=2x2x1",
    )
    pool = AcceleratorPool.objects.get(pk=result["id"])
    assert pool.node_selectors == {"cloud.google.com/gke-tpu-topology": "2x2x1"}
    project = ProjectFactory(slug="digits")
    awarded = run("award", "digits", "tpu-v4-8", "12.5", "--days", "30", "--memo", "pilot")
    assert awarded["awarded_seconds"] == 45000
    topped = run("top_up", str(awarded["allocation"]), "2")
    assert topped["awarded_seconds"] == 45000 + 7200
    allocation = Allocation.objects.get(project=project)
    assert list(allocation.ledger.values_list("kind", flat=True)) == ["award", "top_up"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create_pool", "bad", "--kind", "gpu", "--capacity", "0"), "capacity"),
        (
            ("create_pool", "bad", "--kind", "gpu", "--capacity", "2", "--node-selector", "novalue"),
            "KEY=VALUE",
        ),
        (("award", "nope", "nvidia-v100", "10"), "project: no project has the slug 'nope'"),
        (("top_up", "999999", "1"), "allocation: there is no allocation 999999"),
    ],
)
def test_bad_command_input_is_a_clear_error_and_changes_nothing(args, message):
    with pytest.raises(CommandError, match=message):
        call_command(*args, stdout=io.StringIO())
    assert not AcceleratorPool.objects.filter(name="bad").exists()


def test_award_refuses_zero_hours():
    run("create_pool", "gpu-pool", "--kind", "gpu", "--capacity", "2")
    ProjectFactory(slug="p")
    with pytest.raises(CommandError, match="positive"):
        call_command("award", "p", "gpu-pool", "0", stdout=io.StringIO())
    assert not Allocation.objects.exists()


def anchors_and_aliases(text):
    """Every &anchor and *alias in a YAML stream, as its parser sees them."""
    events = list(yaml.parse(text))
    return [event.anchor for event in events if getattr(event, "anchor", None)]


@pytest.mark.parametrize(
    ("command", "kinds"),
    [
        (("render_manifests", "--pool", "gpu-pool", "--workers", "2"), {"NetworkPolicy", "Service", "Job"}),
        (("render_kueue",), {"ResourceFlavor", "ClusterQueue", "LocalQueue"}),
    ],
)
def test_the_kubernetes_commands_print_plain_yaml_without_anchors(command, kinds):
    run("create_pool", "gpu-pool", "--kind", "gpu", "--capacity", "4", "--backend", "kubernetes")
    out = io.StringIO()
    call_command(*command, stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    # No node carries an &anchor and no *alias refers to one (the Job's containers share their mounts).
    assert anchors_and_aliases(text) == []
    assert "&id0" not in text and "*id0" not in text
    assert kinds <= {document["kind"] for document in yaml.safe_load_all(text)}


def test_a_value_used_twice_is_written_twice():
    shared = {"mountPath": "/artifacts", "name": "artifacts"}
    text = plain_yaml([{"a": [shared], "b": [shared]}])
    assert anchors_and_aliases(yaml.safe_dump({"a": shared, "b": shared})) == ["id001", "id001"]  # what PyYAML does
    assert anchors_and_aliases(text) == []
    assert text.count("mountPath: /artifacts") == 2
