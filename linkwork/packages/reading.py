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
from dataclasses import dataclass
from itertools import islice, repeat
from pathlib import Path

_BOM = b"\xef\xbb\xbf"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

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


def read_cells(path: Path, columns: tuple[str, ...], report: Report, facts=None):
    """Yield (line, cells) for each data row: the cells in the order of `columns`.

    The same reading and reports as `read_rows`; a cell with control characters, or of a
    column missing from the header, is None. `facts` is the file's `scan`, when done.
    """
    for lines, cells in read_batches(path, columns, report, facts):
        yield from zip(lines, map(list, zip(*cells, strict=True)), strict=True)


def read_batches(path: Path, columns: tuple[str, ...], report: Report, facts=None, size=2000):
    """Yield (lines, cells) for each batch of up to `size` data rows: their line numbers,
    and for each of `columns` the list of its cells in those rows (as `read_cells`)."""
    facts = facts or scan(path)
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        if facts.control or facts.quotes:
            rows = _rows(csv.reader(text, strict=True), columns, report, not facts.control)
            batches = (_by_column(batch) for batch in _batched(rows, size))
        else:
            batches = _split_batches(_unterminated(text, size), columns, report, size)
        try:
            yield from batches
        except UnicodeDecodeError:
            _report_encoding(path, report)


def _batched(iterable, size):
    iterator = iter(iterable)
    while batch := list(islice(iterator, size)):
        yield batch


def _by_column(rows) -> tuple[list[int], list[list]]:
    """(line, cells) rows as (lines, cells column by column)."""
    lines, cells = zip(*rows, strict=True)
    return list(lines), [list(column) for column in zip(*cells, strict=True)]


# Every control character but tab, newline and carriage return.
_CONTROL_SET = bytes([*range(0, 9), 11, 12, *range(14, 32), 127])


@dataclass(frozen=True)
class FileFacts:
    lines: int  # newline characters: about the number of rows
    control: bool  # some control character (then every row is searched)
    quotes: bool  # some quoted cell (then the CSV reader is needed)


def scan(path: Path) -> FileFacts:
    """One fast pass over the bytes: a clean file with no quotes (the usual case) is then
    split at commas, a batch of lines at a time, without the CSV reader or a search for
    control characters."""
    lines, control, quotes = 0, False, False
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
            control = control or len(block.translate(None, _CONTROL_SET)) != len(block)
            quotes = quotes or b'"' in block
    return FileFacts(lines, control, quotes)


def _split_batches(line_lists, columns, report, size):
    """`read_batches` for a file with no quote and no control character, where each
    physical line is a row whose cells are split at commas, exactly as the CSV reader
    would read them. `line_lists` gives the file's lines (without their ends) a list at
    a time. A batch of lines that are all of the header's width is split in one go; any
    other batch line by line."""
    limit = csv.field_size_limit()
    header = None
    number = 0  # the last line read
    for lines in line_lists:
        first = 0
        if header is None:
            line, first, number = lines[0], 1, 1
            header = line.split(",") if line else []
            if len(line) > limit and max(map(len, header)) > limit:
                report(1, None, f"cannot read the header: {_too_long(limit)}", None)
                return
            _check_header(header, columns, report)
            width = len(header)
            position = {name: index for index, name in enumerate(header)}
            places = None if header == list(columns) else [position.get(name) for name in columns]
        for offset in range(first, len(lines), size):
            rows = lines[offset : offset + size]
            start, number = number + 1, number + len(rows)
            if (
                "" not in rows
                and set(map(str.count, rows, repeat(","))) == {width - 1}
                and max(map(len, rows)) <= limit
            ):
                flat = ",".join(rows).split(",")
                cells = [flat[index::width] for index in range(width)]
                yield list(range(start, number + 1)), _arranged(cells, places, len(rows))
                continue
            good = []
            for number_, line in enumerate(rows, start=start):
                if not line:
                    continue  # a blank line
                if len(line) > limit and max(map(len, line.split(","))) > limit:
                    if good:
                        lines_, cells = _by_column(good)
                        yield lines_, _arranged(cells, places, len(lines_))
                    report(number_, None, f"not valid CSV: {_too_long(limit)}", None)
                    return
                row = line.split(",")
                if len(row) != width:
                    values = "1 value" if len(row) == 1 else f"{len(row)} values"
                    report(number_, None, f"{values} but the header has {width} columns", None)
                    continue
                good.append((number_, row))
            if good:
                lines_, cells = _by_column(good)
                yield lines_, _arranged(cells, places, len(lines_))
    if header is None:
        report(1, None, "empty file: a header row is needed", None)


def _unterminated(text, size):
    """A text file's lines without their ends (\r, \n or \r\n), `size` at a time."""
    while chunk := list(islice(text, size)):
        yield [line.rstrip("\r\n") for line in chunk]


def _arranged(cells, places, count):
    """Columns in the file's order as columns in the resource's order (None: missing)."""
    if places is None:
        return cells
    return [[None] * count if place is None else cells[place] for place in places]


def _too_long(limit: int) -> str:
    return f"field larger than field limit ({limit})"  # the CSV reader's own words


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
