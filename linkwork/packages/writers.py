"""All the SQL of loading and exporting packages, for PostgreSQL and SQLite.

Loading stages each resource's validated rows in a temporary table (COPY on
PostgreSQL, batched executemany on SQLite), finds duplicate keys there, then upserts
each resource with one `UPDATE ... FROM` of the rows whose key exists and whose data
differ, and one `INSERT ... SELECT ... WHERE NOT EXISTS` of the new keys, resolving
codes and UPNs to ids with joins; an unchanged row is never rewritten. A big file for
an empty table on PostgreSQL is copied straight into it instead (`DIRECT`), its ids
resolved by the loader, with the table's indexes and keys made again after (`Bulk`).
Table and column names in the statements below come from the constants in this module
and the database's own catalog, never from input.
"""

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .resources import RESOURCES, Resource

_TYPES = {
    "postgresql": {
        "text": "text",
        "date": "date",
        "bool": "boolean",
        "int": "bigint",
        "decimal": "numeric",
        "json": "jsonb",
    },
    "sqlite": {
        "text": "text",
        "date": "text",
        "bool": "integer",
        "int": "integer",
        "decimal": "numeric",
        "json": "text",
    },
}
_BATCH = 5000


COMPUTED_SCORES = "lw_stage_computed_scores"


def stage_table(resource: Resource) -> str:
    return f"lw_stage_{resource.name}"


def _vendor(connection) -> str:
    if connection.vendor not in _TYPES:
        raise NotImplementedError(f"packages cannot be loaded into {connection.vendor}")
    return connection.vendor


class Staging:
    """Temporary tables holding one load's validated rows, with their line numbers."""

    def __init__(self, connection):
        self.connection = connection
        self.vendor = _vendor(connection)

    def create(self) -> None:
        types = _TYPES[self.vendor]
        with self.connection.cursor() as cursor:
            for resource in RESOURCES:
                table = stage_table(resource)
                columns = ", ".join(
                    f"{column.name} {types[column.kind]}" for column in resource.columns
                )
                self._create(cursor, table, f"line integer, {columns}")
            self._create(
                cursor,
                COMPUTED_SCORES,
                f"administration_id {types['int']}, scale text, score {types['decimal']}",
            )

    def _create(self, cursor, table: str, columns: str) -> None:
        suffix = " ON COMMIT DROP" if self.vendor == "postgresql" else ""
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TEMP TABLE {table} ({columns}){suffix}")

    @contextmanager
    def writer(self, resource: Resource):
        """A function `put(lines, values, texts)` staging a batch of checked rows of the
        resource, given column by column (`texts`: the values in COPY's text format)."""
        table = stage_table(resource)
        names = ", ".join(("line", *resource.column_names))
        with self.connection.cursor() as cursor:
            if self.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:

                    def put(lines, values, texts):
                        copy.write(copy_lines([list(map(str, lines)), *texts], "\n"))

                    yield put
            else:
                marks = ", ".join(["%s"] * (len(resource.columns) + 1))
                sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
                yield lambda lines, values, texts: cursor.executemany(
                    sql, zip(lines, *values, strict=True)
                )

    @contextmanager
    def computed_scores_writer(self):
        """A function taking (administration id, scale, score) of scores from responses."""
        # Not COPY: these rows are written while a server-side cursor is still being read.
        with self.connection.cursor() as cursor:
            names = "administration_id, scale, score"
            with self._inserter(cursor, COMPUTED_SCORES, names, 3) as insert:
                yield insert

    @staticmethod
    @contextmanager
    def _inserter(cursor, table: str, names: str, width: int):
        marks = ", ".join(["%s"] * width)
        sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
        batch: list[tuple] = []

        def put(row):
            batch.append(row)
            if len(batch) >= _BATCH:
                cursor.executemany(sql, batch)
                batch.clear()

        yield put
        if batch:
            cursor.executemany(sql, batch)

    def duplicates(self, resource: Resource) -> Iterator[tuple[int, int, tuple]]:
        """(line, first line, key) for every row whose key an earlier row already has."""
        key = ", ".join(resource.key)
        table = stage_table(resource)
        with self.connection.cursor() as cursor:
            # A cheap look first; the window over every row only when there is a duplicate.
            cursor.execute(
                f"SELECT 1 FROM {table} GROUP BY {key} HAVING count(*) > 1 LIMIT 1"  # noqa: S608
            )
            if cursor.fetchone() is None:
                return
            cursor.execute(
                f"SELECT line, first_line, {key} FROM ("  # noqa: S608
                f"SELECT line, {key}, min(line) OVER (PARTITION BY {key}) AS first_line "
                f"FROM {table}) x WHERE line > first_line ORDER BY line"
            )
            for row in cursor.fetchall():
                yield row[0], row[1], tuple(str(value) for value in row[2:])

    def rows(self, resource: Resource) -> list[tuple]:
        """The staged rows of a small resource, in file order."""
        names = ", ".join(resource.column_names)
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT {names} FROM {stage_table(resource)} ORDER BY line")  # noqa: S608
            return cursor.fetchall()


CHUNK_BYTES = 2 << 20  # a spooled file is handed over once it holds this much


def copy_lines(columns: list[list[str]], end: str) -> str:
    """Rows given column by column, as lines of COPY's text format each ending in `end`."""
    return end.join(map("\t".join, zip(*columns, strict=True))) + end


class Spool:
    """Text in COPY's format, written to temporary files that are handed over
    (`hand(file)`, rewound) as each reaches CHUNK_BYTES: whatever the size of a resource,
    memory holds one batch of rows, and the files wait on disk to be copied."""

    def __init__(self, hand):
        self._hand = hand
        self._file = None

    def write(self, text: str) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile()
        self._file.write(text.encode())
        if self._file.tell() >= CHUNK_BYTES:
            self._hand_over()

    def _hand_over(self) -> None:
        file, self._file = self._file, None
        file.seek(0)
        self._hand(file)

    def close(self) -> None:
        if self._file is not None:
            self._hand_over()


def copy_file(connection, table: str, columns: tuple[str, ...], file) -> int:
    """COPY a spooled file into a table (PostgreSQL); return the number of rows."""
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with file, connection.cursor() as cursor:
        with cursor.cursor.copy(sql) as copy:
            while block := file.read(1 << 20):
                copy.write(block)
        return cursor.rowcount


@dataclass(frozen=True)
class Upsert:
    """How one resource's staged rows become rows of its table, matched by key."""

    name: str
    table: str
    source: str  # a FROM clause with the staged table as `s` and the joins resolving keys
    key: dict[str, str]  # table column -> expression
    data: dict[str, str] = field(default_factory=dict)  # updated when they differ
    insert_only: dict[str, str] = field(default_factory=dict)
    distinct: bool = False


def _pupil(stage: str) -> str:
    return f"lw_stage_{stage} s JOIN people_pupil p ON p.upn = s.upn"


_ADMINISTRATIONS_SOURCE = (
    "(SELECT upn, instrument, administered_on, respondent FROM lw_stage_scores "
    "UNION SELECT upn, instrument, administered_on, respondent FROM lw_stage_responses) s "
    "JOIN people_pupil p ON p.upn = s.upn"
)
_ADMINISTRATION_JOIN = (
    " JOIN measures_administration a ON a.pupil_id = p.id AND a.instrument_code = s.instrument"
    " AND a.administered_on = s.administered_on AND a.respondent = s.respondent"
)

# Scores and responses belong to an administration: one per child, instrument, date and
# respondent, made from both files before either is written.
ADMINISTRATIONS = Upsert(
    "administrations",
    "measures_administration",
    _ADMINISTRATIONS_SOURCE,
    key={
        "pupil_id": "p.id",
        "instrument_code": "s.instrument",
        "administered_on": "s.administered_on",
        "respondent": "s.respondent",
    },
    distinct=True,
)

UPSERTS: dict[str, tuple[Upsert, ...]] = {
    "schools": (
        Upsert(
            "areas",
            "schools_area",
            "lw_stage_schools s",
            key={"name": "s.local_authority"},
            insert_only={"la_code": "''"},
            distinct=True,
        ),
        Upsert(
            "schools",
            "schools_school",
            "lw_stage_schools s JOIN schools_area a ON a.name = s.local_authority",
            key={"urn": "s.urn"},
            data={"name": "s.name", "phase": "s.phase", "area_id": "a.id"},
        ),
    ),
    "pupils": (
        Upsert(
            "pupils",
            "people_pupil",
            "lw_stage_pupils s JOIN schools_school sc ON sc.urn = s.school_urn",
            key={"upn": "s.upn"},
            data={
                "school_id": "sc.id",
                "given_name": "s.given_name",
                "family_name": "s.family_name",
                "date_of_birth": "s.date_of_birth",
                "year_group": "s.year_group",
                "sex": "s.sex",
                "fsm": "s.fsm",
                "sen": "s.sen",
                "eal": "s.eal",
                "statutory_status": "s.statutory_status",
            },
            insert_only={"received_on": "CURRENT_DATE"},
        ),
    ),
    "partners": (
        Upsert(
            "partners",
            "support_partner",
            "lw_stage_partners s",
            key={"code": "s.code"},
            data={"name": "s.name"},
        ),
    ),
    "services": (
        Upsert(
            "services",
            "support_service",
            "lw_stage_services s JOIN support_partner pa ON pa.code = s.partner_code"
            " JOIN schools_school sc ON sc.urn = s.school_urn",
            key={"code": "s.code"},
            data={
                "partner_id": "pa.id",
                "name": "s.name",
                "school_id": "sc.id",
                "outcome_areas": "s.outcome_areas",
            },
        ),
    ),
    "enrolments": (
        Upsert(
            "cohorts",
            "people_cohort",
            "lw_stage_enrolments s",
            key={"code": "s.cohort"},
            insert_only={"name": "''"},
            distinct=True,
        ),
        Upsert(
            "enrolments",
            "people_enrolment",
            _pupil("enrolments") + " JOIN people_cohort c ON c.code = s.cohort"
            " LEFT JOIN accounts_user u ON u.email = s.link_worker_email",
            key={"pupil_id": "p.id", "cohort_id": "c.id"},
            data={
                "enrolled_on": "s.enrolled_on",
                "link_worker_id": "u.id",
                "ended_on": "s.ended_on",
                "end_reason": "s.end_reason",
            },
        ),
    ),
    "consents": (
        Upsert(
            "consents",
            "people_consent",
            _pupil("consents"),
            key={"pupil_id": "p.id", "purpose": "s.purpose", "given_on": "s.given_on"},
            data={"given_by": "s.given_by", "withdrawn_on": "s.withdrawn_on"},
        ),
    ),
    "allocations": (
        Upsert(
            "allocations",
            "support_allocation",
            _pupil("allocations") + " JOIN support_service sv ON sv.code = s.service_code",
            key={"pupil_id": "p.id", "service_id": "sv.id", "start_date": "s.start_date"},
            data={"end_date": "s.end_date"},
        ),
    ),
    "registers": (
        Upsert(
            "registers",
            "support_registerentry",
            _pupil("registers") + " JOIN support_service sv ON sv.code = s.service_code",
            key={"service_id": "sv.id", "session_date": "s.session_date", "pupil_id": "p.id"},
            data={"attended": "s.attended", "engaged": "s.engaged"},
        ),
    ),
    "interactions": (
        Upsert(
            "interactions",
            "support_interaction",
            _pupil("interactions"),
            key={"pupil_id": "p.id", "occurred_on": "s.occurred_on", "kind": "s.kind"},
            data={"minutes": "s.minutes", "topics": "s.topics"},
            insert_only={"note": "''"},
        ),
    ),
    "school_attendance": (
        Upsert(
            "school_attendance",
            "people_schoolattendance",
            _pupil("school_attendance"),
            key={"pupil_id": "p.id", "period_start": "s.period_start"},
            data={
                "period_end": "s.period_end",
                "possible_sessions": "s.possible_sessions",
                "present_sessions": "s.present_sessions",
            },
        ),
    ),
    "attainment": (
        Upsert(
            "attainment",
            "people_attainment",
            _pupil("attainment"),
            key={"pupil_id": "p.id", "subject": "s.subject", "assessed_on": "s.assessed_on"},
            data={"value": "s.value", "expected": "s.expected"},
        ),
    ),
    "scores": (
        Upsert(
            "scores",
            "measures_score",
            _pupil("scores") + _ADMINISTRATION_JOIN,
            key={"administration_id": "a.id", "scale": "s.scale"},
            data={"score": "s.score"},
        ),
    ),
    "responses": (
        Upsert(
            "responses",
            "measures_response",
            _pupil("responses") + _ADMINISTRATION_JOIN,
            key={"administration_id": "a.id", "item": "s.item"},
            data={"value": "s.value"},
        ),
    ),
}


# Scale scores computed from item responses: a scale the package's scores.csv gives for
# the same administration keeps the given score.
SCORES_FROM_RESPONSES = Upsert(
    "scores_from_responses",
    "measures_score",
    f"{COMPUTED_SCORES} s",
    key={"administration_id": "s.administration_id", "scale": "s.scale"},
    data={"score": "s.score"},
)


def stamp_received(connection) -> int:
    """Mark every pupil of the staged pupils.csv as received today, the database's date
    as for the pupils the load inserts (the retention schedule counts from it); not a
    change to the pupil's data, so not counted as one."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE people_pupil SET received_on = CURRENT_DATE WHERE received_on < CURRENT_DATE "
            "AND upn IN (SELECT upn FROM lw_stage_pupils)"
        )
        return cursor.rowcount


def responses_to_score(connection, chunk_size: int = 5000) -> Iterator[tuple[int, str, str, int]]:
    """(administration id, instrument, item, value) of every stored response of each
    administration the package gave responses for, grouped by administration."""
    sql = (
        "SELECT a.id, a.instrument_code, r.item, r.value FROM measures_response r "
        "JOIN measures_administration a ON a.id = r.administration_id "
        "WHERE a.id IN (SELECT a2.id FROM lw_stage_responses s "
        "JOIN people_pupil p ON p.upn = s.upn JOIN measures_administration a2 "
        "ON a2.pupil_id = p.id AND a2.instrument_code = s.instrument "
        "AND a2.administered_on = s.administered_on AND a2.respondent = s.respondent) "
        "ORDER BY a.id, r.item"
    )
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(chunk_size):
            yield from rows


def drop_given_scores(connection) -> None:
    """Forget computed scores for scales the package's scores.csv gives itself."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {COMPUTED_SCORES} WHERE EXISTS ("  # noqa: S608
            "SELECT 1 FROM measures_administration a JOIN people_pupil p ON p.id = a.pupil_id "
            "JOIN lw_stage_scores s ON s.upn = p.upn AND s.instrument = a.instrument_code "
            "AND s.administered_on = a.administered_on AND s.respondent = a.respondent "
            f"WHERE a.id = {COMPUTED_SCORES}.administration_id "
            f"AND s.scale = {COMPUTED_SCORES}.scale)"
        )


def begin_writes(connection) -> None:
    """Prepare the load's transaction for its bulk statements.

    On PostgreSQL the foreign keys (deferred by Django) are checked as each statement
    ends rather than all queued to COMMIT: the same checks, without the queue of
    millions of deferred trigger events.
    """
    if _vendor(connection) == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            # Sorts and hashes of a big file's rows in memory rather than on disk.
            cursor.execute(f"SET LOCAL work_mem = '{BULK_WORK_MEMORY}'")


# Inserting at least this many rows into a table at most BULK_GROWTH times their number
# checks the table's foreign keys in one pass rather than row by row; into an empty table,
# its indexes are built once, after the rows are in, rather than kept up row by row.
BULK_ROWS = 50_000
BULK_GROWTH = 10
EMPTY_BULK_ROWS = 10_000  # the same for a table that is empty, its indexes too
BULK_MEMORY = "256MB"  # maintenance_work_mem while building indexes again
BULK_WORK_MEMORY = "32MB"  # work_mem for the load's statements


ANALYZE_ROWS = 100  # a table that gains or changes this many rows is analysed again


def analyze(connection, *tables: str) -> None:
    """Fresh planner statistics for tables filled in this transaction (PostgreSQL).

    A temporary staging table never gets any otherwise, and a table's own can date from
    when it was empty, or from a load that was rolled back: the joins that follow would
    be planned as if on a handful of rows (nested loops over thousands). ANALYZE sees
    the transaction's own rows and reads a sample, so it costs little."""
    if _vendor(connection) == "postgresql" and tables:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {', '.join(tables)}")


def is_empty(cursor, table: str) -> bool:
    cursor.execute(f"SELECT 1 FROM {table} LIMIT 1")  # noqa: S608
    return cursor.fetchone() is None


class Bulk:
    """A table's foreign keys, and for an empty table its other indexes and unique
    constraints, dropped for a bulk insert and made again after, with their exact
    definitions (PostgreSQL).

    PostgreSQL checks a foreign key row by row, by trigger, and keeps every index up row
    by row: most of the time of a big insert. Added again after it, a foreign key checks
    every row of the table in one join, and an index is built by one sort. It is the same
    guarantee (a missing reference or a repeated key fails the statement, so the whole
    load), all in the load's transaction, but it locks the table and its parents (readers
    wait) until the load commits; so only when the rows added are many and the table is
    not much bigger than them (for indexes: empty). An index a foreign key relies on (a
    primary key others refer to) stays.
    """

    def __init__(self, connection, table: str, *, indexes: bool):
        self.connection, self.table = connection, table
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
                [table],
            )
            self.foreign_keys = cursor.fetchall()
            self.uniques: list[tuple[str, str]] = []
            self.indexes: list[tuple[str, str]] = []
            if indexes:
                # The primary key, unique constraints and plain indexes that no foreign
                # key relies on; the primary key first.
                cursor.execute(
                    "SELECT conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                    "WHERE c.conrelid = %s::regclass AND c.contype IN ('p', 'u') AND NOT EXISTS ("
                    "SELECT 1 FROM pg_constraint f "
                    "WHERE f.contype = 'f' AND f.conindid = c.conindid) "
                    "ORDER BY c.contype, conname",
                    [table],
                )
                self.uniques = cursor.fetchall()
                cursor.execute(
                    "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
                    "JOIN pg_class i ON i.oid = x.indexrelid "
                    "WHERE x.indrelid = %s::regclass AND NOT EXISTS ("
                    "SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) "
                    "ORDER BY i.relname",
                    [table],
                )
                self.indexes = cursor.fetchall()
            for name, _ in self.foreign_keys + self.uniques:
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
            for name, _ in self.indexes:
                cursor.execute(f"DROP INDEX {quote(name)}")
            if self.indexes or self.uniques:
                cursor.execute(f"SET LOCAL maintenance_work_mem = '{BULK_MEMORY}'")

    def restore(self, *, unique_checked: bool = True) -> bool:
        """Make every index and key again. A repeated unique key raises, or when the rows
        were not checked for them (`unique_checked` false) returns False."""
        from django.db import IntegrityError, transaction

        quote = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            for name, definition in self.uniques:
                sql = f"ALTER TABLE {self.table} ADD CONSTRAINT {quote(name)} {definition}"
                if unique_checked:
                    cursor.execute(sql)
                    continue
                try:
                    with transaction.atomic():
                        cursor.execute(sql)
                except IntegrityError:
                    return False
            for _, definition in self.indexes:
                cursor.execute(definition)
            for name, definition in self.foreign_keys:
                cursor.execute(
                    f"ALTER TABLE {self.table} ADD CONSTRAINT {quote(name)} {definition}"
                )
        return True


@contextmanager
def _bulk(connection, cursor, table: str, adding: int | None, empty: bool):
    """Around a large INSERT on PostgreSQL, a `Bulk` when it is worth it."""
    least = EMPTY_BULK_ROWS if empty else BULK_ROWS
    if _vendor(connection) != "postgresql" or adding is None or adding < least:
        yield
        return
    if not empty:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        if max(cursor.fetchone()[0], 0) > BULK_GROWTH * adding:
            yield
            return
    bulk = Bulk(connection, table, indexes=empty)
    yield
    bulk.restore()


@dataclass
class Counts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict:
        return {"inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged}


def upsert(connection, spec: Upsert, staged: int | None = None, source_rows: int = 0) -> Counts:
    """Update rows whose data differ, insert new keys, leave equal rows alone; count each.

    `staged` is the number of source rows when known, and `source_rows` a bound on it for
    a `distinct` spec: they size the bulk insert into an empty table, where every key is
    new (one INSERT, nothing compared). Into a table with rows, one join of the source
    with the table counts the rows, the new keys and the rows whose data differ; then an
    UPDATE runs only if some differ, and an INSERT of the missing keys only if some are
    new. A reload of unchanged rows is that one join. (An UPDATE then an INSERT is cheaper
    than `INSERT ... ON CONFLICT` and counts both for free.)
    """
    distinct = "DISTINCT " if spec.distinct else ""
    columns = {**spec.key, **spec.data, **spec.insert_only}
    names = ", ".join(columns)
    exprs = ", ".join(columns.values())
    with connection.cursor() as cursor:
        if is_empty(cursor, spec.table):
            with _bulk(connection, cursor, spec.table, staged or source_rows, empty=True):
                every_row = f"SELECT {distinct}{exprs} FROM {spec.source}"  # noqa: S608
                cursor.execute(f"INSERT INTO {spec.table} ({names}) {every_row}")  # noqa: S608
                inserted = cursor.rowcount
            staged = inserted if staged is None else staged
            return Counts(inserted=inserted, unchanged=staged - inserted)
        total, adding, differing = _classify(cursor, spec)
        updated = 0
        if differing:
            sets = ", ".join(f"{column} = x.{column}" for column in spec.data)
            same_key = " AND ".join(f"{spec.table}.{column} = x.{column}" for column in spec.key)
            differs = " OR ".join(
                f"{spec.table}.{column} IS DISTINCT FROM x.{column}" for column in spec.data
            )
            cursor.execute(
                f"UPDATE {spec.table} SET {sets} FROM ({_keyed_rows(spec)}) x "  # noqa: S608
                f"WHERE {same_key} AND ({differs})"
            )
            updated = cursor.rowcount
        inserted = 0
        if adding:
            matched = " AND ".join(f"t.{column} = {expr}" for column, expr in spec.key.items())
            new_rows = (
                f"SELECT {distinct}{exprs} FROM {spec.source} "  # noqa: S608
                f"WHERE NOT EXISTS (SELECT 1 FROM {spec.table} t WHERE {matched})"
            )
            with _bulk(connection, cursor, spec.table, adding, empty=False):
                cursor.execute(f"INSERT INTO {spec.table} ({names}) {new_rows}")  # noqa: S608
                inserted = cursor.rowcount
    return Counts(inserted=inserted, updated=updated, unchanged=total - inserted - updated)


def _classify(cursor, spec: Upsert) -> tuple[int, int, int]:
    """(source rows, rows with a key the table lacks, rows whose data differ from the
    table's row with their key), from one outer join. A key column is never null in the
    table, so a null one marks a key it lacks."""
    joined = " AND ".join(f"t.{column} = x.{column}" for column in spec.key)
    probe = next(iter(spec.key))
    differs = " OR ".join(f"t.{column} IS DISTINCT FROM x.{column}" for column in spec.data)
    cursor.execute(
        f"SELECT count(*), count(*) FILTER (WHERE t.{probe} IS NULL), "  # noqa: S608
        f"count(*) FILTER (WHERE t.{probe} IS NOT NULL AND ({differs or 'false'})) "
        f"FROM ({_keyed_rows(spec)}) x LEFT JOIN {spec.table} t ON {joined}"
    )
    return cursor.fetchone()


def _keyed_rows(spec: Upsert) -> str:
    """The source rows as the table's key and data columns, named as in the table."""
    distinct = "DISTINCT " if spec.distinct else ""
    selected = ", ".join(
        f"{expr} AS {column}" for column, expr in {**spec.key, **spec.data}.items()
    )
    return f"SELECT {distinct}{selected} FROM {spec.source}"  # noqa: S608


def first_scores_apply(connection, staged: int) -> bool:
    """Whether `first_scores` may write these staged scores (given no responses)."""
    if _vendor(connection) != "postgresql" or staged < EMPTY_BULK_ROWS:
        return False
    with connection.cursor() as cursor:
        return is_empty(cursor, "measures_administration") and is_empty(cursor, "measures_score")


def first_scores(connection, staged: int) -> tuple[Counts, Counts]:
    """Staged scores into empty administration and score tables, with no responses
    (PostgreSQL): the administrations are numbered in the order of their keys from an id
    reserved for them, so a score's administration is that id plus its key's rank. Two
    sorts of the staged rows, rather than finding each score's administration by a join.
    Counts for the administrations and the scores."""
    pupil = "lw_stage_scores s JOIN people_pupil p ON p.upn = s.upn"
    key = "p.id, s.instrument, s.administered_on, s.respondent"
    first = reserve_ids(connection, "measures_administration")
    with connection.cursor() as cursor:
        with _bulk(connection, cursor, "measures_administration", staged, empty=True):
            cursor.execute(
                "INSERT INTO measures_administration "  # noqa: S608
                "(id, pupil_id, instrument_code, administered_on, respondent) "
                "SELECT %s - 1 + row_number() OVER (ORDER BY pupil_id, instrument, "
                "administered_on, respondent), pupil_id, instrument, administered_on, respondent "
                f"FROM (SELECT DISTINCT {key.replace('p.id', 'p.id AS pupil_id')} FROM {pupil}) a",
                [first],
            )
            administrations = cursor.rowcount
        if administrations:
            ids_used(connection, "measures_administration", first + administrations - 1)
        with _bulk(connection, cursor, "measures_score", staged, empty=True):
            rank = f"dense_rank() OVER (ORDER BY {key})"
            cursor.execute(
                "INSERT INTO measures_score (administration_id, scale, score) "  # noqa: S608
                f"SELECT %s - 1 + {rank}, s.scale, s.score FROM {pupil}",
                [first],
            )
            scores = cursor.rowcount
    return Counts(inserted=administrations), Counts(inserted=scores, unchanged=staged - scores)


# Straight into an empty table ------------------------------------------------------------


@dataclass(frozen=True)
class Direct:
    """How a checked row of a resource becomes a row of its table without staging: the
    cells in the table's column order, the UPN, service code and school URN replaced by
    the ids the loader knows, constant columns added at the end."""

    table: str
    columns: tuple[str, ...]  # the table's columns, in COPY order
    order: tuple[int, ...]  # for each non-constant column, the index of its cell
    pupil: int | None  # the index of the `upn` cell that refers to a pupil
    service: int | None  # the index of the `service_code` cell
    school: int | None  # the index of the `school_urn` cell
    constants: tuple[str, ...]  # the constant columns' values: '' or CURRENT_DATE

    def tail(self, today: str) -> str:
        """The constant columns' text and the end of the line."""
        texts = {"''": "", "CURRENT_DATE": today}
        return "".join("\t" + texts[value] for value in self.constants) + "\n"


# The cell whose id each id expression of an upsert stands for.
_ID_CELLS = {"p.id": "upn", "sv.id": "service_code", "sc.id": "school_urn"}


def _direct(resource: Resource, spec: Upsert) -> Direct:
    names = resource.column_names
    columns, order, constants, values = [], [], [], []
    for column, expr in {**spec.key, **spec.data, **spec.insert_only}.items():
        if expr in ("''", "CURRENT_DATE"):
            constants.append(column)
            values.append(expr)
            continue
        cell = _ID_CELLS.get(expr) or expr.removeprefix("s.")
        columns.append(column)
        order.append(names.index(cell))
    exprs = {**spec.key, **spec.data}.values()

    def cell(expr):
        return names.index(_ID_CELLS[expr]) if expr in exprs else None

    return Direct(
        spec.table,
        (*columns, *constants),
        tuple(order),
        cell("p.id"),
        cell("sv.id"),
        cell("sc.id"),
        tuple(values),
    )


# The resources whose rows refer only to a school, a pupil or a service: when their
# table is empty, a big file of them goes straight into it. Pupils are numbered by the
# loader, so the files after them need not wait for them to be written.
_DIRECT_NAMES = (
    "pupils",
    "consents",
    "allocations",
    "registers",
    "interactions",
    "school_attendance",
    "attainment",
)
DIRECT: dict[str, Direct] = {
    r.name: _direct(r, UPSERTS[r.name][0]) for r in RESOURCES if r.name in _DIRECT_NAMES
}


# Scores with no responses go straight into empty administration and score tables too,
# when the file has each child's rows together (as an export or a generated zone has
# them): the loader numbers each child's administrations as it meets them.
SCORE_TABLES = {
    "measures_administration": ("pupil_id", "instrument_code", "administered_on", "respondent"),
    "measures_score": ("administration_id", "scale", "score"),
}


def direct_tables(name: str) -> dict[str, tuple[str, ...]]:
    """The tables a resource goes straight into, with the columns copied (id first)."""
    if name == "scores":
        return {table: ("id", *columns) for table, columns in SCORE_TABLES.items()}
    return {DIRECT[name].table: ("id", *DIRECT[name].columns)}


def reserve_ids(connection, table: str) -> int:
    """The first id for rows copied with their ids into an empty table: the table's
    writers wait until the load commits, so the ids after it are the load's to use
    (`ids_used` says how many it used)."""
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [table])
        return cursor.fetchone()[0]


def ids_used(connection, table: str, last: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, last])


def direct_ids(connection) -> tuple[dict[str, str], dict[str, str], dict[str, str], str]:
    """Every pupil's id by UPN, every service's by code and every school's by URN, as
    COPY text, and the database's date (a pupil's `received_on`)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT upn, id::text FROM people_pupil")
        pupils = dict(cursor)
        cursor.execute("SELECT code, id::text FROM support_service")
        services = dict(cursor)
        cursor.execute("SELECT urn, id::text FROM schools_school")
        schools = dict(cursor)
        cursor.execute("SELECT CURRENT_DATE::text")
        today = cursor.fetchone()[0]
    return pupils, services, schools, today


# Export ------------------------------------------------------------------------------

# One query per resource, selecting its columns in the package's order, sorted by key.
EXPORTS: dict[str, str] = {
    "schools": "SELECT s.urn, s.name, s.phase, a.name FROM schools_school s "
    "JOIN schools_area a ON a.id = s.area_id ORDER BY s.urn{c}",
    "pupils": "SELECT p.upn, sc.urn, p.given_name, p.family_name, p.date_of_birth, "
    "p.year_group, p.sex, p.fsm, p.sen, p.eal, p.statutory_status FROM people_pupil p "
    "JOIN schools_school sc ON sc.id = p.school_id ORDER BY p.upn{c}",
    "partners": "SELECT code, name FROM support_partner ORDER BY code{c}",
    "services": "SELECT s.code, pa.code, s.name, sc.urn, s.outcome_areas FROM support_service s "
    "JOIN support_partner pa ON pa.id = s.partner_id JOIN schools_school sc ON sc.id = s.school_id "
    "ORDER BY s.code{c}",
    "enrolments": "SELECT p.upn, c.code, e.enrolled_on, u.email, e.ended_on, e.end_reason "
    "FROM people_enrolment e JOIN people_pupil p ON p.id = e.pupil_id "
    "JOIN people_cohort c ON c.id = e.cohort_id "
    "LEFT JOIN accounts_user u ON u.id = e.link_worker_id "
    "ORDER BY p.upn{c}, c.code{c}",
    "consents": "SELECT p.upn, x.purpose, x.given_by, x.given_on, x.withdrawn_on "
    "FROM people_consent x JOIN people_pupil p ON p.id = x.pupil_id "
    "ORDER BY p.upn{c}, x.purpose{c}, x.given_on",
    "allocations": "SELECT p.upn, sv.code, x.start_date, x.end_date FROM support_allocation x "
    "JOIN people_pupil p ON p.id = x.pupil_id JOIN support_service sv ON sv.id = x.service_id "
    "ORDER BY p.upn{c}, sv.code{c}, x.start_date",
    "registers": "SELECT sv.code, x.session_date, p.upn, x.attended, x.engaged "
    "FROM support_registerentry x JOIN people_pupil p ON p.id = x.pupil_id "
    "JOIN support_service sv ON sv.id = x.service_id ORDER BY sv.code{c}, x.session_date, p.upn{c}",
    "interactions": "SELECT p.upn, x.occurred_on, x.minutes, x.kind, x.topics "
    "FROM support_interaction x JOIN people_pupil p ON p.id = x.pupil_id "
    "ORDER BY p.upn{c}, x.occurred_on, x.kind{c}",
    "school_attendance": "SELECT p.upn, x.period_start, x.period_end, x.possible_sessions, "
    "x.present_sessions FROM people_schoolattendance x JOIN people_pupil p ON p.id = x.pupil_id "
    "ORDER BY p.upn{c}, x.period_start",
    "attainment": "SELECT p.upn, x.assessed_on, x.subject, x.value, x.expected "
    "FROM people_attainment x JOIN people_pupil p ON p.id = x.pupil_id "
    "ORDER BY p.upn{c}, x.subject{c}, x.assessed_on",
    "scores": "SELECT p.upn, a.administered_on, a.instrument_code, x.scale, a.respondent, x.score "
    "FROM measures_score x JOIN measures_administration a ON a.id = x.administration_id "
    "JOIN people_pupil p ON p.id = a.pupil_id "
    "ORDER BY p.upn{c}, a.instrument_code{c}, x.scale{c}, a.administered_on, a.respondent{c}",
    "responses": "SELECT p.upn, a.administered_on, a.instrument_code, a.respondent, x.item, "
    "x.value FROM measures_response x JOIN measures_administration a "
    "ON a.id = x.administration_id JOIN people_pupil p ON p.id = a.pupil_id "
    "ORDER BY p.upn{c}, a.instrument_code{c}, x.item{c}, a.administered_on, a.respondent{c}",
}


def export_rows(connection, name: str, chunk_size: int) -> Iterator[tuple]:
    """Stream a resource's rows (as the database returns them), sorted by key.

    Text keys sort bytewise (the "C" collation on PostgreSQL) so both databases write
    the same order.
    """
    collate = ' COLLATE "C"' if _vendor(connection) == "postgresql" else ""
    sql = EXPORTS[name].replace("{c}", collate)
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(chunk_size):
            yield from rows
