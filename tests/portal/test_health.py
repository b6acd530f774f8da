"""/healthz checks the database and the broker and names the one that failed."""

import pytest


@pytest.mark.django_db
def test_healthz_is_ok_when_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


@pytest.mark.django_db
def test_healthz_names_the_unreachable_broker(client, settings):
    settings.CELERY_BROKER_URL = "redis://:secret-pw@127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("broker unreachable at redis://")
    assert "secret-pw" not in body["checks"]["broker"]


@pytest.mark.django_db(transaction=True)
def test_healthz_names_the_unreachable_database(client, settings):
    from django.db import connections

    original = connections["default"].settings_dict.copy()
    connections["default"].close()
    connections["default"].settings_dict.update(HOST="127.0.0.1", PORT="1", ENGINE=original["ENGINE"])
    if original["ENGINE"].endswith("sqlite3"):
        connections["default"].settings_dict["NAME"] = "/nonexistent-dir/db.sqlite3"
    try:
        response = client.get("/healthz")
    finally:
        connections["default"].close()
        connections["default"].settings_dict.update(original)
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("database unreachable: OperationalError")
    assert response.json()["checks"]["broker"] == "ok"


@pytest.mark.django_db
def test_healthz_answers_probes_that_call_the_containers_own_address(client, settings):
    settings.ALLOWED_HOSTS = ["grants.example.org"]
    assert client.get("/healthz", HTTP_HOST="127.0.0.1:8000").status_code == 200
    assert client.get("/", HTTP_HOST="127.0.0.1:8000").status_code == 400  # every other page still checks
