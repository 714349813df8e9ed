"""Phase 1 of loading: check every row of every file, keeping only key indexes.

Each valid row is handed to a staging writer as it is read; the indexes kept (school
URNs, UPNs, partner and service codes, Link Worker emails, allocation intervals per
child and service) grow with the number of children, not with register rows.
"""

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

try:  # scores and responses are checked against their instrument's definition
    from linkwork.measures import scoring
except ImportError:  # pragma: no cover - the measures app without its scoring rules
    scoring = None

from .reading import read_rows, shown
from .resources import Invalid, Resource


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


class Checker:
    """Checks each file's rows, cell by cell and against the indexes."""

    def __init__(self, indexes: Indexes, problems: Problems):
        self.known = indexes
        self.problems = problems

    def check_file(self, resource: Resource, path: Path, stage) -> int:
        """Check one file, staging its valid rows; return the number of rows read."""
        report = self.problems.reporter(resource.filename)
        columns = [(c.name, c.parse, c.required, c.blank) for c in resource.columns]
        names = resource.column_names
        check = getattr(self, f"_{resource.name}")
        pupils = self.known.pupils
        rows = 0
        for line, cells in read_rows(path, names, report):
            rows += 1
            values = {}
            ok = True
            for name, parse, required, blank in columns:
                cell = cells.get(name)
                if cell is None:  # missing or unreadable; already reported
                    ok = False
                elif cell == "":
                    if required:
                        report(line, name, "required", None)
                        ok = False
                    else:
                        values[name] = blank
                elif name == "upn" and cell in pupils:
                    values[name] = cell  # already known to be a valid UPN
                else:
                    try:
                        values[name] = parse(cell)
                    except Invalid as exc:
                        report(line, name, str(exc), cell)
                        ok = False
            if check(line, values, report) and ok:
                stage((line, *[values[name] for name in names]))
        return rows

    # Rules across cells and files, one method per resource. Each returns whether the
    # row passed; a cell that failed its own rule is absent from `values`.

    def _pupil_exists(self, line, values, report) -> bool:
        upn = values.get("upn")
        if upn is not None and upn not in self.known.pupils:
            report(line, "upn", "no such pupil in pupils.csv or the database", upn)
            return False
        return True

    def _reference(self, line, values, report, column, known, what) -> bool:
        value = values.get(column)
        if value is not None and value not in known:
            report(line, column, f"no such {what} in the package or the database", value)
            return False
        return True

    @staticmethod
    def _in_order(line, values, report, first, then) -> bool:
        start, end = values.get(first), values.get(then)
        if start is not None and end is not None and end < start:
            report(line, then, f"before {first} {start}", end)
            return False
        return True

    def _schools(self, line, values, report) -> bool:
        if "urn" in values:
            self.known.schools.add(values["urn"])
        return True

    def _pupils(self, line, values, report) -> bool:
        ok = self._reference(line, values, report, "school_urn", self.known.schools, "school")
        if "upn" in values:
            self.known.pupils.add(values["upn"])
        return ok

    def _partners(self, line, values, report) -> bool:
        if "code" in values:
            self.known.partners.add(values["code"])
        return True

    def _services(self, line, values, report) -> bool:
        ok = self._reference(line, values, report, "partner_code", self.known.partners, "partner")
        ok &= self._reference(line, values, report, "school_urn", self.known.schools, "school")
        if "code" in values:
            self.known.services.add(values["code"])
        return ok

    def _link_workers(self, line, values, report) -> bool:
        ok = True
        email = values.get("email")
        role = self.known.user_roles.get(email)
        if role is not None and role != "link_worker":
            report(line, "email", f"belongs to a user whose role is {role}", email)
            ok = False
        for urn in json.loads(values.get("school_urns", "[]")):
            if urn not in self.known.schools:
                report(line, "school_urns", "no such school in the package or the database", urn)
                ok = False
        if email is not None:
            self.known.link_workers.add(email)
        return ok

    def _enrolments(self, line, values, report) -> bool:
        ok = self._pupil_exists(line, values, report)
        ok &= self._reference(
            line, values, report, "link_worker_email", self.known.link_workers, "Link Worker"
        )
        return self._in_order(line, values, report, "enrolled_on", "ended_on") and ok

    def _consents(self, line, values, report) -> bool:
        ok = self._pupil_exists(line, values, report)
        return self._in_order(line, values, report, "given_on", "withdrawn_on") and ok

    def _allocations(self, line, values, report) -> bool:
        ok = self._pupil_exists(line, values, report)
        ok &= self._reference(line, values, report, "service_code", self.known.services, "service")
        ok = self._in_order(line, values, report, "start_date", "end_date") and ok
        if ok and len(values) == 4:
            intervals = self.known.allocations.setdefault(
                (values["upn"], values["service_code"]), {}
            )
            intervals[values["start_date"]] = values["end_date"]
        return ok

    def _registers(self, line, values, report) -> bool:
        ok = self._reference(line, values, report, "service_code", self.known.services, "service")
        ok = self._pupil_exists(line, values, report) and ok
        upn, code, on = values.get("upn"), values.get("service_code"), values.get("session_date")
        if ok and upn is not None and code is not None and on is not None:
            intervals = self.known.allocations.get((upn, code), {})
            if not any(
                start <= on and (end is None or on <= end) for start, end in intervals.items()
            ):
                report(line, "upn", f"not allocated to {code} on {on}", upn)
                ok = False
        if values.get("attended") is False and values.get("engaged") is True:
            report(line, "engaged", "Y when not attended", "Y")
            ok = False
        return ok

    def _interactions(self, line, values, report) -> bool:
        return self._pupil_exists(line, values, report)

    def _school_attendance(self, line, values, report) -> bool:
        ok = self._pupil_exists(line, values, report)
        ok = self._in_order(line, values, report, "period_start", "period_end") and ok
        possible, present = values.get("possible_sessions"), values.get("present_sessions")
        if possible is not None and present is not None and present > possible:
            report(
                line, "present_sessions", f"more than possible_sessions {possible}", str(present)
            )
            ok = False
        return ok

    def _attainment(self, line, values, report) -> bool:
        return self._pupil_exists(line, values, report)

    def _scores(self, line, values, report) -> bool:
        ok = self._pupil_exists(line, values, report)
        definition = self.known.instruments.get(values.get("instrument"))
        if scoring is None or definition is None or "scale" not in values:
            return ok
        if "score" in values:
            problem = scoring.score_problem(definition, values["scale"], Decimal(values["score"]))
            if problem is not None:
                column = "scale" if problem.startswith("not a scale") else "score"
                report(line, column, problem, values[column])
                return False
        return ok

    def _responses(self, line, values, report) -> bool:
        ok = self._pupil_exists(line, values, report)
        definition = self.known.instruments.get(values.get("instrument"))
        if scoring is None or definition is None or "item" not in values:
            return ok
        if "value" in values:
            problem = scoring.response_problem(definition, values["item"], values["value"])
            if problem is not None:
                column = "item" if problem.startswith("not an item") else "value"
                report(line, column, problem, str(values[column]))
                return False
        return ok
