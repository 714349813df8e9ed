"""Turning an uploaded CSV or XLSX file into a one-file zone data package folder."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

UPLOADABLE = ("pupils", "school_attendance", "attainment", "scores", "responses")


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
