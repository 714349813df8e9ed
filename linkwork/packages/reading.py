"""Reading a package's CSV files as a stream of rows with physical line numbers.

Bytes are decoded line by line so a file that is not UTF-8 is reported at the line
where it stops being UTF-8 (and a Windows-1252 file saved by Excel is named as such).
Control characters, NUL bytes, lines that never end and ragged rows are located
problems, never exceptions. Nothing but the current line is held in memory.
"""

import csv
import re
from collections.abc import Callable, Iterator
from pathlib import Path

MAX_LINE_BYTES = 1 << 20
_BOM = b"\xef\xbb\xbf"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# report(line, column or None, message, value or None)
Report = Callable[[int, str | None, str, str | None], None]


class _Stop(Exception):
    """The rest of the file cannot be read; the reason is already reported."""


def shown(value: str, limit: int = 60) -> str:
    """A cell as it appears in a message: printable, and not too long."""
    if not value.isprintable():
        value = value.encode("unicode_escape").decode("ascii")
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return value


def _decoded_lines(handle, report: Report) -> Iterator[str]:
    number = 0
    while True:
        raw = handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            report(number, None, f"line longer than {MAX_LINE_BYTES} bytes", None)
            raise _Stop
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = raw[exc.start : exc.start + 1]
            try:
                raw.decode("cp1252")
            except UnicodeDecodeError:
                message = "not UTF-8; save as CSV UTF-8"
            else:
                message = "file is Windows-1252 (Excel); save as CSV UTF-8"
            report(number, None, message, f"byte 0x{bad.hex().upper()}")
            raise _Stop from None


def read_rows(path: Path, columns: tuple[str, ...], report: Report):
    """Yield (line, {column: cell}) for each data row of a CSV file.

    Reports header problems (unknown, missing, repeated or empty column names) and row
    problems (wrong number of cells, control characters) through `report`. A ragged row
    is not yielded; a cell with control characters, or of a column missing from the
    header, is absent from its row's dict.
    """
    wanted = set(columns)
    with path.open("rb") as handle:
        lines = _decoded_lines(handle, report)
        reader = csv.reader(lines, strict=True)
        try:
            try:
                header = next(reader, None)
            except csv.Error as exc:
                report(1, None, f"cannot read the header: {exc}", None)
                return
            if header is None:
                report(1, None, "empty file: a header row is needed", None)
                return
            usable = _check_header(header, columns, wanted, report)
            width = len(header)
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
                    report(
                        line,
                        None,
                        f"{len(cells)} values but the header has {width} columns",
                        None,
                    )
                    continue
                row = {}
                for index, name in usable:
                    cell = cells[index]
                    if _CONTROL.search(cell):
                        report(line, name, _control_message(cell), cell)
                    else:
                        row[name] = cell
                yield line, row
        except _Stop:
            return


def _control_message(cell: str) -> str:
    if "\x00" in cell:
        return "contains a NUL byte"
    char = _CONTROL.search(cell).group()
    return f"contains a control character (U+{ord(char):04X})"


def _check_header(header, columns, wanted, report) -> list[tuple[int, str]]:
    usable = []
    seen = set()
    for index, name in enumerate(header):
        if _CONTROL.search(name):
            report(1, None, "column name " + _control_message(name), name)
        elif name == "":
            report(1, None, f"column {index + 1} has no name", None)
        elif name in seen:
            report(1, name, "column given twice", None)
        elif name not in wanted:
            report(1, name, "unknown column", None)
        else:
            usable.append((index, name))
        seen.add(name)
    for name in columns:
        if name not in seen:
            report(1, name, "missing column", None)
    return usable
