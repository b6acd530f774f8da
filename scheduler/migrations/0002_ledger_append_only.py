"""On PostgreSQL, the database itself refuses to update or delete ledger entries."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION scheduler_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'scheduler_ledgerentry is append-only: add an adjusting entry instead';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER scheduler_ledger_append_only
    BEFORE UPDATE OR DELETE ON scheduler_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION scheduler_ledger_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS scheduler_ledger_append_only ON scheduler_ledgerentry;
DROP FUNCTION IF EXISTS scheduler_ledger_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("scheduler", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
