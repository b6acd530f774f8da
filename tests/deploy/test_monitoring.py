"""deploy/monitoring: the ServiceMonitor and the alert rules (Prometheus Operator CRDs, which
kubernetes-validate does not know) checked against a schema of their shape written here, every
expression parsed as PromQL (promql-parser), and every metric and label value an expression names
found in what /metrics really exports."""

from __future__ import annotations

from typing import Any

import jsonschema
import promql_parser
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from scheduler import admission, quota
from scheduler.models import TrainingJob
from tests.deploy.conftest import DEPLOY, kustomize, of_kind
from tests.scheduler.factories import PoolFactory, job_request, make_allocation

DURATION = r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
METADATA = {
    "type": "object",
    "required": ["name", "namespace"],
    "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}, "labels": {"type": "object"}},
    "additionalProperties": False,
}
# The fields of monitoring.coreos.com/v1 used here, as the operator's CRDs define them; any other
# field is refused so a typo (bearerTokenSecrets, expression) fails here, not silently in the cluster.
SERVICE_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": METADATA,
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "selector": {
                    "type": "object",
                    "properties": {"matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}},
                    "additionalProperties": False,
                },
                "namespaceSelector": {
                    "type": "object",
                    "properties": {"matchNames": {"type": "array", "items": {"type": "string"}}},
                    "additionalProperties": False,
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["port"],
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string", "pattern": "^/"},
                            "scheme": {"enum": ["http", "https"]},
                            "interval": {"type": "string", "pattern": DURATION},
                            "scrapeTimeout": {"type": "string", "pattern": DURATION},
                            "bearerTokenSecret": {
                                "type": "object",
                                "required": ["name", "key"],
                                "additionalProperties": False,
                                "properties": {"name": {"type": "string"}, "key": {"type": "string"}},
                            },
                        },
                    },
                },
            },
        },
    },
}
PROMETHEUS_RULE = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PrometheusRule"},
        "metadata": METADATA,
        "spec": {
            "type": "object",
            "required": ["groups"],
            "additionalProperties": False,
            "properties": {
                "groups": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["name", "rules"],
                        "additionalProperties": False,
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "rules": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "object",
                                    "required": ["alert", "expr", "labels", "annotations"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "alert": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                                        "expr": {"type": "string", "minLength": 1},
                                        "for": {"type": "string", "pattern": DURATION},
                                        "labels": {
                                            "type": "object",
                                            "required": ["severity"],
                                            "properties": {"severity": {"enum": ["warning", "critical"]}},
                                        },
                                        "annotations": {
                                            "type": "object",
                                            "required": ["summary", "description"],
                                            "additionalProperties": {"type": "string"},
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}
# Label values an expression may match, by metric: what the exporters can write.
LABEL_VALUES = {
    ("computegrant_finished_jobs_total", "state"): {str(state) for state in TrainingJob.TERMINAL_STATES},
    ("computegrant_celery_tasks_total", "outcome"): {"success", "failure", "retry"},  # config/celery_metrics.py
}
TOKEN = "scrape-token-for-monitoring"


def monitoring() -> list[dict[str, Any]]:
    result = kustomize(DEPLOY / "monitoring")
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def selectors(node: Any) -> list[Any]:
    """Every vector selector in a parsed expression."""
    if isinstance(node, promql_parser.VectorSelector):
        return [node]
    found = []
    for attribute in ("lhs", "rhs", "expr", "vector_selector", "param"):
        child = getattr(node, attribute, None)
        if child is not None and not isinstance(child, str | int | float):
            found.extend(selectors(child))
    for child in getattr(node, "args", None) or []:
        found.extend(selectors(child))
    return found


def test_the_service_monitor_and_the_rules_have_the_operators_shape():
    documents = {document["kind"]: document for document in monitoring()}
    assert set(documents) == {"ServiceMonitor", "PrometheusRule"}
    jsonschema.validate(documents["ServiceMonitor"], SERVICE_MONITOR)
    jsonschema.validate(documents["PrometheusRule"], PROMETHEUS_RULE)
    alerts = [rule["alert"] for group in documents["PrometheusRule"]["spec"]["groups"] for rule in group["rules"]]
    assert len(alerts) == len(set(alerts))


def test_a_schema_typo_is_refused():
    monitor = next(d for d in monitoring() if d["kind"] == "ServiceMonitor")
    monitor["spec"]["endpoints"][0]["bearerTokenSecrets"] = monitor["spec"]["endpoints"][0].pop("bearerTokenSecret")
    with pytest.raises(jsonschema.ValidationError, match="bearerTokenSecrets"):
        jsonschema.validate(monitor, SERVICE_MONITOR)


@pytest.mark.parametrize("overlay", ["development", "production"])
def test_the_service_monitor_scrapes_the_web_service_with_the_metrics_token(overlay):
    monitor = next(d for d in monitoring() if d["kind"] == "ServiceMonitor")
    services = [
        service
        for service in of_kind(overlay, "Service")
        if service["metadata"]["namespace"] in monitor["spec"]["namespaceSelector"]["matchNames"]
        and monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"].get("labels", {}).items()
    ]
    assert [service["metadata"]["name"] for service in services] == ["computegrant-web"]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {port["name"] for port in services[0]["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    assert endpoint["bearerTokenSecret"] == {"name": "computegrant-secrets", "key": "CG_METRICS_TOKEN"}
    assert monitor["metadata"]["namespace"] == services[0]["metadata"]["namespace"]  # the Secret's namespace


@pytest.mark.django_db
def test_every_expression_parses_and_names_only_metrics_and_values_the_portal_exports(client, settings):
    settings.CG_METRICS_TOKEN = TOKEN
    pool = PoolFactory(name="v100", capacity=4)
    quota.submit_job(make_allocation(pool=pool, hours=10), job_request())
    admission.admit_pending_jobs(pool)
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", HTTP_HOST="10.4.0.7:8000")
    assert response.status_code == 200
    families = list(text_string_to_metric_families(response.content.decode()))
    exported = {sample.name for family in families for sample in family.samples}
    # Families with no sample yet (no task has ended in this test) by the names they would have.
    exported |= {f"{family.name}_total" for family in families if family.type == "counter"}
    rule = next(d for d in monitoring() if d["kind"] == "PrometheusRule")
    named = set()
    for group in rule["spec"]["groups"]:
        for alert in group["rules"]:
            try:
                parsed = promql_parser.parse(alert["expr"])
            except ValueError as error:
                pytest.fail(f"{alert['alert']}: {error}")
            for selector in selectors(parsed):
                assert selector.name in exported, f"{alert['alert']} names {selector.name}, which /metrics lacks"
                named.add(selector.name)
                for matcher in selector.matchers.matchers:
                    allowed = LABEL_VALUES.get((selector.name, matcher.name))
                    assert allowed is not None, f"{alert['alert']}: no known values of {matcher.name}"
                    assert matcher.value in allowed, f"{alert['alert']}: {matcher.name}={matcher.value!r}"
    # What the issue asks to alert on, each with a rule.
    assert {
        "computegrant_pending_jobs",
        "computegrant_admission_wait_time_seconds_bucket",
        "computegrant_finished_jobs_total",
        "computegrant_celery_queue_length",
        "computegrant_ledger_drift_allocations",
    } <= named


def test_a_broken_expression_is_caught():
    with pytest.raises(ValueError, match="parenthesis"):
        promql_parser.parse("max by (pool) (computegrant_pending_jobs > 0")
