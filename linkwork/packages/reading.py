"""Reading a package's CSV files as a stream of rows with physical line numbers.

A file that is not UTF-8 is reported at the line where it stops being UTF-8 (and a
Windows-1252 file saved by Excel is named as such). Control characters, NUL bytes,
broken quoting and ragged rows are located problems, never exceptions. Nothing but the
current row is held in memory.
"""

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

_BOM = b"\xef\xbb\xbf"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # never inside UTF-8

# report(line, column or None, message, value or None)
Report = Callable[[int, str | None, str, str | None], None]


def shown(value: str, limit: int = 60) -> str:
    """A cell as it appears in a message: printable, and not too long."""
    if not value.isprintable():
        value = value.encode("unicode_escape").decode("ascii")
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return value


def _report_encoding(path: Path, report: Report) -> None:
    """Find and report the first line that is not UTF-8 (a second, rare pass)."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad = raw[exc.start : exc.start + 1]
                try:
                    raw.decode("cp1252")
                except UnicodeDecodeError:
                    message = "not UTF-8; save as CSV UTF-8"
                else:
                    message = "file is Windows-1252 (Excel); save as CSV UTF-8"
                report(number, None, message, f"byte 0x{bad.hex().upper()}")
                return
    report(1, None, "not UTF-8; save as CSV UTF-8", None)  # pragma: no cover


def read_rows(path: Path, columns: tuple[str, ...], report: Report):
    """Yield (line, {column: cell}) for each data row of a CSV file.

    Reports header problems (unknown, missing, repeated or empty column names) and row
    problems (wrong number of cells, control characters) through `report`. A ragged row
    is not yielded; a cell with control characters, or of a column missing from the
    header, is absent from its row's dict.
    """
    for line, cells in read_cells(path, columns, report):
        pairs = zip(columns, cells, strict=True)
        yield line, {name: cell for name, cell in pairs if cell is not None}


def read_cells(path: Path, columns: tuple[str, ...], report: Report):
    """Yield (line, cells) for each data row: the cells in the order of `columns`.

    The same reading and reports as `read_rows`; a cell with control characters, or of a
    column missing from the header, is None.
    """
    clean = not _has_control_bytes(path)
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.reader(text, strict=True)
        try:
            yield from _rows(reader, columns, report, clean)
        except UnicodeDecodeError:
            _report_encoding(path, report)


def _has_control_bytes(path: Path) -> bool:
    """Whether the file has any control character: one fast pass, so that a clean file
    (the usual case) is not searched row by row."""
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            if _CONTROL_BYTES.search(block):
                return True
    return False


def _rows(reader, columns, report, clean=False):
    try:
        header = next(reader, None)
    except csv.Error as exc:
        report(1, None, f"cannot read the header: {exc}", None)
        return
    if header is None:
        report(1, None, "empty file: a header row is needed", None)
        return
    _check_header(header, columns, report)
    width = len(header)
    # Where each wanted column is in the file; the common case is the same order.
    position = {name: index for index, name in enumerate(header)}
    places = [position.get(name) for name in columns]
    in_order = list(header) == list(columns)
    control = _CONTROL.search
    previous = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            report(previous + 1, None, f"not valid CSV: {exc}", None)
            return
        line = previous + 1
        previous = reader.line_num
        if not cells:
            continue  # a blank line
        if len(cells) != width:
            values = "1 value" if len(cells) == 1 else f"{len(cells)} values"
            report(line, None, f"{values} but the header has {width} columns", None)
            continue
        if not clean and control("".join(cells)):
            for index, (name, cell) in enumerate(zip(header, cells, strict=True)):
                if control(cell):
                    report(line, name, _control_message(cell), cell)
                    cells[index] = None
        if not in_order:
            cells = [None if place is None else cells[place] for place in places]
        yield line, cells


def _control_message(cell: str) -> str:
    if "\x00" in cell:
        return "contains a NUL byte"
    char = _CONTROL.search(cell).group()
    return f"contains a control character (U+{ord(char):04X})"


def _check_header(header, columns, report) -> None:
    seen = set()
    for index, name in enumerate(header):
        if _CONTROL.search(name):
            report(1, None, "column name " + _control_message(name), name)
        elif name == "":
            report(1, None, f"column {index + 1} has no name", None)
        elif name in seen:
            report(1, name, "column given twice", None)
        elif name not in columns:
            report(1, name, "unknown column", None)
        seen.add(name)
    for name in columns:
        if name not in seen:
            report(1, name, "missing column", None)
