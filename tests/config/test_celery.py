"""A real Celery worker consumes the queue: on Redis (production, CI) and the embedded broker."""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.support.celery_worker import client_app, start_worker, wait_for_pong, worker_env


@pytest.mark.django_db(transaction=True)
def test_the_configured_worker_executes_a_task_and_its_result_is_seen(celery_worker):
    probe = client_app(
        settings.CELERY_BROKER_URL, settings.CELERY_RESULT_BACKEND, settings.CELERY_BROKER_TRANSPORT_OPTIONS
    )
    result = probe.send_task("portal.tasks.ping")
    assert result.get(timeout=60) == "pong"


def test_the_embedded_filesystem_broker_round_trips_through_a_separate_worker(tmp_path, monkeypatch):
    # Celery reads these variables before any configuration: clear them to get the defaults.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.delenv("CELERY_RESULT_BACKEND", raising=False)
    env = worker_env(CG_DATA_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    folder = tmp_path / "broker"
    options = {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
    }
    worker = start_worker(env, tmp_path / "worker.log", concurrency=1)
    try:
        probe = client_app("filesystem://", f"file://{tmp_path / 'results'}", options)
        (folder / "queue").mkdir(parents=True, exist_ok=True)
        (tmp_path / "results").mkdir(exist_ok=True)
        wait_for_pong(probe, worker)
        assert probe.send_task("portal.tasks.ping").get(timeout=60) == "pong"
    finally:
        worker.stop()


def test_work_is_routed_to_queues_per_kind():
    from config.celery import app

    router = app.amqp.router
    assert router.route({}, "reproducibility.tasks.score_snapshot")["queue"].name == "scoring"
    assert router.route({}, "scheduler.runner_tasks.launch_job")["queue"].name == "launching"
    assert router.route({}, "scheduler.runner_tasks.sync_running_jobs")["queue"].name == "syncing"
    assert app.conf.task_acks_late is True
    assert app.conf.task_serializer == "json"
    assert app.conf.task_time_limit > 0
