"""Register uploads: a CSV or XLSX file checked like a package's `registers.csv`.

The rows are written to a temporary package folder and checked by the package loader
(dry run, nothing kept); then each session's marks are saved with `record_register`.

Partner staff never see UPNs, so a register can also name each child by `child`, the
number on the register sheet Linkwork gives them for a session (`register_sheet`):
each such row must be a child on that session's register, and is then checked as the
row with the child's UPN would be.
"""

import csv
import datetime as dt
import io
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from linkwork.accounts.models import Role
from linkwork.core.problems import by_line

from .queries import ABSENT, ATTENDED, ENGAGED, register_services_for
from .services import Refused, RegisterMark, record_register

COLUMNS = ("service_code", "session_date", "upn", "attended", "engaged")
FILENAME = "registers.csv"
# The register sheet: `child` in place of the UPN; `name` and `year_group` are there for
# the person marking it and are not read back.
SHEET_COLUMNS = (
    "service_code",
    "session_date",
    "child",
    "name",
    "year_group",
    "attended",
    "engaged",
)
YES_NO = {True: "Y", False: "N", None: ""}


class RegisterUploadInvalid(Exception):
    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


def _csv_text(name: str, content: bytes) -> str:
    """The upload as CSV text; an XLSX workbook's first sheet becomes CSV, row for row."""
    if name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable workbook is one located error
            raise RegisterUploadInvalid(
                [f"{name}:1: not a readable XLSX workbook ({exc})"]
            ) from None
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for row in book.worksheets[0].iter_rows(values_only=True):
            cells = []
            for value in row:
                if isinstance(value, dt.datetime):
                    value = value.date()
                cells.append("" if value is None else str(value))
            writer.writerow(cells)
        return out.getvalue()
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RegisterUploadInvalid([f"{name}:1: not UTF-8 text (byte {exc.start})"]) from None


def register_sheet(service, days: list[dt.date]) -> bytes:
    """The registers of a service's sessions on these days as one XLSX sheet to mark
    offline and upload: one row per child on each register, day by day, with their mark
    so far, as the register page lists them (`register_rows`: two queries a session, and
    a sheet covers at most 16 weeks)."""
    from openpyxl import Workbook

    from linkwork.core.spreadsheets import safe_row

    from .queries import register_rows

    book = Workbook()
    sheet = book.active
    sheet.title = "Register"
    sheet.append(list(SHEET_COLUMNS))
    for on in days:
        for row in register_rows(service, on):
            attended = None if not row.state else row.state != ABSENT
            engaged = (row.state == ENGAGED) if attended else None
            pupil = row.pupil
            sheet.append(
                safe_row(
                    [
                        service.code,
                        on.isoformat(),
                        pupil.pk,
                        pupil.name,
                        pupil.get_year_group_display(),
                        YES_NO[attended],
                        YES_NO[engaged],
                    ]
                )
            )
    for letter, width in zip("ABCDEFG", (14, 13, 8, 28, 12, 10, 10), strict=True):
        sheet.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _by_child(actor, name: str, text: str) -> tuple[str, list[str], set[str], dict, int]:
    """A register naming children by `child` as the same rows naming them by UPN; the
    rows whose child is not on that session's register (each located); the lines left
    without a UPN (those, and rows whose session is itself wrong); {UPN: child number}
    of the children named, to put the numbers back into any message; and how many rows
    are not marked.

    A row of a sheet with neither `attended` nor `engaged` filled in is a child not
    marked yet (a session still ahead on a sheet of several, or one not taken): it is
    left out, a blank line in its place so that every other row keeps its line."""
    from linkwork.people.models import Pupil

    from .queries import allocated_pupils

    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    at = {column.strip(): i for i, column in enumerate(header)}
    rows = list(reader)
    services = {s.code: s for s in register_services_for(actor)}
    # Without its mark columns every row would read as not marked, and be left out.
    missing = [
        f"{name}:1: {column}: missing column"
        for column in ("service_code", "session_date", "child", "attended", "engaged")
        if column not in at
    ]
    if missing:
        raise RegisterUploadInvalid(missing)

    def cell(row, column):
        i = at.get(column)
        return row[i].strip() if i is not None and i < len(row) else ""

    on_register: dict[tuple, set] = {}
    for row in rows:
        code, day = cell(row, "service_code"), cell(row, "session_date")
        if code in services and (code, day) not in on_register:
            try:
                when = dt.date.fromisoformat(day)
            except ValueError:
                continue
            on_register[(code, day)] = set(
                allocated_pupils(services[code], when).values_list("pk", flat=True)
            )
    wanted = {int(cell(r, "child")) for r in rows if cell(r, "child").isdigit()}
    upns = dict(Pupil.objects.filter(pk__in=wanted).values_list("pk", "upn"))
    errors = []
    unresolved = set()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    unmarked = 0
    for line, row in enumerate(rows, start=2):
        if row and not cell(row, "attended") and not cell(row, "engaged"):
            unmarked += 1
            writer.writerow([])
            continue
        code, day, child = cell(row, "service_code"), cell(row, "session_date"), cell(row, "child")
        upn = ""
        if (code, day) in on_register:
            if child.isdigit() and int(child) in on_register[(code, day)]:
                upn = upns[int(child)]
            else:
                errors.append(
                    f"{name}:{line}: child: not on the register of {code} on {day} ({child})"
                )
        if not upn:
            unresolved.add(str(line))
        writer.writerow([code, day, upn, cell(row, "attended"), cell(row, "engaged")])
    children = {upn: pk for pk, upn in upns.items()}
    return out.getvalue(), errors, unresolved, children, unmarked


# A UPN as the package rules quote it: a letter, then eleven digits and a digit or letter.
UPN_IN_TEXT = re.compile(r"\b[A-Z]\d{11}[0-9A-Z]\b")


def _in_uploader_terms(errors: list[str], children: dict, *, hide_upns: bool) -> list[str]:
    """The problems as the uploader named the children: a UPN a sheet's `child` number
    stood for is that number again, and for partner staff, who never see UPNs, any
    other UPN is withheld."""

    def named(match):
        upn = match.group(0)
        if upn in children:
            return f"child {children[upn]}"
        return "[UPN withheld]" if hide_upns else upn

    out = []
    for error in errors:
        if children:
            error = error.replace("+upn:", "+child:")
        out.append(UPN_IN_TEXT.sub(named, error))
    return out


def _package_problems(actor, text: str) -> list[str]:
    from linkwork.packages.services import PackageInvalid, load_package

    with tempfile.TemporaryDirectory(prefix="register-upload-") as folder:
        (Path(folder) / FILENAME).write_text(text, encoding="utf-8")
        try:
            load_package(actor=actor, path=folder, dry_run=True)
        except PackageInvalid as exc:
            return exc.errors
    return []


@dataclass(frozen=True)
class UploadResult:
    rows: int
    sessions: int
    new: int  # marks on children not marked before
    corrected: int  # marks that changed
    unmarked: int = 0  # rows of a sheet not marked, left as they were

    @property
    def unchanged(self) -> int:
        return self.rows - self.new - self.corrected

    def __str__(self) -> str:
        def count(n, word):
            return f"{n} {word}{'' if n == 1 else 's'}"

        left = f"; {count(self.unmarked, 'row')} not marked, left as before"
        return (
            f"{count(self.rows, 'row')} for {count(self.sessions, 'session')}: "
            f"{self.new} new, {self.corrected} corrected, {self.unchanged} unchanged"
            + (left if self.unmarked else "")
        )


def upload_registers(*, actor, name: str, content: bytes, today: dt.date) -> UploadResult:
    """Check an uploaded register file whole, then save every session's marks.

    Returns what was read and what changed; a bad file raises RegisterUploadInvalid with
    `file:line: column: message (value)` for each problem, and nothing is saved.
    """
    text = _csv_text(name, content)
    header = next(csv.reader(io.StringIO(text)), [])
    errors = []
    unnamed = set()
    children = {}
    unmarked = 0
    if "child" in {column.strip() for column in header}:
        text, errors, unnamed, children, unmarked = _by_child(actor, name, text)
    # A row whose child could not be named has no UPN: its problem is said above (or by
    # its service or date), not by the package rules' "upn" complaint.
    errors += [
        problem
        for problem in (e.replace(FILENAME, name, 1) for e in _package_problems(actor, text))
        if not (problem.split(":", 2)[1] in unnamed and ": upn:" in problem)
    ]
    services = {s.code: s for s in register_services_for(actor)}
    sessions: dict[tuple, list] = {}
    # The upload's own rules, checked on every row the package rules can read, so one
    # pass reports every problem; the package rules already named the rows they cannot.
    rows = csv.DictReader(io.StringIO(text))
    for row in rows:
        line = rows.line_num  # blank lines (rows not marked) are counted, not read
        code = (row.get("service_code") or "").strip()
        try:
            day = dt.date.fromisoformat((row.get("session_date") or "").strip())
        except ValueError:
            continue
        if code not in services:
            errors.append(f"{name}:{line}: service_code: not one of your services ({code})")
            continue
        if day > today:
            errors.append(f"{name}:{line}: session_date: in the future ({day})")
        attended = (row.get("attended") or "").strip().upper() == "Y"
        engaged = (row.get("engaged") or "").strip().upper() == "Y"
        state = (ENGAGED if engaged else ATTENDED) if attended else ABSENT
        sessions.setdefault((code, day), []).append((line, (row.get("upn") or "").strip(), state))
    hide = getattr(actor, "role", None) == Role.PARTNER
    if errors:
        errors = _in_uploader_terms(errors, children, hide_upns=hide)
        raise RegisterUploadInvalid(by_line(errors))
    from linkwork.people.models import Pupil

    upns = {upn for marks in sessions.values() for _, upn, _ in marks}
    ids = dict(Pupil.objects.filter(upn__in=upns).values_list("upn", "pk"))
    written = corrected = 0
    with transaction.atomic():
        for (code, day), marks in sorted(sessions.items()):
            try:
                result = record_register(
                    actor=actor,
                    service=services[code],
                    session_date=day,
                    today=today,
                    marks=[RegisterMark(pupil_id=ids[upn], state=state) for _, upn, state in marks],
                )
            except Refused as exc:
                errors.append(f"{name}:{marks[0][0]}: session_date: {exc} ({code} {day})")
                continue
            written += result.written
            corrected += result.corrected
        if errors:
            transaction.set_rollback(True)
            raise RegisterUploadInvalid(_in_uploader_terms(errors, children, hide_upns=hide))
    rows = sum(len(marks) for marks in sessions.values())
    return UploadResult(
        rows=rows,
        sessions=len(sessions),
        new=written - corrected,
        corrected=corrected,
        unmarked=unmarked,
    )
