"""Turning an uploaded CSV or XLSX file into a one-file zone data package folder, and
the upload's own checks on top of the package rules."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from linkwork.core.dates import years_after

UPLOADABLE = ("pupils", "school_attendance", "attainment", "scores", "responses")
# A date of birth outside these ages on the day of the upload is not a school child's:
# nursery classes take two-year-olds, and special schools and colleges teach to 25.
YOUNGEST_AGE, OLDEST_AGE = 2, 25


class UploadError(ValueError):
    """A file that cannot be read at all (not CSV or XLSX, empty, unreadable)."""


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        # spreadsheets store every number as a float: show it as its shortest decimal
        return str(int(value)) if value.is_integer() else str(Decimal(repr(value)))
    return str(value)


def xlsx_to_csv(data: bytes) -> str:
    """The first sheet of a workbook as CSV text; row n of the sheet is line n."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not XLSX
        raise UploadError(f"not a readable XLSX workbook ({type(exc).__name__})") from None
    sheet = workbook.worksheets[0]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in sheet.iter_rows(values_only=True):
        cells = [_cell(value) for value in row]
        while cells and cells[-1] == "":
            cells.pop()
        writer.writerow(cells)
    workbook.close()
    return out.getvalue()


def write_package(folder: Path, *, resource_filename: str, original_name: str, data: bytes) -> None:
    """Write the upload into `folder` as `<resource>.csv`, converting XLSX."""
    name = original_name.lower()
    if name.endswith(".xlsx"):
        text = xlsx_to_csv(data)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / resource_filename).write_text(text, encoding="utf-8")
    elif name.endswith(".csv"):
        if not data.strip():
            raise UploadError("the file is empty")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / resource_filename).write_bytes(data)
    else:
        raise UploadError("upload a .csv or .xlsx file")


def preview(folder: Path, resource_filename: str, limit: int = 10) -> list[list[str]]:
    """The header and first rows of the stored file, for the page."""
    path = folder / resource_filename
    if not path.exists():
        return []
    rows = []
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        for n, row in enumerate(csv.reader(handle)):
            if n > limit:
                break
            rows.append(row)
    return rows


def upload_problems(
    folder: Path, resource_filename: str, *, today: date, limit: int = 1000
) -> tuple[list[str], int]:
    """The upload's own rules, beyond the package's: a file with a header but no rows; a
    date after `today` (the day of the upload) in any date column; a date of birth less
    than YOUNGEST_AGE or more than OLDEST_AGE years before it.

    Returns the problems as `file:line: column: message (value)` (at most `limit`
    listed) and how many there are. A cell that is not a date is left to the package rules.
    """
    from linkwork.packages.reading import read_rows
    from linkwork.packages.resources import BY_FILENAME, Invalid, iso_date

    path = folder / resource_filename
    if not path.is_file():
        return [], 0  # nothing to read: the package rules say what they find
    resource = BY_FILENAME[resource_filename]
    dates = [column.name for column in resource.columns if column.kind == "date"]
    youngest = years_after(today, -YOUNGEST_AGE)
    oldest = years_after(today, -OLDEST_AGE)
    problems: list[str] = []
    count = 0
    rows = False

    def seen(line, column, message, value):
        # the package rules report these; a row they refuse is still a row
        nonlocal rows
        rows = rows or line > 1

    def add(line, column, message, value):
        nonlocal count
        count += 1
        if len(problems) < limit:
            problems.append(f"{resource_filename}:{line}: {column}: {message} ({value})")

    for line, row in read_rows(path, resource.column_names, seen):
        rows = True
        for column in dates:
            try:
                day = date.fromisoformat(iso_date(row.get(column) or ""))
            except Invalid:
                continue
            if day > today:
                add(line, column, "in the future", row[column])
            elif column == "date_of_birth" and not oldest <= day <= youngest:
                age = f"under {YOUNGEST_AGE}" if day > youngest else f"over {OLDEST_AGE}"
                add(line, column, f"{age} years old on the day of the upload", row[column])
    with path.open("rb") as handle:
        header = handle.readline().strip()
    if not rows and header:  # with no header at all, the package rules say so
        count += 1
        problems.append(f"{resource_filename}:1: the file has a header but no rows")
    if count > len(problems):
        problems.append(f"{resource_filename}: {more_not_listed(count - len(problems))}")
    return problems, count


def more_not_listed(count: int) -> str:
    return f"{count} more problem{'' if count == 1 else 's'} not listed"


def as_uploaded(errors: list[str], resource_filename: str, original_name: str) -> list[str]:
    """Problems named by the package's file (`pupils.csv:3: …`) named instead by the file
    the manager uploaded (`autumn pupils.xlsx:3: …`): its lines are the same."""
    prefix = f"{resource_filename}:"
    return [
        f"{original_name}:{error[len(prefix) :]}" if error.startswith(prefix) else error
        for error in errors
    ]
