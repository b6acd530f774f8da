"""Health checks of the services the portal depends on."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from kombu import Connection


@dataclass
class HealthReport:
    checks: dict[str, str] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return all(status == "ok" for status in self.checks.values())

    def as_dict(self) -> dict[str, object]:
        return {"status": "ok" if self.healthy else "unhealthy", "checks": self.checks}


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "unreachable" to an operator
        return f"database unreachable: {exc.__class__.__name__}: {exc}".strip()
    return "ok"


def check_broker(timeout: int = 2) -> str:
    url = settings.CELERY_BROKER_URL
    try:
        with Connection(
            url, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS, connect_timeout=timeout
        ) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
    except Exception as exc:
        return f"broker unreachable at {conn_display(url)}: {exc.__class__.__name__}: {exc}"
    return "ok"


def conn_display(url: str) -> str:
    """The broker URL without its password, for messages."""
    return Connection(url).as_uri(include_password=False)


def check_services() -> HealthReport:
    return HealthReport(checks={"database": check_database(), "broker": check_broker()})
