import pytest
from django.db import DatabaseError, connection, transaction

from linkwork.audit.services import record


@pytest.fixture
def entry(manager):
    return record(actor=manager, action="test.recorded", summary="kept for ever")


@pytest.mark.django_db
@pytest.mark.skipif(
    connection.vendor not in ("postgresql", "sqlite"), reason="trigger on PostgreSQL and SQLite"
)
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditentry SET summary = 'rewritten' WHERE id = %s",
        "DELETE FROM audit_auditentry WHERE id = %s",
    ],
)
def test_audit_entries_cannot_be_updated_or_deleted(entry, statement):
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [entry.pk])
    entry.refresh_from_db()
    assert entry.summary == "kept for ever"


@pytest.mark.django_db
def test_orm_update_and_delete_are_refused_too(entry):
    with pytest.raises(DatabaseError), transaction.atomic():
        type(entry).objects.filter(pk=entry.pk).update(summary="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        entry.delete()
    assert type(entry).objects.filter(pk=entry.pk, summary="kept for ever").exists()
