"""Reading ahead on threads: order, errors, stopping, and reading on a snapshot."""

import psycopg
import pytest
from django.db import connection, transaction

from linkwork.core.threads import CopyInBatches, export_snapshot, owns_transaction, read_ahead
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


def _areas():
    return list(Area.objects.order_by("la_code").values_list("name", "la_code"))


@on_postgresql
def test_rows_copied_in_batches_arrive_in_order_in_the_callers_transaction(db):
    with CopyInBatches("COPY schools_area (name, la_code) FROM STDIN", size=3) as copy:
        for n in range(10):
            copy.write_row((f"Area {n}", f"{n:03d}"))
    assert _areas() == [(f"Area {n}", f"{n:03d}") for n in range(10)]


@on_postgresql
def test_a_batch_refused_is_raised_to_the_caller_and_nothing_after_it_is_sent(db):
    with pytest.raises(psycopg.errors.UniqueViolation), transaction.atomic():
        with CopyInBatches("COPY schools_area (name, la_code) FROM STDIN", size=2) as copy:
            for n in range(10):
                copy.write_row(("Same name", f"{n:03d}"))
    assert _areas() == []


@on_postgresql
def test_an_error_while_making_rows_stops_the_thread(db):
    with pytest.raises(ValueError), transaction.atomic():
        with CopyInBatches("COPY schools_area (name, la_code) FROM STDIN", size=2) as copy:
            copy.write_row(("One", "001"))
            copy.write_row(("Two", "002"))
            raise ValueError("the rows could not be made")
    assert _areas() == []


@on_postgresql
def test_immediate_constraints_are_deferred_again_after(db):
    from linkwork.people.models import Cohort

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'f' "
            "AND conrelid = 'people_enrolment'::regclass "
            "AND confrelid = 'people_cohort'::regclass"
        )
        (name,) = cursor.fetchone()
    cohort = Cohort.objects.create(code="2026")
    with CopyInBatches("COPY schools_area (name, la_code) FROM STDIN", immediate=(name,)):
        pass
    with connection.cursor() as cursor:
        # deferred again: a row pointing nowhere is refused only at the end
        with transaction.atomic():
            cursor.execute(
                "INSERT INTO people_enrolment (pupil_id, cohort_id, enrolled_on, end_reason) "
                "VALUES (%s, %s, '2026-09-01', '')",
                [999999, cohort.pk + 1000],
            )
            cursor.execute("DELETE FROM people_enrolment WHERE pupil_id = 999999")
