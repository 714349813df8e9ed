"""Reading ahead on threads: order, errors, stopping, and reading on a snapshot."""

import psycopg
import pytest
from django.db import connection, transaction

from linkwork.core.threads import export_snapshot, owns_transaction, read_ahead
from linkwork.schools.models import Area


@pytest.mark.parametrize("readers", [1, 2, 3])
def test_read_ahead_yields_in_order_and_passes_errors_on(readers):
    def square(n):
        return n * n

    assert list(read_ahead(square, range(10), readers)) == [n * n for n in range(10)]

    def failing(n):
        if n == 2:
            raise ValueError("bad batch")
        return n

    seen = []
    with pytest.raises(ValueError, match="bad batch"):
        for item in read_ahead(failing, range(10), readers):
            seen.append(item)
    assert seen == [0, 1]


def test_read_ahead_stops_its_threads_when_left_early():
    produced = []

    def read(n):
        produced.append(n)
        return n

    reads = read_ahead(read, range(1000), 2)
    assert next(reads) == 0
    reads.close()
    assert len(produced) < 10  # a few ahead at most, then they stopped


on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="snapshots are exported on PostgreSQL"
)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_readers_on_a_snapshot_see_what_the_exporting_transaction_saw():
    """Rows committed after the snapshot was exported are not seen by the readers."""
    Area.objects.create(name="Before", la_code="901")
    assert owns_transaction()
    with transaction.atomic():
        snapshot = export_snapshot()
        with connection.cursor() as cursor:
            # committed by another connection after the export
            settings = connection.settings_dict
            with psycopg.connect(
                dbname=settings["NAME"],
                host=settings["HOST"] or None,
                port=settings["PORT"] or None,
                user=settings["USER"] or None,
                autocommit=True,
            ) as other:
                other.execute("INSERT INTO schools_area (name, la_code) VALUES ('After', '902')")
            cursor.execute("SELECT count(*) FROM schools_area")
            assert cursor.fetchone() == (2,)  # this transaction reads committed rows

        def names(_):
            return sorted(Area.objects.values_list("name", flat=True))

        seen = list(read_ahead(names, range(3), 2, snapshot=snapshot))
    assert seen == [["Before"]] * 3


def test_a_caller_transaction_is_not_owned(db):
    assert not owns_transaction()


def test_a_snapshot_id_is_checked_before_it_is_used():
    with pytest.raises(ValueError, match="not a snapshot id"):
        list(read_ahead(lambda n: n, range(2), 1, snapshot="x'; DROP TABLE y; --"))
