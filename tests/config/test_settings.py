"""Settings come from the environment, with safe defaults and a production that refuses to guess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_SECRET = "a-long-random-production-secret-0123456789-abcdefghijklmnopqrstuvwxyz-XYZ"

DUMP_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "engine": s.DATABASES["default"]["ENGINE"], "db_name": str(s.DATABASES["default"]["NAME"]),
    "broker": s.CELERY_BROKER_URL, "backend": s.CELERY_RESULT_BACKEND, "debug": s.DEBUG,
    "secret": s.SECRET_KEY, "hosts": s.ALLOWED_HOSTS, "email": s.EMAIL_BACKEND,
    "artifacts": str(s.CG_ARTIFACTS_ROOT), "hsts": getattr(s, "SECURE_HSTS_SECONDS", 0),
    "secure_cookie": s.SESSION_COOKIE_SECURE,
}))
"""


def run_python(code: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "CG_", "DATABASE_"))}
    base.update(env)
    base["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return subprocess.run(
        [sys.executable, *(["-c", code] if code else []), *args],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_environment_the_defaults_are_sqlite_a_local_broker_and_console_email(tmp_path):
    result = run_python(DUMP_SETTINGS, {"CG_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["db_name"] == str(tmp_path / "computegrant.sqlite3")
    assert values["broker"] == "filesystem://"
    assert values["backend"].startswith("file://")
    assert values["debug"] is True
    assert values["email"] == "django.core.mail.backends.console.EmailBackend"
    assert values["artifacts"] == str(tmp_path / "artifacts")
    assert (tmp_path / "broker" / "queue").is_dir()


def test_the_embedded_defaults_migrate_and_load_the_demo(tmp_path):
    """`make run`'s path on SQLite: every migration applies there too (PostgreSQL-only SQL would not),
    the ranking index included, the demo data loads, and a call's ranking reads."""
    env = {"CG_DATA_DIR": str(tmp_path)}
    for command in (["migrate", "--noinput", "-v0"], ["seed_demo"]):
        result = run_python("", env, "manage.py", *command)
        assert result.returncode == 0, result.stderr
    ranking = run_python(
        "import django; django.setup()\n"
        "from django.db import connection\nfrom portal.models import Call\nfrom portal.services import decisions\n"
        "print(list(decisions.ranked_applications(Call.objects.get())))\n"
        "with connection.cursor() as cursor:\n"
        "    print(sorted(connection.introspection.get_constraints(cursor, 'portal_application')))",
        env,
    )
    assert ranking.returncode == 0, ranking.stderr
    assert "application_ranking" in ranking.stdout


def test_the_wsgi_entry_point_freezes_its_start_up_heap(tmp_path):
    """gunicorn's workers keep their start-up objects out of the collector's full passes (config/heap.py)."""
    result = run_python(
        "import gc, config.wsgi\nprint(gc.get_freeze_count(), len(gc.get_objects()))", {"CG_DATA_DIR": str(tmp_path)}
    )
    assert result.returncode == 0, result.stderr
    frozen, tracked = map(int, result.stdout.split()[-2:])
    assert frozen > 10_000 and tracked < frozen / 10


def test_environment_selects_postgresql_and_redis(tmp_path):
    env = {
        "CG_DATA_DIR": str(tmp_path),
        "DATABASE_URL": "postgres://cg:pw@db.internal:5433/grants",
        "CELERY_BROKER_URL": "redis://cache.internal:6379/3",
        "CG_ARTIFACTS_ROOT": str(tmp_path / "elsewhere"),
    }
    values = json.loads(run_python(DUMP_SETTINGS, env).stdout.strip().splitlines()[-1])
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["db_name"] == "grants"
    assert values["broker"] == "redis://cache.internal:6379/3"
    assert values["backend"] == "redis://cache.internal:6379/3"
    assert values["artifacts"] == str(tmp_path / "elsewhere")


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = run_python(DUMP_SETTINGS, {"CG_DATA_DIR": str(tmp_path), "DJANGO_ENV": "production"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_production_refuses_the_development_secret_key(tmp_path):
    env = {
        "CG_DATA_DIR": str(tmp_path),
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": "django-insecure-development-only-never-use-in-production",
    }
    result = run_python(DUMP_SETTINGS, env)
    assert result.returncode != 0
    assert "development key" in result.stderr


def test_a_malformed_boolean_is_a_clear_error(tmp_path):
    result = run_python(DUMP_SETTINGS, {"CG_DATA_DIR": str(tmp_path), "DJANGO_DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be a boolean" in result.stderr


def test_production_settings_are_secure(tmp_path):
    env = {
        "CG_DATA_DIR": str(tmp_path),
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": PRODUCTION_SECRET,
        "DJANGO_ALLOWED_HOSTS": "grants.example.org",
    }
    values = json.loads(run_python(DUMP_SETTINGS, env).stdout.strip().splitlines()[-1])
    assert values["debug"] is False
    assert values["hosts"] == ["grants.example.org"]
    assert values["hsts"] >= 31536000
    assert values["secure_cookie"] is True


@pytest.mark.slow
def test_check_deploy_with_production_settings_reports_no_warnings(tmp_path):
    env = {
        "CG_DATA_DIR": str(tmp_path),
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": PRODUCTION_SECRET,
        "DJANGO_ALLOWED_HOSTS": "grants.example.org",
    }
    result = run_python("", env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
