"""/metrics for Prometheus, behind a bearer token (CG_METRICS_TOKEN; unset: 404).

Request latency by view (a histogram per process; gunicorn's workers share it through
prometheus_client's multiprocess files when PROMETHEUS_MULTIPROC_DIR is set), Celery queue
lengths and task outcomes (counted in Redis by the workers), and the scheduler's state
(scheduler.metrics, read from the database at each scrape).
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger(__name__)
TASKS_KEY = "computegrant:metrics:tasks"
REQUEST_LATENCY = Histogram(
    "computegrant_http_request_duration_seconds",
    "Time to answer a request, by view and method.",
    ["view", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def _redis_client(connection: Any) -> Any:
    """The Redis client under a kombu connection, or None for another transport."""
    if connection.transport.driver_type != "redis":
        return None
    return connection.default_channel.client


def _queue_length(connection: Any, queue: str, *, redis: bool) -> int:
    channel = connection.default_channel
    if redis:
        # kombu keeps a Redis queue as one list per priority step; _size sums them. A passive
        # declare would refuse a queue no worker has bound yet instead of answering 0.
        return int(channel._size(queue))
    return int(channel.queue_declare(queue=queue, passive=True).message_count)


class CeleryCollector:
    """Messages waiting in each queue and task outcomes; the broker down is a metric, not an error."""

    def collect(self) -> Iterator[Metric]:
        from config.celery import app

        lengths = GaugeMetricFamily("computegrant_celery_queue_length", "Messages waiting.", labels=["queue"])
        outcomes = CounterMetricFamily(
            "computegrant_celery_tasks", "Celery tasks ended, by task and outcome.", labels=["task", "outcome"]
        )
        up = GaugeMetricFamily("computegrant_celery_broker_up", "1 if the broker answered this scrape.")
        try:
            with app.connection_for_read() as connection:
                client = _redis_client(connection)
                for queue in settings.CELERY_WORKER_QUEUES:
                    lengths.add_metric([queue], _queue_length(connection, queue, redis=client is not None))
                counted = client.hgetall(TASKS_KEY) if client is not None else {}
            for field, value in sorted(counted.items()):
                task, _, outcome = field.decode().rpartition("|")
                outcomes.add_metric([task, outcome], int(value))
            up.add_metric([], 1)
        except Exception as error:  # the scrape still answers, saying the broker is down
            log.warning("metrics: the broker did not answer: %s", error)
            up.add_metric([], 0)
        yield from (lengths, outcomes, up)


def count_task_outcome(task_name: str, outcome: str) -> None:
    """Called by the workers' task signals: one HINCRBY, nothing if the broker is not Redis."""
    from config.celery import app

    try:
        with app.pool.acquire(block=True, timeout=2) as connection:
            client = _redis_client(connection)
            if client is not None:
                client.hincrby(TASKS_KEY, f"{task_name}|{outcome}", 1)
    except Exception as error:  # a metric is never worth failing a task for
        log.debug("metrics: task outcome not counted: %s", error)


_STATE_REGISTRY = CollectorRegistry(auto_describe=False)


def _state_registry() -> CollectorRegistry:
    if not getattr(_state_registry, "ready", False):
        from scheduler.metrics import SchedulerCollector

        _STATE_REGISTRY.register(SchedulerCollector())  # type: ignore[arg-type]
        _STATE_REGISTRY.register(CeleryCollector())  # type: ignore[arg-type]
        _state_registry.ready = True  # type: ignore[attr-defined]
    return _STATE_REGISTRY


def exposition() -> bytes:
    """Everything, in Prometheus' text format."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        process_registry = CollectorRegistry()
        MultiProcessCollector(process_registry)
    else:
        process_registry = REGISTRY
    return generate_latest(process_registry) + generate_latest(_state_registry())


def authorised(request: HttpRequest) -> bool:
    token = settings.CG_METRICS_TOKEN
    offered = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(offered.encode(), f"Bearer {token}".encode())


def serve_metrics(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """Answer /metrics before host validation (Prometheus scrapes the pod's address) and time every
    other request by the view that answered it."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.path_info == "/metrics":
            if not settings.CG_METRICS_TOKEN:
                return HttpResponse("Not found", status=404, content_type="text/plain")
            if not authorised(request):
                response = HttpResponse("A bearer token is required.", status=401, content_type="text/plain")
                response["WWW-Authenticate"] = 'Bearer realm="metrics"'
                return response
            return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
        started = time.perf_counter()
        response = get_response(request)
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match is not None else "unresolved"
        REQUEST_LATENCY.labels(view, request.method or "").observe(time.perf_counter() - started)
        return response

    return middleware
