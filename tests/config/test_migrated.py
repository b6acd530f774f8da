"""A command run before `migrate` says to migrate first, instead of failing on a missing table."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import closing

import psycopg2
import pytest
from django.conf import settings

from tests.config.test_settings import run_python

# Every command of ours that reads the database, with arguments that would do something once migrated.
COMMANDS_THAT_READ_THE_DATABASE = [
    ("seed_demo",),
    ("run_example",),
    ("award", "digits", "nvidia-v100", "10"),
    ("top_up", "1", "10"),
    ("create_pool", "nvidia-v100", "--kind", "gpu", "--capacity", "8"),
    ("render_manifests", "--pool", "nvidia-v100"),
    ("render_kueue",),
]


def test_seed_demo_on_an_unmigrated_database_says_to_run_migrate_first(tmp_path):
    result = run_python("", {"CG_DATA_DIR": str(tmp_path)}, "manage.py", "seed_demo")
    assert result.returncode == 1
    assert "run `python manage.py migrate` first" in result.stderr
    assert "no such table" not in result.stderr


@pytest.fixture(scope="module")
def empty_postgres_database() -> Iterator[str]:
    """A PostgreSQL database made for this test, never migrated; its DATABASE_URL."""
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        pytest.skip("needs the PostgreSQL server the suite runs on")
    server = {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "user": db["USER"],
        "password": db.get("PASSWORD") or None,
    }
    name = f"cg_unmigrated_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(dbname="postgres", **server)
    admin.autocommit = True  # CREATE DATABASE cannot run inside a transaction
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        password = f":{server['password']}" if server["password"] else ""
        yield f"postgres://{server['user']}{password}@{server['host']}:{server['port']}/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.mark.parametrize("command", COMMANDS_THAT_READ_THE_DATABASE, ids=lambda command: command[0])
def test_each_command_on_an_empty_postgresql_database_says_to_run_migrate_first(
    command, empty_postgres_database, tmp_path
):
    env = {"CG_DATA_DIR": str(tmp_path), "DATABASE_URL": empty_postgres_database}
    result = run_python("", env, "manage.py", *command)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "run `python manage.py migrate` first" in result.stderr, result.stderr
    assert "does not exist" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    # Nothing was made: the database still holds no table.
    with closing(psycopg2.connect(empty_postgres_database)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        assert cursor.fetchone() == (0,)
