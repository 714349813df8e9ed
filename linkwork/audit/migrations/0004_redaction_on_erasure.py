import importlib

from django.db import migrations, models

_BEFORE = importlib.import_module("linkwork.audit.migrations.0003_append_only_on_sqlite")

# The triggers of 0002 and 0003 again, letting through the one update an erasure makes:
# an entry not yet redacted gets an empty summary and changes and a `redacted_at`, and
# every other column stays as it was.
POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL
       AND NEW.summary = '' AND NEW.changes = '{}'::jsonb
       AND (NEW.id, NEW.at, NEW.actor_id, NEW.actor_label, NEW.action, NEW.object_type,
            NEW.object_id, NEW.pupil_id)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.at, OLD.actor_id, OLD.actor_label, OLD.action, OLD.object_type,
            OLD.object_id, OLD.pupil_id)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit entries are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""

POSTGRES_FUNCTION_BEFORE = """
CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""

SQLITE_UPDATE = """
CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_auditentry
WHEN NOT (
    OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL
    AND NEW.summary = '' AND NEW.changes = '{}'
    AND NEW.id IS OLD.id AND NEW.at IS OLD.at AND NEW.actor_id IS OLD.actor_id
    AND NEW.actor_label IS OLD.actor_label AND NEW.action IS OLD.action
    AND NEW.object_type IS OLD.object_type AND NEW.object_id IS OLD.object_id
    AND NEW.pupil_id IS OLD.pupil_id
)
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only (UPDATE refused)'); END
"""

SQLITE_UPDATE_BEFORE = """
CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_auditentry
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only (UPDATE refused)'); END
"""


# Every SQLite trigger on the table as this migration leaves it (the tests' flush lifts
# and puts back these).
CREATE = [SQLITE_UPDATE, _BEFORE.CREATE[1]]
DROP = _BEFORE.DROP


def _triggers(function: str, sqlite_update: str):
    def apply(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            schema_editor.execute(function, params=None)
        elif vendor == "sqlite":
            schema_editor.execute("DROP TRIGGER IF EXISTS audit_entry_no_update", params=None)
            schema_editor.execute(sqlite_update, params=None)

    return apply


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_append_only_on_sqlite")]
    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="redacted_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When the summary and changes were cleared because the child was erased.",
                null=True,
            ),
        ),
        migrations.RunPython(
            _triggers(POSTGRES_FUNCTION, SQLITE_UPDATE),
            _triggers(POSTGRES_FUNCTION_BEFORE, SQLITE_UPDATE_BEFORE),
        ),
    ]
