"""Commands that read the database check first that it is migrated, and say what to run if not
(else the first query fails with "no such table" or "relation does not exist")."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

NOT_MIGRATED = "The database has {count} migration(s) to apply: run `python manage.py migrate` first."


def require_migrated(database: str = DEFAULT_DB_ALIAS) -> None:
    """Raise CommandError naming `manage.py migrate` when any migration is unapplied."""
    executor = MigrationExecutor(connections[database])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise CommandError(NOT_MIGRATED.format(count=len(plan)))
