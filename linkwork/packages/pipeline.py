"""Checking a package's files and writing them at the same time.

On PostgreSQL the rows are checked in a second thread while this one has the database
write the files already checked. The checking thread spools each file's valid rows in
COPY's text format to temporary files of a few megabytes and hands them over in file
order; this thread copies them in, then finishes the file (its duplicate keys found,
its rows upserted). So Python checks one file while the database copies and indexes
the one before, and the two work at once. Memory holds one batch of rows: the spooled
files wait on disk. A big file for an empty table goes straight into the table
(`writers.DIRECT`), its indexes and keys made again once it is in.

Everything happens in the load's one transaction, which is rolled back when any
problem is found, so nothing is written unless the whole package is valid; once a
problem is known, files are still checked and staged (their duplicate keys are
problems too) but no longer written. On SQLite the same steps run one after the other
in this thread.
"""

import queue
import re
import threading
import time
from concurrent.futures import Future
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from pathlib import Path

from django.db import IntegrityError, connection, transaction

from . import writers
from .reading import read_batches, scan
from .resources import BY_NAME, RESOURCES, Resource
from .validation import Checker, Problems


@dataclass
class _Start:
    resource: Resource
    direct: bool  # rows go straight into the resource's tables


@dataclass
class _Chunk:
    resource: Resource
    file: object  # a spooled file of COPY text, rewound
    table: str | None = None  # straight into this table, else to the staging table


@dataclass
class _Done:
    resource: Resource


@dataclass
class _Ids:
    answer: Future  # an `_Answer`, or None: nothing goes straight in
    names: set  # the resources that may go straight into their tables: ids reserved


@dataclass
class _Answer:
    pupils: dict  # id by UPN, as COPY text; pupils going straight in are added as met
    services: dict  # id by code
    schools: dict  # id by URN
    today: str  # the database's date
    first_ids: dict  # the first id reserved in each table


@dataclass
class _Failed:
    error: BaseException


_END = object()
# The order files are checked and written in: each refers only to files before it.
# Services before pupils, so that pupils going straight into their table (numbered by
# the loader) can be followed at once by the files that refer to them. Scores and
# responses refer only to pupils: they come early, so that the database makes their
# administrations while the big files after them are checked.
ORDER = tuple(
    BY_NAME[name]
    for name in (
        "schools",
        "partners",
        "services",
        "pupils",
        "scores",
        "responses",
        "link_workers",
        "enrolments",
        "consents",
        "allocations",
        "registers",
        "interactions",
        "school_attendance",
        "attainment",
    )
)
assert set(ORDER) == set(RESOURCES)
_PUPILS_AT = [resource.name for resource in ORDER].index("pupils")


class _Stopped(Exception):
    """The writing side has failed: the checking side stops."""


class Pipeline:
    """One load's checking and writing; `run()` checks and writes every file present.

    `write(resource)` writes a checked resource from its staging table (called in file
    order, only while no problem is known); `rows` and `counts` are filled per file.
    """

    def __init__(self, root: Path, present, checker: Checker, staging, write, rows, counts):
        self.root = root
        self.present = present
        self.checker = checker
        self.problems: Problems = checker.problems
        self.staging = staging
        self.write = write
        self.rows = rows
        self.counts = counts
        self.threaded = connection.vendor == "postgresql"
        self.checked_at = None  # when the last row was checked
        self.checking = 0.0  # seconds spent checking rows
        self.database: dict[str, float] = {}  # seconds of database work per resource
        self._stop = False
        # Held by this thread while it runs much Python between database calls: the two
        # threads share one interpreter, and the checking one would slow it down.
        self._quiet = threading.Lock()
        self._direct: set[str] = set()  # resources going straight into their tables
        self._bulk: dict[str, writers.Bulk] = {}  # by table
        self._copied: dict[str, int] = {}  # rows copied, by table
        self._relocate: list[Resource] = []
        self._empty = set()  # resources whose table is empty, that may go straight in
        self._facts = {}  # each file's scan, by resource
        self._first_ids: dict[str, int] = {}  # the first id reserved in each table
        if self.threaded:
            candidates = [*writers.DIRECT, *(() if "responses" in present else ("scores",))]
            with connection.cursor() as cursor:
                self._empty = {
                    name
                    for name in candidates
                    if name in present
                    and all(
                        writers.is_empty(cursor, table) for table in writers.direct_tables(name)
                    )
                }

    def run(self) -> None:
        if not self.threaded:
            self._check(self._handle)
        else:
            events = queue.SimpleQueue()
            thread = threading.Thread(target=self._check_thread, args=(events.put,))
            thread.start()
            event = None
            try:
                while (event := events.get()) is not _END:
                    self._handle(event)
            finally:
                self._stop = True
                while event is not _END:
                    event = events.get()
                    _discard(event)
                thread.join()
        self._locate_duplicates()

    # The checking side --------------------------------------------------------------------

    def _check_thread(self, post) -> None:
        try:
            self._check(post)
        except _Stopped:
            pass
        except BaseException as exc:  # handed to the writing side, which raises it
            post(_Failed(exc))
        finally:
            post(_END)

    def _check(self, post) -> None:
        ids = None
        for resource in RESOURCES:  # problems are listed in the files' usual order
            if resource.name in self.present:
                self.problems.open(resource.filename)
        for position, resource in enumerate(ORDER):
            if self._empty and ids is None and position >= _PUPILS_AT:
                # Ask for the ids, answered once the files before are written: before
                # pupils when they go straight in (the loader numbers them), else after.
                if position > _PUPILS_AT or self._goes_straight(BY_NAME["pupils"]):
                    ids = Future()
                    post(_Ids(ids, set(self._empty)))
            if resource.name not in self.present:
                continue
            if self._stop:
                raise _Stopped
            path = self.root / resource.filename
            try:
                path.open("rb").close()
            except OSError as exc:
                self.problems.add(resource.filename, 1, None, f"cannot be read ({exc.strerror})")
                continue
            started = time.perf_counter()
            scanned = self._facts.get(resource.name) or scan(path)
            direct = None
            if ids is not None and self._goes_straight(resource):
                waited = time.perf_counter()
                direct = ids.result()
                started += time.perf_counter() - waited
            post(_Start(resource, direct is not None))
            with self._sink(resource, direct, post) as put:
                rows = self.checker.check_file(resource, path, put, scanned)
                self.rows[resource.filename] = rows
            post(_Done(resource))
            self.checking += time.perf_counter() - started
        self.checked_at = time.perf_counter()

    def _goes_straight(self, resource: Resource) -> bool:
        """Whether a file goes straight into its tables: they are empty and it is big
        (scores only with each child's rows together). Its scan is kept for checking."""
        if resource.name not in self._empty:
            return False
        path = self.root / resource.filename
        if resource.name not in self._facts:
            try:
                self._facts[resource.name] = scan(path)
            except OSError:
                return False  # reported when its turn comes
        facts = self._facts[resource.name]
        if facts.lines <= writers.EMPTY_BULK_ROWS:
            return False
        return resource.name != "scores" or _grouped_by_pupil(path, facts)

    @contextmanager
    def _sink(self, resource: Resource, ids, post):
        """`put(lines, values, texts)` for each batch of valid rows: to the staging table,
        or with `ids` (pupil and service ids by UPN and code) straight to its table."""
        if not self.threaded:
            with self.staging.writer(resource) as put:
                yield put
            return

        quiet = self._quiet

        def spool(table=None):
            def hand(file):
                if self._stop:
                    file.close()
                    raise _Stopped
                post(_Chunk(resource, file, table))

            spooled = writers.Spool(hand)
            spools.append(spooled)

            def write(text):
                with quiet:  # waits while the writing thread runs Python alone
                    spooled.write(text)

            return write

        spools = []
        if ids is None:
            write = spool()

            def put(lines, values, texts):
                write(writers.copy_lines([list(map(str, lines)), *texts], "\n"))

        else:
            tables = list(writers.direct_tables(resource.name))
            writes = [spool(table) for table in tables]
            starts = [ids.first_ids[table] for table in tables]
            if resource.name == "scores":
                put = _scores_put(ids.pupils, starts, *writes)
            else:
                put = _direct_put(writers.DIRECT[resource.name], ids, starts[0], writes[0])
        yield put
        for spooled in spools:
            spooled.close()

    # The writing side ---------------------------------------------------------------------

    def _handle(self, event) -> None:
        if isinstance(event, _Failed):
            raise event.error
        if isinstance(event, _Ids):
            if self.problems:  # nothing is written any more
                event.answer.set_result(None)
                return
            with self._quiet:
                known = writers.direct_ids(connection)
            self._first_ids = {
                table: writers.reserve_ids(connection, table)
                for name in event.names
                for table in writers.direct_tables(name)
            }
            event.answer.set_result(_Answer(*known, self._first_ids))
            return
        started = time.perf_counter()
        resource = event.resource
        name = resource.name
        if isinstance(event, _Start):
            if event.direct:
                for table in writers.direct_tables(name):
                    self._bulk[table] = writers.Bulk(connection, table, indexes=True)
                    self._copied[table] = 0
                self._direct.add(name)
        elif isinstance(event, _Chunk):
            if event.table is not None:
                columns = writers.direct_tables(name)[event.table]
                copied = writers.copy_file(connection, event.table, columns, event.file)
                self._copied[event.table] += copied
            else:
                columns = ("line", *resource.column_names)
                writers.copy_file(connection, writers.stage_table(resource), columns, event.file)
        elif name in self._direct and self.problems:  # nothing is written any more
            self._relocate.append(resource)  # its repeated keys are problems too
        elif name in self._direct:  # done, straight into its tables
            self._finish_direct(resource)
        elif self._keys_left_to_table(resource):  # done, staged for an empty table
            self._write_finding_duplicates(resource)
        else:  # done, staged
            self._report_duplicates(resource)
            if not self.problems:
                # Link Workers are written through the ORM: Python work, done alone.
                with self._quiet if name == "link_workers" else nullcontext():
                    self.write(resource)
        self.database[name] = self.database.get(name, 0.0) + time.perf_counter() - started

    def _finish_direct(self, resource: Resource) -> None:
        """A file copied straight into its tables: their ids used, their indexes and keys
        made again; a repeated key is found and located later."""
        repeated = False
        for table in reversed(writers.direct_tables(resource.name)):  # scores first
            copied = self._copied.pop(table)
            if copied:
                writers.ids_used(connection, table, self._first_ids[table] + copied - 1)
            repeated |= not self._bulk.pop(table).restore(unique_checked=False)
            name = {"measures_administration": "administrations"}.get(table, resource.name)
            self.counts[name] = writers.Counts(inserted=copied).as_dict()
        if repeated:
            self._relocate.append(resource)
        elif resource.name == "pupils":  # the files after it join the pupils
            writers.analyze(connection, "people_pupil")

    def _keys_left_to_table(self, resource: Resource) -> bool:
        """Whether a staged file's repeated keys are left to its table's unique constraint:
        a big file for an empty table (PostgreSQL), written by its own upsert."""
        name = resource.name
        if not self.threaded or name == "link_workers":
            return False
        if name == "scores" and "responses" in self.present:
            return False  # written with the responses
        if self.rows[resource.filename] < writers.EMPTY_BULK_ROWS:
            return False
        with connection.cursor() as cursor:
            return writers.is_empty(cursor, writers.UPSERTS[name][-1].table)

    def _write_finding_duplicates(self, resource: Resource) -> None:
        """Write a file into an empty table, whose unique constraint refuses a repeated
        key (the usual case, none, saves searching the staging table); when it does, the
        staging table says where."""
        if self.problems:  # nothing is written any more
            self._report_duplicates(resource)
            return
        try:
            with transaction.atomic():
                self.write(resource)
        except IntegrityError:
            found = self.problems.found
            self._report_duplicates(resource)
            if self.problems.found == found:
                raise

    def _report_duplicates(self, resource: Resource) -> None:
        for line, first, key in self.staging.duplicates(resource):
            self.problems.add(
                resource.filename,
                line,
                "+".join(resource.key),
                f"duplicate key, first on line {first}",
                ",".join(key),
            )

    def _locate_duplicates(self) -> None:
        """A file that went straight into its table with a key repeated: check it again
        into its staging table (its other problems are already listed) to say where."""
        for resource in self._relocate:
            again = Checker(self.checker.known, Problems())
            with self.staging.writer(resource) as put:
                again.check_file(resource, self.root / resource.filename, put)
            self._report_duplicates(resource)
        if self._relocate and not self.problems:  # the table gained rows from elsewhere
            raise IntegrityError("a key of a table loaded straight into is already in it")


def _direct_put(direct: writers.Direct, known: _Answer, first_id: int, write):
    """`put` for rows going straight into the resource's table: numbered from `first_id`,
    the UPN, service code and school URN columns become the pupil, service and school
    ids (as text), the columns are put in the table's order. Pupils' own ids are added
    to `known.pupils` for the files after them."""
    pick = itemgetter(*direct.order)
    tail = direct.tail(known.today)
    next_id = first_id
    replaced = [
        (index, ids)
        for index, ids in (
            (direct.pupil, known.pupils),
            (direct.service, known.services),
            (direct.school, known.schools),
        )
        if index is not None
    ]

    def put(lines, values, texts):
        nonlocal next_id
        ids = list(map(str, range(next_id, next_id + len(lines))))
        next_id += len(lines)
        for index, by_cell in replaced:
            texts[index] = _ids_of(by_cell, values[index])
        if direct.table == "people_pupil":
            known.pupils.update(zip(values[0], ids, strict=True))
        write(writers.copy_lines([ids, *pick(texts)], tail))

    return put


def _ids_of(by_cell: dict, cells: list) -> list:
    """The ids of a column of UPNs, codes or URNs. One checked valid but not written (a
    pupil whose row was refused) gets 0: the load is refused anyway."""
    try:
        return list(map(by_cell.__getitem__, cells))
    except KeyError:
        return [by_cell.get(cell, "0") for cell in cells]


def _scores_put(pupils: dict, starts, write_administrations, write_scores):
    """`put` for scores going straight into the administration and score tables: each
    child's rows come together, so a child's administrations are numbered as they are
    met (from the first id reserved) and only the current child's are remembered."""
    next_administration, next_score = starts
    child, administrations = None, {}

    def put(lines, values, texts):
        nonlocal next_administration, next_score, child, administrations
        upns = values[0]
        # an administration: instrument, date and respondent (as COPY text)
        keys = zip(texts[2], texts[1], texts[4], strict=True)
        of_row, new = [], []
        for upn, key in zip(upns, keys, strict=True):
            if upn != child:
                child, administrations = upn, {}
            administration = administrations.get(key)
            if administration is None:
                administration = administrations[key] = str(next_administration)
                next_administration += 1
                new.append((administration, pupils.get(upn, "0"), *key))
            of_row.append(administration)
        if new:
            write_administrations(writers.copy_lines(list(zip(*new, strict=True)), "\n"))
        ids = list(map(str, range(next_score, next_score + len(lines))))
        next_score += len(lines)
        write_scores(writers.copy_lines([ids, of_row, texts[3], texts[5]], "\n"))

    return put


def _grouped_by_pupil(path, facts) -> bool:
    """Whether each child's rows of a file are all together, one child after another."""
    seen = set()
    child = None
    try:
        for upn, _ in groupby(_upns(path, facts)):
            if upn != child:
                if upn in seen:
                    return False
                seen.add(upn)
                child = upn
    except IndexError:  # a row too short: staged, and reported when checked
        return False
    return True


def _upns(path, facts):
    """The `upn` cell of each row of a file (as bytes when the file is clean, found a
    block at a time)."""
    if facts.control or facts.quotes:
        columns = BY_NAME["scores"].column_names
        for _, cells in read_batches(path, columns, lambda *problem: None, facts):
            yield from cells[0]
        return
    with path.open("rb") as handle:
        header = handle.readline().removeprefix(b"\xef\xbb\xbf").rstrip(b"\r\n").split(b",")
        if b"upn" not in header:
            return  # reported when the file is checked
        # the cell after each line's start (a search led by the newline is fast)
        cell = re.compile(rb"\n(?:[^,\n]*,){%d}([^,\r\n]*)" % header.index(b"upn"))
        rest = b""
        while block := handle.read(1 << 20):
            block = b"\n" + rest + block
            end = block.rfind(b"\n")
            yield from cell.findall(block, 0, end)
            rest = block[end + 1 :]
        if rest:
            yield from cell.findall(b"\n" + rest)


def _discard(event) -> None:
    """An event left when the writing side stopped: its file deleted, its question
    answered."""
    if isinstance(event, _Chunk):
        event.file.close()
    elif isinstance(event, _Ids):
        event.answer.set_result(None)
