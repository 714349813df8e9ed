"""The fast ways of reading and checking rows agree with the plain ways, row for row."""

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkwork.packages.generator import generate_package
from linkwork.packages.reading import FileFacts, read_batches, scan
from linkwork.packages.resources import BY_NAME, RESOURCES
from linkwork.packages.validation import Checker, Indexes, Problems

REGISTERS = BY_NAME["registers"].column_names

# Text with no quote and no control character but tab: what is split at commas.
UNQUOTED = st.text(alphabet=st.sampled_from(list("ab1-, \t\r\né€") + ["\ufeff"]), max_size=300)
HEADERS = st.sampled_from(
    [
        ",".join(REGISTERS),
        "upn,service_code,session_date,attended,engaged",  # another order
        "service_code,session_date,upn,attended",  # a column missing
        "service_code,session_date,upn,attended,engaged,note",  # one unknown
        "",
    ]
)


def read(path, facts):
    problems = []
    batches = list(read_batches(path, REGISTERS, lambda *p: problems.append(p), facts, size=3))
    rows = [
        (line, list(cells))
        for lines, columns in batches
        for line, cells in zip(lines, zip(*columns, strict=True), strict=True)
    ]
    return rows, problems


@settings(max_examples=300, deadline=None)
@given(header=HEADERS, body=UNQUOTED, ending=st.sampled_from(["\n", "\r\n", "\r"]))
def test_splitting_at_commas_reads_what_the_csv_reader_reads(
    tmp_path_factory, header, body, ending
):
    path = tmp_path_factory.mktemp("split") / "registers.csv"
    path.write_bytes((header + ending + body).encode("utf-8"))
    facts = scan(path)
    assert not facts.quotes and not facts.control
    split = read(path, facts)
    by_csv_reader = read(path, FileFacts(facts.lines, control=False, quotes=True))
    assert split == by_csv_reader


def test_a_cell_longer_than_the_csv_limit_is_refused_the_same_way(tmp_path):
    path = tmp_path / "registers.csv"
    long = "x" * (csv.field_size_limit() + 1)
    path.write_text(f"{','.join(REGISTERS)}\nA,2024-01-01,U,Y,\nA,{long},U,Y,\nB,b,b,b,b\n")
    facts = scan(path)
    assert read(path, facts) == read(path, FileFacts(facts.lines, False, True))
    rows, problems = read(path, facts)
    assert [line for line, _ in rows] == [2]
    assert problems == [
        (3, None, f"not valid CSV: field larger than field limit ({csv.field_size_limit()})", None)
    ]


def staged_rows(root, monkeypatch, by_column: bool):
    """Every staged row of every file of a package, with the column-wise rules on or off."""
    if not by_column:
        for resource in RESOURCES:
            monkeypatch.setattr(Checker, f"_{resource.name}_batch", None, raising=False)
    problems = Problems()
    checker = Checker(Indexes(), problems)
    staged = {}
    for resource in RESOURCES:
        path = root / resource.filename
        if not path.is_file():
            continue
        rows = staged[resource.name] = []

        def stage(lines, values, texts, rows=rows):
            columns = zip(*values, strict=True), zip(*texts, strict=True)
            rows.extend(zip(lines, *columns, strict=True))

        checker.check_file(resource, path, stage)
    monkeypatch.undo()
    return staged, problems.lines()


@pytest.mark.django_db
def test_checking_column_by_column_stages_what_checking_row_by_row_stages(tmp_path, monkeypatch):
    generate_package(tmp_path / "zone", children=15, seed=3)
    by_column, problems = staged_rows(tmp_path / "zone", monkeypatch, by_column=True)
    by_row, problems_by_row = staged_rows(tmp_path / "zone", monkeypatch, by_column=False)
    assert problems == problems_by_row == []
    assert by_column == by_row
    assert len(by_column["registers"]) > 100


@pytest.mark.django_db
def test_a_bad_row_in_a_batch_is_found_and_the_others_staged(tmp_path, monkeypatch):
    generate_package(tmp_path / "zone", children=15, seed=3)
    registers = tmp_path / "zone" / "registers.csv"
    lines = registers.read_text().splitlines()
    code, on, upn, _, _ = lines[5].split(",")
    lines[5] = f"{code},{on},{upn},N,Y"  # engaged when not attended
    registers.write_text("\n".join(lines) + "\n")
    by_column, problems = staged_rows(tmp_path / "zone", monkeypatch, by_column=True)
    by_row, problems_by_row = staged_rows(tmp_path / "zone", monkeypatch, by_column=False)
    assert (
        problems
        == problems_by_row
        == ["registers.csv:6: engaged: Y, but attended is N: engaged only when attended (Y)"]
    )
    assert by_column == by_row
    assert 6 not in [row[0] for row in by_column["registers"]]
    assert len(by_column["registers"]) == len(lines) - 2


def test_read_batches_gives_a_file_s_columns_in_the_resource_s_order(tmp_path):
    path = tmp_path / "registers.csv"
    path.write_bytes(
        b"upn,session_date,service_code,attended,engaged\r\nU1,2024-01-01,A,Y,\r\n\r\nU2,x,B,N,N"
    )
    report = io.StringIO()
    batches = list(read_batches(path, REGISTERS, lambda *p: report.write(repr(p))))
    assert batches == [
        ([2, 4], [["A", "B"], ["2024-01-01", "x"], ["U1", "U2"], ["Y", "N"], ["", "N"]])
    ]
    assert report.getvalue() == ""
