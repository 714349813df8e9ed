"""Register uploads: a CSV or XLSX file checked like a package's `registers.csv`.

The rows are written to a temporary package folder and checked by the package loader
(dry run, nothing kept); then each session's marks are saved with `record_register`.
"""

import csv
import datetime as dt
import io
import tempfile
from pathlib import Path

from django.db import transaction

from .queries import ABSENT, ATTENDED, ENGAGED, register_services_for
from .services import Refused, RegisterMark, record_register

COLUMNS = ("service_code", "session_date", "upn", "attended", "engaged")
FILENAME = "registers.csv"


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


def _package_problems(actor, text: str) -> list[str]:
    from linkwork.packages.services import PackageInvalid, load_package

    with tempfile.TemporaryDirectory(prefix="register-upload-") as folder:
        (Path(folder) / FILENAME).write_text(text, encoding="utf-8")
        try:
            load_package(actor=actor, path=folder, dry_run=True)
        except PackageInvalid as exc:
            return exc.errors
    return []


def upload_registers(*, actor, name: str, content: bytes, today: dt.date) -> int:
    """Check an uploaded register file whole, then save every session's marks.

    Returns the number of marks written; a bad file raises RegisterUploadInvalid with
    `file:line: column: message (value)` for each problem, and nothing is saved.
    """
    text = _csv_text(name, content)
    errors = [e.replace(FILENAME, name, 1) for e in _package_problems(actor, text)]
    if errors:
        raise RegisterUploadInvalid(errors)
    services = {s.code: s for s in register_services_for(actor)}
    sessions: dict[tuple, list] = {}
    rows = csv.DictReader(io.StringIO(text))
    for line, row in enumerate(rows, start=2):
        code = (row.get("service_code") or "").strip()
        if code not in services:
            errors.append(f"{name}:{line}: service_code: not one of your services ({code})")
            continue
        day = dt.date.fromisoformat(row["session_date"].strip())
        if day > today:
            errors.append(f"{name}:{line}: session_date: in the future ({day})")
        attended = row["attended"].strip().upper() == "Y"
        engaged = (row.get("engaged") or "").strip().upper() == "Y"
        state = (ENGAGED if engaged else ATTENDED) if attended else ABSENT
        sessions.setdefault((code, day), []).append((line, row["upn"].strip(), state))
    if errors:
        raise RegisterUploadInvalid(errors)
    from linkwork.people.models import Pupil

    upns = {upn for marks in sessions.values() for _, upn, _ in marks}
    ids = dict(Pupil.objects.filter(upn__in=upns).values_list("upn", "pk"))
    written = 0
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
        if errors:
            transaction.set_rollback(True)
            raise RegisterUploadInvalid(errors)
    return written
