"""Fixtures shared by the whole suite: users per role and a real Celery worker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from tests.support.celery_worker import WorkerProcess, client_app, settle, start_worker, wait_for_pong, worker_env


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    """Tests make hundreds of users: hash their passwords cheaply (PBKDF2 costs 0.5 s per user here).

    The production hashers are Django's defaults; nothing in the tests depends on their cost."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _no_admission_on_submit(settings):  # type: ignore[no-untyped-def]
    """Jobs stay queued until a test admits them: with a shared live worker, an admission sent on
    every submission would admit and launch other tests' jobs behind their backs. The tests of
    that trigger turn it on (tests/scheduler/test_faults.py)."""
    settings.CG_ADMIT_ON_SUBMIT = False


def _make_user(django_user_model, username: str, role: str | None, **extra):  # type: ignore[no-untyped-def]
    from portal.access import roles

    user = django_user_model.objects.create_user(
        username=username, email=f"{username}@example.org", password="a-strong-test-pass-1", **extra
    )
    if role:
        roles.assign_role(user, role)
    return user


@pytest.fixture
def make_user(django_user_model):  # type: ignore[no-untyped-def]
    def factory(username: str, role: str | None = "applicant", **extra):  # type: ignore[no-untyped-def]
        return _make_user(django_user_model, username, role, **extra)

    return factory


@pytest.fixture
def applicant(make_user):  # type: ignore[no-untyped-def]
    return make_user("ada", "applicant", affiliation="Open Digits Lab")


@pytest.fixture
def reviewer(make_user):  # type: ignore[no-untyped-def]
    return make_user("rosa", "reviewer", affiliation="Review Institute")


@pytest.fixture
def maintainer(make_user):  # type: ignore[no-untyped-def]
    return make_user("max", "maintainer", affiliation="ComputeGrant")


def _test_database_url() -> str:
    """A DATABASE_URL for the test database, so worker processes use the same data as the test."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def worker_mail_folder_path(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    return worker_mail_folder(tmp_path_factory)


def worker_mail_folder(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    folder = Path(tmp_path_factory.getbasetemp()) / "worker-mail"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture
def sent_mail(celery_worker, worker_mail_folder_path):  # type: ignore[no-untyped-def]
    """A function that waits for `count` messages the real worker sent since its last call (or the test's start)."""
    import time
    from email import message_from_string

    from config.celery import app

    settle(app)
    seen = {p.name for p in worker_mail_folder_path.iterdir()}

    def wait_for(count: int, timeout: float = 30.0) -> list:  # type: ignore[type-arg]
        deadline = time.monotonic() + timeout
        while True:
            # The file backend ends each message with a line of dashes: a file without it is still
            # being written (read too early, it once parsed as a message with no headers).
            new = [
                p
                for p in sorted(worker_mail_folder_path.iterdir())
                if p.name not in seen and p.read_text().rstrip("\n").endswith("-" * 79)
            ]
            messages = [message_from_string(p.read_text()) for p in new]
            # The file backend separates the messages of one connection by a line of dashes.
            if len(messages) >= count or time.monotonic() > deadline:
                seen.update(p.name for p in new)
                return messages
            time.sleep(0.1)

    return wait_for


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[WorkerProcess]:  # type: ignore[no-untyped-def]
    """A real Celery worker process on the configured broker, reading the test database.

    Tests that use it must use `transactional_db` so the worker sees committed rows.
    """
    from config.celery import app

    with django_db_blocker.unblock():
        app.control.purge()  # messages left by an interrupted earlier run
    env = worker_env(
        DATABASE_URL=_test_database_url(),
        # The worker writes where the test reads.
        CG_ARTIFACTS_ROOT=str(settings.CG_ARTIFACTS_ROOT),
        CG_SNAPSHOTS_ROOT=str(settings.CG_SNAPSHOTS_ROOT),
        # Mail the worker sends lands in files the tests read (see `sent_mail`).
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        DJANGO_EMAIL_FILE_PATH=str(worker_mail_folder(tmp_path_factory)),
    )
    worker = start_worker(env, Path(tmp_path_factory.mktemp("celery")) / "worker.log")
    try:
        probe = client_app(
            settings.CELERY_BROKER_URL,
            settings.CELERY_RESULT_BACKEND,
            settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        )
        wait_for_pong(probe, worker)
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def browser(monkeypatch):  # type: ignore[no-untyped-def]
    """Debian's Chromium driven by Playwright (never a downloaded browser build)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's guard would refuse the
    # test thread's own queries (the live server's thread is unaffected).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        try:
            yield browser
        finally:
            browser.close()
            # While an event loop runs (Playwright's does), Django keeps connections in context-local
            # storage, not the thread-local one pytest-django closes at teardown: close them here, or the
            # test database stays busy and cannot be dropped.
            connections.close_all()


def pytest_report_header(config):  # type: ignore[no-untyped-def]
    return [
        f"database: {os.environ.get('DATABASE_URL', 'sqlite (default)')}",
        f"broker: {os.environ.get('CELERY_BROKER_URL', 'filesystem (default)')}",
    ]
