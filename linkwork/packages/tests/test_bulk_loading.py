"""Big loads: straight into empty tables, indexes and keys made again after, and the same
rows, keys and refusals as row-by-row loading."""

import pytest
from django.db import connection

from linkwork.audit.models import AuditEntry
from linkwork.packages import writers
from linkwork.packages.services import PackageInvalid, export_package, load_package

from .conftest import row_counts, wipe_loaded_rows
from .test_export import SMALL_ZONE, package_bytes, write_package
from .test_loading import BAD_INPUT, EXPECTED_FIRST_LOAD, append

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the bulk paths are PostgreSQL's"
)


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


def schema() -> list[tuple]:
    """Every constraint and index of the database, as defined."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid), "
            "condeferrable, condeferred, convalidated FROM pg_constraint "
            "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = 'public' ORDER BY 1, 2"
        )
        return constraints + cursor.fetchall()


@pytest.fixture
def every_insert_in_bulk(monkeypatch):
    monkeypatch.setattr(writers, "BULK_ROWS", 1)
    monkeypatch.setattr(writers, "EMPTY_BULK_ROWS", 1)


def test_a_bulk_load_gives_the_same_rows_and_keeps_every_index_and_key(
    example_package, every_insert_in_bulk
):
    before = schema()
    keys = foreign_keys()
    report = load_package(actor=None, path=example_package)
    assert {name: c["inserted"] for name, c in report.counts.items()} == EXPECTED_FIRST_LOAD
    assert list(report.counts) == list(EXPECTED_FIRST_LOAD)
    assert foreign_keys() == keys
    assert schema() == before
    counts = row_counts()
    report = load_package(actor=None, path=example_package)
    assert not report.changed
    assert row_counts() == counts
    assert schema() == before


def test_a_bulk_load_exports_the_same_package_as_a_plain_one(tmp_path, monkeypatch):
    source = write_package(tmp_path / "source", SMALL_ZONE)
    load_package(actor=None, path=source)
    export_package(actor=None, path=tmp_path / "plain")
    counts = row_counts()
    wipe_loaded_rows()
    monkeypatch.setattr(writers, "BULK_ROWS", 1)
    monkeypatch.setattr(writers, "EMPTY_BULK_ROWS", 1)
    report = load_package(actor=None, path=source)
    assert row_counts() == counts
    export_package(actor=None, path=tmp_path / "bulk")
    assert package_bytes(tmp_path / "bulk") == package_bytes(tmp_path / "plain")
    assert not load_package(actor=None, path=tmp_path / "bulk").changed
    assert report.counts["registers"] == {"inserted": 4, "updated": 0, "unchanged": 0}


@pytest.mark.parametrize("change, message", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_a_bulk_load_refuses_bad_input_with_the_same_message(
    example_package, every_insert_in_bulk, change, message
):
    change(example_package)
    before = row_counts()
    keys = schema()
    with pytest.raises(PackageInvalid) as refused:
        load_package(actor=None, path=example_package)
    assert message in refused.value.errors
    assert row_counts() == before
    assert schema() == keys
    assert not AuditEntry.objects.filter(action="package.loaded").exists()


REPEATED = {
    "pupils": (
        "C201300024001,100001,Amara,Example,2015-02-11,4,F,Y,N,N,none",
        "pupils.csv:5: upn: duplicate key, first on line 2 (C201300024001)",
    ),
    "scores": (
        "C201300024001,2024-09-05,SDQ,emotional,self,6",
        "scores.csv:10: upn+instrument+scale+administered_on+respondent: duplicate key, "
        "first on line 2 (C201300024001,SDQ,emotional,2024-09-05,self)",
    ),
    "registers": (
        "TUTOR-WED,2024-10-09,F201300024003,N,",
        "registers.csv:36: service_code+session_date+upn: duplicate key, first on line 25 "
        "(TUTOR-WED,2024-10-09,F201300024003)",
    ),
}


@pytest.mark.parametrize("name", REPEATED)
def test_a_key_repeated_in_a_bulk_load_is_located(example_package, every_insert_in_bulk, name):
    row, message = REPEATED[name]
    append(f"{name}.csv", row)(example_package)
    with pytest.raises(PackageInvalid) as refused:
        load_package(actor=None, path=example_package)
    assert refused.value.errors == [message]
    assert row_counts()["Pupil"] == 0


def test_a_repeated_score_of_a_child_s_rows_together_is_located(
    example_package, every_insert_in_bulk
):
    scores = example_package / "scores.csv"
    lines = scores.read_text().splitlines()
    lines.insert(2, "C201300024001,2024-09-05,SDQ,emotional,self,6")  # beside its first
    scores.write_text("\n".join(lines) + "\n")
    with pytest.raises(PackageInvalid) as refused:
        load_package(actor=None, path=example_package)
    assert refused.value.errors == [
        "scores.csv:3: upn+instrument+scale+administered_on+respondent: duplicate key, "
        "first on line 2 (C201300024001,SDQ,emotional,2024-09-05,self)"
    ]


def test_scores_whose_children_are_mixed_load_as_well(example_package, every_insert_in_bulk):
    scores = example_package / "scores.csv"
    header, *rows = scores.read_text().splitlines()
    scores.write_text("\n".join([header, *rows[1::2], *rows[::2]]) + "\n")
    report = load_package(actor=None, path=example_package)
    assert report.counts["administrations"]["inserted"] == EXPECTED_FIRST_LOAD["administrations"]
    assert report.counts["scores"]["inserted"] == EXPECTED_FIRST_LOAD["scores"]
    assert list(report.counts) == list(EXPECTED_FIRST_LOAD)


def test_rows_added_after_a_bulk_load_take_the_next_ids(example_package, every_insert_in_bulk):
    from linkwork.measures.models import Administration, Score
    from linkwork.support.models import RegisterEntry

    load_package(actor=None, path=example_package)
    entry = RegisterEntry.objects.order_by("id").last()
    added = RegisterEntry.objects.create(
        service=entry.service, pupil=entry.pupil, session_date="2030-01-07", attended=True
    )
    assert added.id > entry.id
    administration = Administration.objects.create(
        pupil=entry.pupil, instrument_code="SDQ", administered_on="2030-01-07", respondent="self"
    )
    Score.objects.create(administration=administration, scale="emotional", score=1)


@postgresql_only
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


@postgresql_only
def test_tables_the_later_files_join_are_analysed_as_they_fill(tmp_path):
    """Statistics from an empty table (or a load rolled back) would have the joins after
    it planned as if on no rows: the loader analyses what it fills."""
    from linkwork.packages.generator import generate_package

    generate_package(tmp_path, children=30, seed=9)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE people_pupil, measures_administration")  # seen empty
    load_package(actor=None, path=tmp_path)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class "
            "WHERE relname IN ('people_pupil', 'measures_administration')"
        )
        estimated = dict(cursor.fetchall())
        cursor.execute("SELECT count(*) FROM people_pupil")
        (pupils,) = cursor.fetchone()
    assert estimated["people_pupil"] == pupils > 100
    assert estimated["measures_administration"] > 100
