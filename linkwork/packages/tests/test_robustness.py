"""Whatever bytes a package holds, loading answers with located problems, never a traceback."""

import csv
import io
import itertools
import sys
import types

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkwork.core.documents import DocumentError
from linkwork.packages import documents
from linkwork.packages.reading import read_rows
from linkwork.packages.resources import BY_NAME
from linkwork.packages.services import PackageInvalid, load_package

from .conftest import row_counts

_runs = itertools.count()

CSV_ISH = st.text(
    alphabet=st.sampled_from(list('abcXYZ019-,;"\n\r\t \x00\x07é€') + ["\ufeff"]), max_size=200
)
REGISTER_HEADER = "service_code,session_date,upn,attended,engaged\n"


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300))
def test_reading_any_bytes_reports_or_yields_rows(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("read") / "registers.csv"
    path.write_bytes(data)
    problems = []
    rows = list(read_rows(path, BY_NAME["registers"].column_names, lambda *p: problems.append(p)))
    assert rows or problems or data.strip(b"\r\n") in (b"", b"\xef\xbb\xbf")
    for line, _ in rows:
        assert line >= 2


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        st.binary(max_size=200),
        CSV_ISH.map(lambda text: (REGISTER_HEADER + text).encode("utf-8")),
    ),
    filename=st.sampled_from(["registers.csv", "pupils.csv", "schools.csv", "consents.csv"]),
)
def test_loading_junk_never_raises_anything_but_package_invalid(example_package, body, filename):
    package = example_package.parent / f"fuzz-{next(_runs)}"
    package.mkdir()
    for name in ("schools.csv", "pupils.csv", "partners.csv", "services.csv", "allocations.csv"):
        (package / name).write_bytes((example_package / name).read_bytes())
    (package / filename).write_bytes(body)
    before = row_counts()
    try:
        load_package(actor=None, path=package, dry_run=True)
    except PackageInvalid as refused:
        assert refused.errors
        assert all(error.split(":", 1)[0] for error in refused.errors)
    assert row_counts() == before


# YAML documents, with the owning app's functions replaced -----------------------------


@pytest.fixture
def fake_screening(monkeypatch):
    """A screening parser and store standing in for the screening app's own."""
    stored = []

    def parse_screening_rules(source, *, filename):
        if "bad" in source:
            raise DocumentError([f"{filename}:2: min_risk_areas: a whole number (bad)"])
        return {"text": source}

    def store_screening_rules(*, actor, document, source):
        from linkwork.screening.models import ScreeningRules

        latest = ScreeningRules.objects.order_by("-version").first()
        if latest is None or latest.document != document:
            version = latest.version + 1 if latest else 1
            ScreeningRules.objects.create(version=version, document=document, source=source)
        stored.append(document)

    monkeypatch.setitem(
        sys.modules,
        "linkwork.screening.documents",
        types.SimpleNamespace(parse_screening_rules=parse_screening_rules),
    )
    monkeypatch.setitem(
        sys.modules,
        "linkwork.screening.services",
        types.SimpleNamespace(store_screening_rules=store_screening_rules),
    )
    return stored


@pytest.mark.django_db
def test_a_document_is_stored_once_and_a_reload_is_unchanged(tmp_path, fake_screening):
    (tmp_path / "screening.yaml").write_text("min_risk_areas: 2\n", encoding="utf-8")
    first = load_package(actor=None, path=tmp_path)
    second = load_package(actor=None, path=tmp_path)
    assert first.counts == {"screening": {"inserted": 1, "updated": 0, "unchanged": 0}}
    assert second.counts == {"screening": {"inserted": 0, "updated": 0, "unchanged": 1}}
    assert fake_screening == [{"text": "min_risk_areas: 2\n"}] * 2


@pytest.mark.django_db
def test_a_document_parser_s_problems_refuse_the_package(example_package, fake_screening):
    (example_package / "screening.yaml").write_text("min_risk_areas: bad\n", encoding="utf-8")
    before = row_counts()
    with pytest.raises(PackageInvalid) as refused:
        load_package(actor=None, path=example_package)
    assert refused.value.errors == ["screening.yaml:2: min_risk_areas: a whole number (bad)"]
    assert row_counts() == before
    assert fake_screening == []


@pytest.mark.django_db
def test_a_document_not_in_utf8_is_located(tmp_path, fake_screening):
    (tmp_path / "screening.yaml").write_bytes("areas:\n  note: café\n".encode("cp1252"))
    with pytest.raises(PackageInvalid) as refused:
        load_package(actor=None, path=tmp_path)
    assert refused.value.errors == [
        "screening.yaml:2: file is Windows-1252; save as UTF-8 (byte 0xE9)"
    ]


@pytest.mark.django_db
def test_a_document_kind_without_its_parser_is_refused_not_dropped(tmp_path, monkeypatch):
    missing = documents.Kind(
        "contracts",
        "contracts",
        "",
        ("linkwork.contracts.no_such_module", "parse_contract"),
        ("linkwork.contracts.services", "store_contract"),
        "contracts.Contract",
    )
    monkeypatch.setattr(documents, "KINDS", (missing,))
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "EX-9.yaml").write_text("code: EX-9\n", encoding="utf-8")
    with pytest.raises(PackageInvalid) as refused:
        load_package(actor=None, path=tmp_path)
    assert refused.value.errors == [
        "contracts/EX-9.yaml:1: contracts documents cannot be loaded: "
        "linkwork.contracts.no_such_module is missing"
    ]


@pytest.mark.django_db
def test_the_worked_example_contract_is_stored_by_the_contracts_app(example_package):
    from linkwork.contracts.models import Contract

    load_package(actor=None, path=example_package)
    contract = Contract.objects.get(code="EX-1")
    assert contract.version == 1
    assert contract.source == (example_package / "contracts" / "EX-1.yaml").read_text()


# The commands ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_load_command_prints_every_problem_then_a_count_and_exits_1(example_package):
    (example_package / "pupil.csv").write_text("upn\n", encoding="utf-8")
    with open(example_package / "registers.csv", "a", encoding="utf-8") as handle:
        handle.write("ARTS-MON,2024-12-02,C201300024001,N,Y\n")
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("load", str(example_package), stderr=err, stdout=io.StringIO())
    assert exit_.value.code == 1
    assert err.getvalue().splitlines() == [
        "pupil.csv:1: not a file of a zone data package",
        "registers.csv:36: engaged: Y, but attended is N: engaged only when attended (Y)",
        "2 problems; nothing was loaded.",
    ]


@pytest.mark.django_db
def test_load_command_reports_counts_and_dry_run_writes_nothing(example_package):
    out = io.StringIO()
    call_command("load", str(example_package), "--dry-run", stdout=out)
    assert "Dry run" in out.getvalue()
    assert row_counts()["RegisterEntry"] == 0
    out = io.StringIO()
    call_command("load", str(example_package), stdout=out)
    table = {line.split()[0]: line.split()[1:] for line in out.getvalue().splitlines()[1:] if line}
    assert table["registers"] == ["34", "0", "0"]


@pytest.mark.django_db
def test_export_command_writes_a_package_that_loads(example_package, tmp_path):
    call_command("load", str(example_package), stdout=io.StringIO())
    call_command("export", str(tmp_path / "out"), stdout=io.StringIO())
    with (tmp_path / "out" / "registers.csv").open(encoding="utf-8") as handle:
        assert sum(1 for _ in csv.reader(handle)) == 35
    report = load_package(actor=None, path=tmp_path / "out")
    assert not report.changed
