"""Large inserts check their foreign keys in one pass: the same rows, the same keys."""

import pytest
from django.db import connection

from linkwork.packages import writers
from linkwork.packages.services import load_package

from .conftest import row_counts
from .test_loading import EXPECTED_FIRST_LOAD

pytestmark = pytest.mark.django_db


def foreign_keys() -> list[tuple]:
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), "
            "condeferrable, condeferred, convalidated FROM pg_constraint WHERE contype = 'f' "
            "ORDER BY 1, 2"
        )
        return cursor.fetchall()


@pytest.fixture
def every_insert_in_bulk(monkeypatch):
    monkeypatch.setattr(writers, "BULK_ROWS", 1)


def test_a_bulk_load_gives_the_same_rows_and_keeps_every_foreign_key(
    example_package, every_insert_in_bulk
):
    keys = foreign_keys()
    report = load_package(actor=None, path=example_package)
    assert {name: c["inserted"] for name, c in report.counts.items()} == EXPECTED_FIRST_LOAD
    assert foreign_keys() == keys
    before = row_counts()
    report = load_package(actor=None, path=example_package)
    assert not report.changed
    assert row_counts() == before
    assert foreign_keys() == keys


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's foreign keys")
def test_a_bulk_insert_still_refuses_a_missing_reference(every_insert_in_bulk):
    from django.db import DatabaseError, transaction

    spec = writers.Upsert(
        "registers",
        "support_registerentry",
        "(SELECT -1 AS service_id, DATE '2025-01-06' AS session_date, -1 AS pupil_id) s",
        key={
            "service_id": "s.service_id",
            "session_date": "s.session_date",
            "pupil_id": "s.pupil_id",
        },
        data={"attended": "true"},
    )
    with pytest.raises(DatabaseError, match="foreign key"), transaction.atomic():
        writers.begin_writes(connection)
        writers.upsert(connection, spec, staged=1)
