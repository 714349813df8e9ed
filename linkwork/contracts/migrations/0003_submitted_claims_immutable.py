"""The database refuses any change to a submitted claim, its lines, and the register of
claimed achievements (which may only be released, once, by an adjustment)."""

from django.db import migrations

SQLITE_CREATE = [
    """
    CREATE TRIGGER contracts_claim_frozen_update BEFORE UPDATE ON contracts_claim
    FOR EACH ROW WHEN OLD.status <> 'draft' AND NOT (
        OLD.status = 'submitted' AND NEW.status = 'paid'
        AND NEW.id = OLD.id AND NEW.contract_id = OLD.contract_id
        AND NEW.contract_code = OLD.contract_code AND NEW.period_code = OLD.period_code
        AND NEW.total = OLD.total AND NEW.payer_totals = OLD.payer_totals
        AND NEW.computed_at = OLD.computed_at AND NEW.submitted_at IS OLD.submitted_at
        AND NEW.submitted_by_id IS OLD.submitted_by_id)
    BEGIN SELECT RAISE(ABORT, 'a submitted claim never changes'); END
    """,
    """
    CREATE TRIGGER contracts_claim_frozen_delete BEFORE DELETE ON contracts_claim
    FOR EACH ROW WHEN OLD.status <> 'draft'
    BEGIN SELECT RAISE(ABORT, 'a submitted claim is never deleted'); END
    """,
    """
    CREATE TRIGGER contracts_claimline_frozen_insert BEFORE INSERT ON contracts_claimline
    FOR EACH ROW WHEN (SELECT status FROM contracts_claim WHERE id = NEW.claim_id) <> 'draft'
    BEGIN SELECT RAISE(ABORT, 'a submitted claim never changes'); END
    """,
    """
    CREATE TRIGGER contracts_claimline_frozen_update BEFORE UPDATE ON contracts_claimline
    FOR EACH ROW WHEN (SELECT status FROM contracts_claim WHERE id = OLD.claim_id) <> 'draft'
        OR (SELECT status FROM contracts_claim WHERE id = NEW.claim_id) <> 'draft'
    BEGIN SELECT RAISE(ABORT, 'a submitted claim never changes'); END
    """,
    """
    CREATE TRIGGER contracts_claimline_frozen_delete BEFORE DELETE ON contracts_claimline
    FOR EACH ROW WHEN (SELECT status FROM contracts_claim WHERE id = OLD.claim_id) <> 'draft'
    BEGIN SELECT RAISE(ABORT, 'a submitted claim never changes'); END
    """,
    """
    CREATE TRIGGER contracts_claimed_kept BEFORE DELETE ON contracts_claimedachievement
    FOR EACH ROW
    BEGIN SELECT RAISE(ABORT, 'claimed achievements are never deleted'); END
    """,
    """
    CREATE TRIGGER contracts_claimed_release_only BEFORE UPDATE ON contracts_claimedachievement
    FOR EACH ROW WHEN NOT (
        OLD.released_by_id IS NULL AND NEW.released_by_id IS NOT NULL
        AND NEW.id = OLD.id AND NEW.line_id = OLD.line_id
        AND NEW.contract_code = OLD.contract_code AND NEW.upn = OLD.upn
        AND NEW."trigger" = OLD."trigger" AND NEW.instance = OLD.instance)
    BEGIN SELECT RAISE(ABORT, 'a claimed achievement may only be released, once'); END
    """,
]

SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {name}"
    for name in (
        "contracts_claim_frozen_update",
        "contracts_claim_frozen_delete",
        "contracts_claimline_frozen_insert",
        "contracts_claimline_frozen_update",
        "contracts_claimline_frozen_delete",
        "contracts_claimed_kept",
        "contracts_claimed_release_only",
    )
]

POSTGRES_CREATE = [
    """
    CREATE OR REPLACE FUNCTION contracts_claim_frozen() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            IF OLD.status <> 'draft' THEN
                RAISE EXCEPTION 'a submitted claim is never deleted (claim %)', OLD.id;
            END IF;
            RETURN OLD;
        END IF;
        IF OLD.status <> 'draft' AND NOT (
            OLD.status = 'submitted' AND NEW.status = 'paid'
            AND (NEW.id, NEW.contract_id, NEW.contract_code, NEW.period_code, NEW.total,
                 NEW.computed_at, NEW.submitted_at, NEW.submitted_by_id)
                IS NOT DISTINCT FROM
                (OLD.id, OLD.contract_id, OLD.contract_code, OLD.period_code, OLD.total,
                 OLD.computed_at, OLD.submitted_at, OLD.submitted_by_id)
            AND NEW.payer_totals IS NOT DISTINCT FROM OLD.payer_totals) THEN
            RAISE EXCEPTION 'a submitted claim never changes (claim %)', OLD.id;
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER contracts_claim_frozen BEFORE UPDATE OR DELETE ON contracts_claim
    FOR EACH ROW EXECUTE FUNCTION contracts_claim_frozen()
    """,
    """
    CREATE OR REPLACE FUNCTION contracts_claimline_frozen() RETURNS trigger AS $$
    DECLARE
        claim_status text;
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            SELECT status INTO claim_status FROM contracts_claim WHERE id = OLD.claim_id;
            IF claim_status IS NOT NULL AND claim_status <> 'draft' THEN
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
    CREATE TRIGGER contracts_claimline_frozen BEFORE INSERT OR UPDATE OR DELETE
    ON contracts_claimline FOR EACH ROW EXECUTE FUNCTION contracts_claimline_frozen()
    """,
    """
    CREATE OR REPLACE FUNCTION contracts_claimed_release_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
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
    """
    CREATE TRIGGER contracts_claimed_release_only BEFORE UPDATE OR DELETE
    ON contracts_claimedachievement FOR EACH ROW
    EXECUTE FUNCTION contracts_claimed_release_only()
    """,
]

POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS contracts_claim_frozen ON contracts_claim",
    "DROP FUNCTION IF EXISTS contracts_claim_frozen()",
    "DROP TRIGGER IF EXISTS contracts_claimline_frozen ON contracts_claimline",
    "DROP FUNCTION IF EXISTS contracts_claimline_frozen()",
    "DROP TRIGGER IF EXISTS contracts_claimed_release_only ON contracts_claimedachievement",
    "DROP FUNCTION IF EXISTS contracts_claimed_release_only()",
]

STATEMENTS = {
    "sqlite": (SQLITE_CREATE, SQLITE_DROP),
    "postgresql": (POSTGRES_CREATE, POSTGRES_DROP),
}


def forwards(apps, schema_editor):
    create, _ = STATEMENTS.get(schema_editor.connection.vendor, ([], []))
    for statement in create:
        schema_editor.execute(statement, params=None)


def backwards(apps, schema_editor):
    _, drop = STATEMENTS.get(schema_editor.connection.vendor, ([], []))
    for statement in drop:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("contracts", "0002_claimed_achievements_one_claim_per_period")]
    operations = [migrations.RunPython(forwards, backwards)]
