"""Claim lines: no index of their own on the claim (the (claim, position) key serves it);
and on PostgreSQL, lines added to or deleted from a submitted claim are refused once per
statement, over the rows it changed, instead of once per row (a draft's tens of thousands
of lines are written, and replaced, in one statement). A line's update is still checked
row by row: the one change let through (0004) is decided per line. SQLite remakes the
table to drop the index, so its triggers (0004's) are dropped first and made again."""

import importlib

import django.db.models.deletion
from django.db import migrations, models

_FIRST = importlib.import_module("linkwork.contracts.migrations.0003_submitted_claims_immutable")
_BEFORE = importlib.import_module("linkwork.contracts.migrations.0004_payment_evidence_removal")

POSTGRES_CREATE = [
    # The row trigger of 0003/0004, now for updates only (its function is unchanged).
    "DROP TRIGGER IF EXISTS contracts_claimline_frozen ON contracts_claimline",
    """
    CREATE TRIGGER contracts_claimline_frozen BEFORE UPDATE ON contracts_claimline
    FOR EACH ROW EXECUTE FUNCTION contracts_claimline_frozen()
    """,
    """
    CREATE OR REPLACE FUNCTION contracts_claimline_frozen_rows() RETURNS trigger AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM changed_lines l JOIN contracts_claim c ON c.id = l.claim_id
                   WHERE c.status <> 'draft') THEN
            RAISE EXCEPTION 'a submitted claim never changes (% of a line refused)', TG_OP;
        END IF;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER contracts_claimline_frozen_insert AFTER INSERT ON contracts_claimline
    REFERENCING NEW TABLE AS changed_lines
    FOR EACH STATEMENT EXECUTE FUNCTION contracts_claimline_frozen_rows()
    """,
    """
    CREATE TRIGGER contracts_claimline_frozen_delete AFTER DELETE ON contracts_claimline
    REFERENCING OLD TABLE AS changed_lines
    FOR EACH STATEMENT EXECUTE FUNCTION contracts_claimline_frozen_rows()
    """,
]

POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS contracts_claimline_frozen_insert ON contracts_claimline",
    "DROP TRIGGER IF EXISTS contracts_claimline_frozen_delete ON contracts_claimline",
    "DROP FUNCTION IF EXISTS contracts_claimline_frozen_rows()",
    "DROP TRIGGER IF EXISTS contracts_claimline_frozen ON contracts_claimline",
    """
    CREATE TRIGGER contracts_claimline_frozen BEFORE INSERT OR UPDATE OR DELETE
    ON contracts_claimline FOR EACH ROW EXECUTE FUNCTION contracts_claimline_frozen()
    """,
]


def _run(schema_editor, by_vendor: dict) -> None:
    for statement in by_vendor.get(schema_editor.connection.vendor, ()):
        schema_editor.execute(statement, params=None)


def sqlite_triggers_dropped(apps, schema_editor):
    _run(schema_editor, {"sqlite": _FIRST.SQLITE_DROP})


def sqlite_triggers_made(apps, schema_editor):
    _run(schema_editor, {"sqlite": _BEFORE.SQLITE_CREATE})


def forwards(apps, schema_editor):
    _run(schema_editor, {"postgresql": POSTGRES_CREATE})


def backwards(apps, schema_editor):
    _run(schema_editor, {"postgresql": POSTGRES_DROP})


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0006_payments_in_parts"),
    ]

    operations = [
        migrations.RunPython(sqlite_triggers_dropped, sqlite_triggers_made),
        migrations.AlterField(
            model_name="claimline",
            name="claim",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="lines",
                to="contracts.claim",
            ),
        ),
        migrations.RunPython(sqlite_triggers_made, sqlite_triggers_dropped),
        migrations.RunPython(forwards, backwards),
    ]
