"""Phase 1 of loading: check every row of every file, keeping only key indexes.

Each valid row is handed to a staging writer as it is read; the indexes kept (school
URNs, UPNs, partner and service codes, Link Worker emails, allocation intervals per
child and service) grow with the number of children, not with register rows.
"""

import json
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from pathlib import Path

try:  # scores and responses are checked against their instrument's definition
    from linkwork.measures import scoring
except ImportError:  # pragma: no cover - the measures app without its scoring rules
    scoring = None

from .reading import read_cells, shown
from .resources import Invalid, Resource, copy_text

_FAILED = (None, None)  # a cell that failed its own rule


class Problems:
    """Every problem found, as `file:line: column: message (value)`, file by file.

    At most `limit` are kept per file (the rest are counted), so a file that is wrong on
    every one of a million lines still gives a readable answer in bounded memory.
    """

    def __init__(self, limit: int = 1000):
        self.limit = limit
        self._files: dict[str, list[tuple[int, int, str]]] = {}
        self._hidden: dict[str, int] = {}
        self._seq = 0

    def add(self, filename: str, line: int, column: str | None, message: str, value=None):
        entries = self._files.setdefault(filename, [])
        if len(entries) >= self.limit:
            self._hidden[filename] = self._hidden.get(filename, 0) + 1
            return
        where = f"{filename}:{line}: " + (f"{column}: " if column else "")
        text = where + message + (f" ({shown(value)})" if value is not None else "")
        self._seq += 1
        entries.append((line, self._seq, text))

    def add_text(self, filename: str, text: str):
        """A problem already written in the located form (from a document parser)."""
        self._seq += 1
        self._files.setdefault(filename, []).append((0, self._seq, text))

    def reporter(self, filename: str):
        def report(line, column, message, value):
            self.add(filename, line, column, message, value)

        return report

    def __bool__(self) -> bool:
        return any(self._files.values())

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._files.values()) + sum(self._hidden.values())

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


def database_indexes() -> Indexes:
    """The keys already in the database that a package may refer to."""
    from linkwork.accounts.models import Role, User
    from linkwork.measures.models import Instrument
    from linkwork.people.models import Pupil
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


class Checker:
    """Checks each file's rows, cell by cell and against the indexes."""

    def __init__(self, indexes: Indexes, problems: Problems):
        self.known = indexes
        self.problems = problems
        # parser -> {cell: (value, staged text)}: every parser is a pure function of the
        # cell, so a cell seen valid once (a UPN, a date, a code) is not parsed again.
        self._parsed: dict = {}

    def check_file(self, resource: Resource, path: Path, stage) -> int:
        """Check one file, staging its valid rows; return the number of rows read.

        `stage(line, values, texts)` receives each valid row's values and the same
        values in COPY's text format.
        """
        report = self.problems.reporter(resource.filename)
        columns = resource.columns
        caches = []
        for column in columns:
            cache = self._parsed.setdefault(column.parse, {})
            if not column.required:
                cache = dict(cache)  # a blank cell means this column's own blank value
                cache[""] = (column.blank, copy_text(column.blank))
            caches.append(cache)
        check = getattr(self, f"_{resource.name}")
        get = dict.get
        first = itemgetter(0)
        second = itemgetter(1)
        rows = 0
        for line, cells in read_cells(path, resource.column_names, report):
            rows += 1
            pairs = list(map(get, caches, cells))
            ok = True
            if None in pairs:
                ok = self._parse_cells(line, columns, caches, cells, pairs, report)
            values = list(map(first, pairs))
            if check(line, values, report, ok) and ok:
                stage(line, values, list(map(second, pairs)))
        return rows

    def _parse_cells(self, line, columns, caches, cells, pairs, report) -> bool:
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
                    pairs[index] = (value, copy_text(value))
                    if len(caches[index]) < _CACHED:
                        caches[index][cell] = pairs[index]
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
            intervals = known.allocations.get((upn, code), {})
            if not any(
                start <= on and (end is None or on <= end) for start, end in intervals.items()
            ):
                report(line, "upn", f"not allocated to {code} on {on}", upn)
                passed = False
        if attended is False and engaged is True:
            report(line, "engaged", "Y when not attended", "Y")
            passed = False
        return passed

    def _interactions(self, line, values, report, ok) -> bool:
        upn = values[0]
        return upn in self.known.pupils or self._pupil_exists(line, upn, report)

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

    def _attainment(self, line, values, report, ok) -> bool:
        upn = values[0]
        return upn in self.known.pupils or self._pupil_exists(line, upn, report)

    def _scores(self, line, values, report, ok) -> bool:
        upn, _, instrument, scale, _, score = values
        passed = upn in self.known.pupils or self._pupil_exists(line, upn, report)
        definition = self.known.instruments.get(instrument)
        if scoring is None or definition is None or scale is None:
            return passed
        if score is not None:
            problem = scoring.score_problem(definition, scale, Decimal(score))
            if problem is not None:
                if problem.startswith("not a scale"):
                    report(line, "scale", problem, scale)
                else:
                    report(line, "score", problem, score)
                return False
        return passed

    def _responses(self, line, values, report, ok) -> bool:
        upn, _, instrument, _, item, value = values
        passed = upn in self.known.pupils or self._pupil_exists(line, upn, report)
        definition = self.known.instruments.get(instrument)
        if scoring is None or definition is None or item is None:
            return passed
        if value is not None:
            problem = scoring.response_problem(definition, item, value)
            if problem is not None:
                if problem.startswith("not an item"):
                    report(line, "item", problem, item)
                else:
                    report(line, "value", problem, str(value))
                return False
        return passed
