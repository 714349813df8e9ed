"""The end of a contract's audit period: the triggers of 0003 again, letting through the
one change that removes a submitted line's UPN and evidence (once, every other column as
it was), and the deletion of a claimed achievement whose line's evidence is removed."""

import importlib

from django.db import migrations, models

_BEFORE = importlib.import_module("linkwork.contracts.migrations.0003_submitted_claims_immutable")

# A line's UPN and evidence emptied, `evidence_removed_at` set, nothing else changed.
SQLITE_REMOVAL = """
    OLD.evidence_removed_at IS NULL AND NEW.evidence_removed_at IS NOT NULL
    AND NEW.upn = '' AND NEW.evidence = '[]'
    AND NEW.id IS OLD.id AND NEW.claim_id IS OLD.claim_id AND NEW.position IS OLD.position
    AND NEW.kind IS OLD.kind AND NEW."trigger" IS OLD."trigger"
    AND NEW.instance IS OLD.instance AND NEW.achieved_on IS OLD.achieved_on
    AND NEW.amount IS OLD.amount AND NEW.portions IS OLD.portions
"""

SQLITE_CREATE = [
    statement
    for statement in _BEFORE.SQLITE_CREATE
    if "contracts_claimline_frozen_update" not in statement
    and "contracts_claimed_kept" not in statement
] + [
    f"""
    CREATE TRIGGER contracts_claimline_frozen_update BEFORE UPDATE ON contracts_claimline
    FOR EACH ROW WHEN ((SELECT status FROM contracts_claim WHERE id = OLD.claim_id) <> 'draft'
        OR (SELECT status FROM contracts_claim WHERE id = NEW.claim_id) <> 'draft')
        AND NOT ({SQLITE_REMOVAL})
    BEGIN SELECT RAISE(ABORT, 'a submitted claim never changes'); END
    """,
    """
    CREATE TRIGGER contracts_claimed_kept BEFORE DELETE ON contracts_claimedachievement
    FOR EACH ROW WHEN (
        SELECT evidence_removed_at FROM contracts_claimline WHERE id = OLD.line_id
    ) IS NULL
    BEGIN SELECT RAISE(ABORT, 'claimed achievements are never deleted'); END
    """,
]

POSTGRES_CREATE = [
    """
    CREATE OR REPLACE FUNCTION contracts_claimline_frozen() RETURNS trigger AS $$
    DECLARE
        claim_status text;
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            SELECT status INTO claim_status FROM contracts_claim WHERE id = OLD.claim_id;
            IF claim_status IS NOT NULL AND claim_status <> 'draft' THEN
                IF TG_OP = 'UPDATE'
                   AND OLD.evidence_removed_at IS NULL AND NEW.evidence_removed_at IS NOT NULL
                   AND NEW.upn = '' AND NEW.evidence = '[]'::jsonb
                   AND (NEW.id, NEW.claim_id, NEW.position, NEW.kind, NEW."trigger",
                        NEW.instance, NEW.achieved_on, NEW.amount, NEW.portions)
                       IS NOT DISTINCT FROM
                       (OLD.id, OLD.claim_id, OLD.position, OLD.kind, OLD."trigger",
                        OLD.instance, OLD.achieved_on, OLD.amount, OLD.portions)
                THEN
                    RETURN NEW;
                END IF;
                RAISE EXCEPTION 'a submitted claim never changes (% of a line refused)', TG_OP;
            END IF;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            SELECT status INTO claim_status FROM contracts_claim WHERE id = NEW.claim_id;
            IF claim_status IS NOT NULL AND claim_status <> 'draft' THEN
                RAISE EXCEPTION 'a submitted claim never changes (% of a line refused)', TG_OP;
            END IF;
            RETURN NEW;
        END IF;
        RETURN OLD;
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE OR REPLACE FUNCTION contracts_claimed_release_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            IF EXISTS (SELECT 1 FROM contracts_claimline
                       WHERE id = OLD.line_id AND evidence_removed_at IS NOT NULL) THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION 'claimed achievements are never deleted';
        END IF;
        IF NOT (OLD.released_by_id IS NULL AND NEW.released_by_id IS NOT NULL
                AND (NEW.id, NEW.line_id, NEW.contract_code, NEW.upn, NEW."trigger",
                     NEW.instance)
                    = (OLD.id, OLD.line_id, OLD.contract_code, OLD.upn, OLD."trigger",
                       OLD.instance)) THEN
            RAISE EXCEPTION 'a claimed achievement may only be released, once';
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
    """,
]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for statement in [*_BEFORE.SQLITE_DROP, *SQLITE_CREATE]:
            schema_editor.execute(statement, params=None)
    elif vendor == "postgresql":
        # The functions are replaced; the triggers calling them stay.
        for statement in POSTGRES_CREATE:
            schema_editor.execute(statement, params=None)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for statement in [*_BEFORE.SQLITE_DROP, *_BEFORE.SQLITE_CREATE]:
            schema_editor.execute(statement, params=None)
    elif vendor == "postgresql":
        for statement in _BEFORE.POSTGRES_CREATE:
            if "CREATE OR REPLACE FUNCTION" in statement:
                schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0003_submitted_claims_immutable"),
    ]

    operations = [
        migrations.AddField(
            model_name="claimline",
            name="evidence_removed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(forwards, backwards),
    ]
