"""Phase 1 of loading: check every row of every file, keeping only key indexes.

Each valid row is handed to a staging writer as it is read; the indexes kept (school
URNs, UPNs, partner and service codes, Link Worker emails, allocation intervals per
child and service) grow with the number of children, not with register rows.
"""

import json
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import repeat
from operator import itemgetter, le, lt
from pathlib import Path

try:  # scores and responses are checked against their instrument's definition
    from linkwork.measures import scoring
except ImportError:  # pragma: no cover - the measures app without its scoring rules
    scoring = None

from .reading import read_batches, shown
from .resources import Invalid, Resource, copy_text

_FAILED = (None, None)  # a cell that failed its own rule
_FIRST = itemgetter(0)
_SECOND = itemgetter(1)
_NONE: dict = {}  # no allocation intervals
_OPEN_END = "9999-12-31"  # after every date: the end of an allocation with none
_NO_SPAN = (_OPEN_END, "")  # no single allocation: no date is within it


class Problems:
    """Every problem found, as `file:line: column: message (value)`, file by file.

    At most `limit` are kept per file (the rest are counted), so a file that is wrong on
    every one of a million lines still gives a readable answer in bounded memory. Files
    are listed in the order they were opened (or first had a problem); problems may be
    added from the thread checking rows and the one writing them.
    """

    def __init__(self, limit: int = 1000):
        self.limit = limit
        self._files: dict[str, list[tuple[int, int, str]]] = {}
        self._hidden: dict[str, int] = {}
        self._seq = 0
        self.found = 0  # problems so far, listed or not
        self._lock = threading.Lock()

    def open(self, filename: str) -> None:
        """Give a file its place in the listing before any of its problems is found."""
        with self._lock:
            self._files.setdefault(filename, [])

    def add(self, filename: str, line: int, column: str | None, message: str, value=None):
        where = f"{filename}:{line}: " + (f"{column}: " if column else "")
        text = where + message + (f" ({shown(value)})" if value is not None else "")
        with self._lock:
            self.found += 1
            entries = self._files.setdefault(filename, [])
            if len(entries) >= self.limit:
                self._hidden[filename] = self._hidden.get(filename, 0) + 1
                return
            self._seq += 1
            entries.append((line, self._seq, text))

    def add_text(self, filename: str, text: str):
        """A problem already written in the located form (from a document parser)."""
        with self._lock:
            self.found += 1
            self._seq += 1
            self._files.setdefault(filename, []).append((0, self._seq, text))

    def reporter(self, filename: str):
        def report(line, column, message, value):
            self.add(filename, line, column, message, value)

        return report

    def __bool__(self) -> bool:
        return self.found > 0

    def __len__(self) -> int:
        return self.found

    def lines(self) -> list[str]:
        out = []
        for filename, entries in self._files.items():
            out.extend(text for _, _, text in sorted(entries))
            if self._hidden.get(filename):
                out.append(f"{filename}: {self._hidden[filename]} more problems not listed")
        return out


@dataclass
class Indexes:
    """What already exists, and what the package adds as it is read."""

    schools: set = field(default_factory=set)
    pupils: set = field(default_factory=set)
    partners: set = field(default_factory=set)
    services: set = field(default_factory=set)
    link_workers: set = field(default_factory=set)
    user_roles: dict = field(default_factory=dict)  # email -> role, for existing users
    # (upn, service code) -> {start date: end date or None}, ISO text
    allocations: dict = field(default_factory=dict)
    instruments: dict = field(default_factory=dict)  # code -> latest definition
    erased: dict = field(default_factory=dict)  # UPN -> "on DATE (reference)", erased children


def database_indexes() -> Indexes:
    """The keys already in the database that a package may refer to."""
    from linkwork.accounts.models import Role, User
    from linkwork.measures.models import Instrument
    from linkwork.people.models import Erasure, Pupil
    from linkwork.schools.models import School
    from linkwork.support.models import Allocation, Partner, Service

    indexes = Indexes(
        schools=set(School.objects.values_list("urn", flat=True)),
        pupils=set(Pupil.objects.values_list("upn", flat=True).iterator()),
        partners=set(Partner.objects.values_list("code", flat=True)),
        services=set(Service.objects.values_list("code", flat=True)),
        user_roles={
            email.lower(): role for email, role in User.objects.values_list("email", "role")
        },
    )
    indexes.erased = {
        upn: f"on {erased_at:%Y-%m-%d} ({reference})"
        for upn, erased_at, reference in Erasure.objects.values_list(
            "upn", "erased_at", "reference"
        )
    }
    indexes.link_workers = {
        email for email, role in indexes.user_roles.items() if role == Role.LINK_WORKER
    }
    for code, definition in Instrument.objects.order_by("code", "version").values_list(
        "code", "definition"
    ):
        indexes.instruments[code] = definition  # the latest version is the last one
    rows = Allocation.objects.values_list(
        "pupil__upn", "service__code", "start_date", "end_date"
    ).iterator()
    for upn, code, start, end in rows:
        indexes.allocations.setdefault((upn, code), {})[start.isoformat()] = (
            end.isoformat() if end else None
        )
    return indexes


_CACHED = 200_000  # valid cells remembered per parser (dates, codes, UPNs repeat a lot)


def _remember(column, cache, plain, cell, value) -> tuple:
    """A cell parsed valid: its (value, staged text), remembered for the next time."""
    pair = (value, copy_text(value))
    if column.remember and len(cache) < _CACHED:
        cache[cell] = pair
        if pair[0] == cell and pair[1] == cell:
            plain.add(cell)
    return pair


class Checker:
    """Checks each file's rows, cell by cell and against the indexes."""

    def __init__(self, indexes: Indexes, problems: Problems):
        self.known = indexes
        self.problems = problems
        # parser -> {cell: (value, staged text)}: every parser is a pure function of the
        # cell, so a cell seen valid once (a UPN, a date, a code) is not parsed again.
        self._parsed: dict = {}
        # parser -> the cells remembered whose value and staged text are the cell itself
        # (a date, a UPN, a code): a column of them needs no look-up of its values.
        self._plain: dict = {}
        # (kind, instrument, scale or item, value) -> problem or None
        self._instrument_problems: dict = {}
        # (upn, service code) -> (start, end) of a child's one allocation to a service,
        # made from the allocations when registers are checked
        self._spans: dict | None = None

    def check_file(self, resource: Resource, path: Path, stage, facts=None) -> int:
        """Check one file, staging its valid rows; return the number of rows read.

        Rows are taken in batches. `stage(lines, values, texts)` receives a batch's valid
        rows column by column: their line numbers, then for each column the values and
        the same values in COPY's text format (lists it may change). `facts` is the
        file's `reading.scan`, when already done.

        A resource with column-wise rules (`_<name>_batch`) has each batch checked column
        by column first: when every cell is one already known valid (or now parsed
        valid) and every row passes the rules, the batch is staged whole. Otherwise, and
        for the other resources, the batch is checked row by row (`_<name>`), which
        finds and reports each problem; the two agree on every row they both pass.
        """
        report = self.problems.reporter(resource.filename)
        self._spans = None  # the allocations may have grown since
        columns = resource.columns
        caches, plains = [], []
        for column in columns:
            cache = self._parsed.setdefault(column.parse, {}) if column.remember else {}
            plain = self._plain.setdefault(column.parse, set()) if column.remember else set()
            if not column.required:
                cache = dict(cache)  # a blank cell means this column's own blank value
                cache[""] = (column.blank, copy_text(column.blank))
                plain = plain | {""} if column.blank == "" else set(plain)
            caches.append(cache)
            plains.append(plain)
        check = getattr(self, f"_{resource.name}")
        rule = getattr(self, f"_{resource.name}_batch", None)
        rows = 0
        for lines, cells in read_batches(path, resource.column_names, report, facts):
            rows += len(lines)
            known = caches, plains
            if rule is None or not self._check_columns(lines, cells, columns, known, rule, stage):
                batch = zip(lines, map(list, zip(*cells, strict=True)), strict=True)
                self._check_rows(batch, columns, known, check, report, stage)
        return rows

    def _check_columns(self, lines, cells, columns, known, rule, stage) -> bool:
        """Stage a batch whose every row passes, checked column by column; else False."""
        values, texts = [], []
        for column, cache, plain, column_cells in zip(columns, *known, cells, strict=True):
            if plain.issuperset(column_cells):  # each cell is its own value and text
                values.append(column_cells)
                texts.append(column_cells)
                continue
            pairs = list(map(cache.get, column_cells))
            if None in pairs and not self._parse_column(column, cache, plain, column_cells, pairs):
                return False
            values.append(list(map(_FIRST, pairs)))
            texts.append(list(map(_SECOND, pairs)))
        if not rule(values):
            return False
        stage(lines, values, texts)
        return True

    def _parse_column(self, column, cache, plain, cells, pairs) -> bool:
        """Parse a column's cells not already known valid, filling `pairs`; False when
        one fails its rule (it is then reported by the row-by-row check)."""
        for index, pair in enumerate(pairs):
            if pair is not None:
                continue
            cell = cells[index]
            if not cell:  # missing, unreadable or blank when required
                return False
            try:
                value = column.parse(cell)
            except Invalid:
                return False
            pairs[index] = _remember(column, cache, plain, cell, value)
        return True

    def _check_rows(self, batch, columns, known, check, report, stage) -> None:
        """Check a batch row by row, reporting each problem; stage the valid rows."""
        get = dict.get
        caches = known[0]
        passed = []
        for line, cells in batch:
            pairs = list(map(get, caches, cells))
            ok = True
            if None in pairs:
                ok = self._parse_cells(line, columns, known, cells, pairs, report)
            values = list(map(_FIRST, pairs))
            if check(line, values, report, ok) and ok:
                passed.append((line, values, list(map(_SECOND, pairs))))
        if passed:
            lines, values, texts = zip(*passed, strict=True)
            stage(
                list(lines),
                [list(c) for c in zip(*values, strict=True)],
                [list(c) for c in zip(*texts, strict=True)],
            )

    def _parse_cells(self, line, columns, known, cells, pairs, report) -> bool:
        """Parse the cells not already known valid, filling `pairs`; report the bad ones."""
        ok = True
        for index, pair in enumerate(pairs):
            if pair is not None:
                continue
            column, cell = columns[index], cells[index]
            pairs[index] = _FAILED
            if cell is None:  # missing or unreadable; already reported
                ok = False
            elif cell == "":
                report(line, column.name, "required", None)
                ok = False
            else:
                try:
                    value = column.parse(cell)
                except Invalid as exc:
                    report(line, column.name, str(exc), cell)
                    ok = False
                else:
                    caches, plains = known
                    pairs[index] = _remember(column, caches[index], plains[index], cell, value)
        return ok

    # Rules across cells and files, one method per resource, over the row's values in
    # column order (None for a blank cell or one that failed its own rule; `ok` says
    # whether every cell passed). Each returns whether the row passed.

    def _pupil_exists(self, line, upn, report) -> bool:
        if upn is not None and upn not in self.known.pupils:
            report(line, "upn", "no such pupil in pupils.csv or the database", upn)
            return False
        return True

    @staticmethod
    def _reference(line, value, report, column, known, what) -> bool:
        if value is not None and value not in known:
            report(line, column, f"no such {what} in the package or the database", value)
            return False
        return True

    @staticmethod
    def _in_order(line, start, end, report, first, then) -> bool:
        if start is not None and end is not None and end < start:
            report(line, then, f"before {first} {start}", end)
            return False
        return True

    def _schools(self, line, values, report, ok) -> bool:
        if values[0] is not None:
            self.known.schools.add(values[0])
        return True

    def _pupils(self, line, values, report, ok) -> bool:
        upn, urn = values[0], values[1]
        passed = self._reference(line, urn, report, "school_urn", self.known.schools, "school")
        if upn in self.known.erased:
            erased = self.known.erased[upn]
            report(line, "upn", f"this child's data was erased {erased}: remove the row", upn)
            return False
        if upn is not None:
            self.known.pupils.add(upn)
        return passed

    def _partners(self, line, values, report, ok) -> bool:
        if values[0] is not None:
            self.known.partners.add(values[0])
        return True

    def _services(self, line, values, report, ok) -> bool:
        code, partner, _, urn, _ = values
        known = self.known
        passed = self._reference(line, partner, report, "partner_code", known.partners, "partner")
        passed &= self._reference(line, urn, report, "school_urn", known.schools, "school")
        if code is not None:
            known.services.add(code)
        return passed

    def _link_workers(self, line, values, report, ok) -> bool:
        email, _, school_urns = values
        passed = True
        role = self.known.user_roles.get(email)
        if role is not None and role != "link_worker":
            report(line, "email", f"belongs to a user whose role is {role}", email)
            passed = False
        for urn in json.loads(school_urns or "[]"):
            if urn not in self.known.schools:
                report(line, "school_urns", "no such school in the package or the database", urn)
                passed = False
        if email is not None:
            self.known.link_workers.add(email)
        return passed

    def _enrolments(self, line, values, report, ok) -> bool:
        upn, _, enrolled_on, email, ended_on, _ = values
        passed = self._pupil_exists(line, upn, report)
        passed &= self._reference(
            line, email, report, "link_worker_email", self.known.link_workers, "Link Worker"
        )
        return self._in_order(line, enrolled_on, ended_on, report, "enrolled_on", "ended_on") and (
            passed
        )

    def _consents(self, line, values, report, ok) -> bool:
        upn, _, _, given_on, withdrawn_on = values
        passed = self._pupil_exists(line, upn, report)
        return self._in_order(
            line, given_on, withdrawn_on, report, "given_on", "withdrawn_on"
        ) and (passed)

    def _consents_batch(self, values) -> bool:
        upns, _, _, given, withdrawn = values
        return self.known.pupils.issuperset(upns) and not any(
            end is not None and end < start for start, end in zip(given, withdrawn, strict=True)
        )

    def _allocations(self, line, values, report, ok) -> bool:
        upn, code, start, end = values
        passed = self._pupil_exists(line, upn, report)
        passed &= self._reference(
            line, code, report, "service_code", self.known.services, "service"
        )
        passed = self._in_order(line, start, end, report, "start_date", "end_date") and passed
        if passed and ok:
            self.known.allocations.setdefault((upn, code), {})[start] = end
        return passed

    def _registers(self, line, values, report, ok) -> bool:
        code, on, upn, attended, engaged = values
        known = self.known
        if code in known.services and upn in known.pupils:
            passed = True
        else:
            passed = self._reference(line, code, report, "service_code", known.services, "service")
            passed = self._pupil_exists(line, upn, report) and passed
        if passed and upn is not None and code is not None and on is not None:
            for start, end in known.allocations.get((upn, code), _NONE).items():
                if start <= on and (end is None or on <= end):
                    break
            else:
                report(line, "upn", f"not allocated to {code} on {on}", upn)
                passed = False
        if attended is False and engaged is True:
            report(line, "engaged", "Y, but attended is N: engaged only when attended", "Y")
            passed = False
        return passed

    def _registers_batch(self, values) -> bool:
        codes, dates, upns, attended, engaged = values
        known = self.known
        if not (known.services.issuperset(codes) and known.pupils.issuperset(upns)):
            return False
        if (False, True) in zip(attended, engaged, strict=True):
            return False
        # Most children have one allocation to a service: their dates are compared in
        # one go; a batch where that does not settle every row is checked row by row.
        if self._spans is None:
            self._spans = {
                key: (start, _OPEN_END if end is None else end)
                for key, intervals in known.allocations.items()
                if len(intervals) == 1
                for start, end in intervals.items()
            }
        spans = list(map(self._spans.get, zip(upns, codes, strict=True), repeat(_NO_SPAN)))
        if all(map(le, map(_FIRST, spans), dates)) and all(map(le, dates, map(_SECOND, spans))):
            return True
        allocations = known.allocations
        for upn, code, on in zip(upns, codes, dates, strict=True):
            for start, end in allocations.get((upn, code), _NONE).items():
                if start <= on and (end is None or on <= end):
                    break
            else:
                return False
        return True

    def _interactions(self, line, values, report, ok) -> bool:
        upn = values[0]
        return upn in self.known.pupils or self._pupil_exists(line, upn, report)

    def _interactions_batch(self, values) -> bool:
        return self.known.pupils.issuperset(values[0])

    def _school_attendance(self, line, values, report, ok) -> bool:
        upn, start, end, possible, present = values
        passed = upn in self.known.pupils or self._pupil_exists(line, upn, report)
        passed = self._in_order(line, start, end, report, "period_start", "period_end") and passed
        if possible is not None and present is not None and present > possible:
            report(
                line, "present_sessions", f"more than possible_sessions {possible}", str(present)
            )
            passed = False
        return passed

    def _school_attendance_batch(self, values) -> bool:
        upns, starts, ends, possible, present = values
        return (
            self.known.pupils.issuperset(upns)
            and not any(map(lt, ends, starts))
            and not any(map(lt, possible, present))
        )

    def _attainment(self, line, values, report, ok) -> bool:
        upn = values[0]
        return upn in self.known.pupils or self._pupil_exists(line, upn, report)

    def _attainment_batch(self, values) -> bool:
        return self.known.pupils.issuperset(values[0])

    def _scores(self, line, values, report, ok) -> bool:
        upn, _, instrument, scale, _, score = values
        passed = upn in self.known.pupils or self._pupil_exists(line, upn, report)
        definition = self.known.instruments.get(instrument)
        if scoring is None or definition is None or scale is None:
            return passed
        if score is not None:
            problem = self._instrument_problem("score", definition, instrument, scale, score)
            if problem is not None:
                if problem.startswith("not a scale"):
                    report(line, "scale", problem, scale)
                else:
                    report(line, "score", problem, score)
                return False
        return passed

    def _scores_batch(self, values) -> bool:
        upns, _, instruments, scales, _, scores = values
        return self._instrument_batch("score", upns, instruments, scales, scores)

    def _instrument_batch(self, kind, upns, instruments, codes, values) -> bool:
        """Whether a batch of scores or responses has every pupil known and no problem."""
        if not self.known.pupils.issuperset(upns):
            return False
        if scoring is None:
            return True
        for instrument, code, value in set(zip(instruments, codes, values, strict=True)):
            definition = self.known.instruments.get(instrument)
            if definition is not None:
                if self._instrument_problem(kind, definition, instrument, code, value) is not None:
                    return False
        return True

    def _instrument_problem(self, kind, definition, instrument, code, value) -> str | None:
        """`scoring.score_problem` (kind "score": `code` a scale) or `response_problem`
        (kind "response": `code` an item), remembered: a zone's scores and answers take
        few distinct values."""
        key = (kind, instrument, code, value)
        try:
            return self._instrument_problems[key]
        except KeyError:
            if kind == "score":
                problem = scoring.score_problem(definition, code, Decimal(value))
            else:
                problem = scoring.response_problem(definition, code, value)
            if len(self._instrument_problems) < _CACHED:
                self._instrument_problems[key] = problem
            return problem

    def _responses(self, line, values, report, ok) -> bool:
        upn, _, instrument, _, item, value = values
        passed = upn in self.known.pupils or self._pupil_exists(line, upn, report)
        definition = self.known.instruments.get(instrument)
        if scoring is None or definition is None or item is None:
            return passed
        if value is not None:
            problem = self._instrument_problem("response", definition, instrument, item, value)
            if problem is not None:
                if problem.startswith("not an item"):
                    report(line, "item", problem, item)
                else:
                    report(line, "value", problem, str(value))
                return False
        return passed

    def _responses_batch(self, values) -> bool:
        upns, _, instruments, _, items, answers = values
        return self._instrument_batch("response", upns, instruments, items, answers)
