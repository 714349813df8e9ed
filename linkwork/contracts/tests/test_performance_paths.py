"""The paths taken for speed give exactly what the plain ones give."""

import datetime as dt
import re
from dataclasses import replace

import pytest
from django.db import DataError, connection

from linkwork.contracts.achievements import (
    RegisterFact,
    child_window,
    read_counts,
    tally_registers,
)
from linkwork.contracts.claims import claim_as_json
from linkwork.contracts.models import Claim
from linkwork.contracts.queries import (
    REGISTERS,
    claim_result,
    contract_terms,
    latest_contract,
    list_draft_registers,
    load_children,
    submitted_lines,
)
from linkwork.contracts.services import (
    ClaimError,
    compute_for,
    export_evidence,
    export_statement,
    run_claim,
    submit_claim,
)
from linkwork.support.models import RegisterEntry

from .loader import load

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL counts and lists register rows"
)


def _stored(claim):
    return claim_as_json(claim_result(claim), status=claim.status)


def _computed(code, period, status):
    return claim_as_json(compute_for(contract_terms(latest_contract(code)), period), status=status)


def _rows_match_counts(evidence):
    (counts,) = [item for item in evidence if re.match(r"T1, \S+ to \S+: \d+ sessions", item)]
    (rows,) = [item for item in evidence if item.startswith(REGISTERS)]
    first, last, sessions, attended, engaged = read_counts(counts)
    listed = rows[len(REGISTERS) :].split("; ")
    assert len(listed) == sessions
    days = [dt.date.fromisoformat(row.split()[2]) for row in listed]
    assert first <= min(days) and max(days) <= last
    assert sum(1 for row in listed if row.endswith(("YY", "YN"))) == attended
    assert sum(1 for row in listed if row.endswith("YY")) == engaged


def test_submitted_engagement_lines_list_every_row_counted(db, example_package):
    load(example_package / "package")
    claim = submit_claim(actor=None, contract_code="EX-1", period_code="T1")
    engaged = [line for line in claim.lines.all() if line.trigger == "engaged"]
    assert len(engaged) == 2
    for line in engaged:
        _rows_match_counts(line.evidence)


def test_a_draft_stores_counts_and_days_and_lists_its_rows_when_read(db, example_package):
    load(example_package / "package")
    claim = run_claim(actor=None, contract_code="EX-1", period_code="T1")
    engaged = [line for line in claim.lines.order_by("position") if line.trigger == "engaged"]
    assert len(engaged) == 2
    for line in engaged:
        assert line.evidence[-1] == REGISTERS  # stored without its rows
    assert list_draft_registers(engaged) == 0
    for line in engaged:
        _rows_match_counts(line.evidence)
    submitted = submit_claim(actor=None, contract_code="EX-1", period_code="T1")
    as_submitted = [line.evidence for line in submitted.lines.order_by("position")]
    assert [line.evidence for line in engaged] == [
        evidence for evidence in as_submitted if any("sessions" in i for i in evidence)
    ]


def test_a_draft_whose_rows_changed_says_so_and_is_not_downloaded(db, example_package):
    load(example_package / "package")
    claim = run_claim(actor=None, contract_code="EX-1", period_code="T1")
    line = claim.lines.filter(trigger="engaged").order_by("position").first()
    entry = RegisterEntry.objects.filter(
        pupil__upn=line.upn, session_date__lte="2024-12-31", attended=True
    ).first()
    RegisterEntry.objects.filter(pk=entry.pk).update(attended=False, engaged=None)
    rows = list(claim.lines.filter(pk=line.pk))
    assert list_draft_registers(rows) == 1
    assert rows[0].evidence[-1].startswith("registers: changed since this draft was computed (")
    with pytest.raises(ClaimError, match="register rows of 1 of its lines changed"):
        export_evidence(actor=None, claim=claim)
    payer = next(iter(claim.payer_totals))
    for fmt in ("xlsx", "pdf"):  # its statements would show what it no longer earns
        with pytest.raises(ClaimError, match="register rows of 1 of its lines changed"):
            export_statement(actor=None, claim=claim, payer=payer, fmt=fmt)


@on_postgresql
def test_rows_listed_while_storing_match_rows_listed_in_python(db, example_package):
    """The draft's engagement rows are listed by the database as the lines are written;
    they are the rows `compute_for` lists (checked against the pure rule in test_queries),
    for claims, and for adjustments after a correction."""
    load(example_package / "package")
    for period in ("T1", "T2"):
        claim = run_claim(actor=None, contract_code="EX-1", period_code=period)
        assert _stored(claim) == _computed("EX-1", period, "draft")
        submit_claim(actor=None, contract_code="EX-1", period_code=period)
    load(example_package / "corrected")
    claim = run_claim(actor=None, contract_code="EX-1", period_code="T3")
    stored = _stored(claim)
    assert stored == _computed("EX-1", "T3", "draft")
    assert stored["lines"][0]["kind"] == "adjustment"
    evidence = [item for line in stored["lines"] for item in line["evidence"]]
    assert REGISTERS not in evidence
    assert any(item.startswith("registers: #") for item in evidence)


@on_postgresql
def test_database_tallies_put_rows_on_period_edges_in_the_right_period(db, example_package):
    registers = example_package / "package" / "registers.csv"
    with registers.open("a") as out:
        for day in ("2024-12-31", "2025-01-01", "2025-04-30", "2025-05-01", "2025-08-31"):
            out.write(f"ARTS-MON,{day},C201300024001,Y,Y\n")
    load(example_package / "package")
    terms = contract_terms(latest_contract("EX-1"))
    (children,) = list(load_children(terms))
    child = next(c for c in children if c.upn == "C201300024001")
    rows = [
        RegisterFact(e.session_date, e.attended, e.engaged, e.service.code, e.pk)
        for e in RegisterEntry.objects.filter(pupil__upn=child.upn).select_related("service")
    ]
    expected = tally_registers(terms, child_window(terms, child), rows)
    assert child.tallies == tuple(replace(t, rows="") for t in expected)
    assert [t.sessions for t in child.tallies] == [6, 6, 8]


@on_postgresql
def test_a_failed_listing_stores_nothing(db, example_package, monkeypatch):
    """A failure while the database lists the rows is the run's failure, and the run's
    transaction is rolled back."""
    from linkwork.contracts import services

    load(example_package / "package")

    def broken(batch):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")

    monkeypatch.setattr(services, "_list_rows", broken)
    with pytest.raises(DataError):
        submit_claim(actor=None, contract_code="EX-1", period_code="T1")
    assert not Claim.objects.exists()


def test_a_claim_reads_only_the_evidence_of_the_lines_it_reverses(db, example_package):
    """Submitted lines are read without their evidence; a line being reversed brings
    back the evidence it was claimed with."""
    load(example_package / "package")
    t1 = submit_claim(actor=None, contract_code="EX-1", period_code="T1")
    submit_claim(actor=None, contract_code="EX-1", period_code="T2")
    load(example_package / "corrected")
    assert all(line.evidence == () for line in submitted_lines("EX-1", evidence=False))
    claim = run_claim(actor=None, contract_code="EX-1", period_code="T3")
    (adjustment,) = claim.lines.filter(kind="adjustment")
    reversed_line = t1.lines.get(upn=adjustment.upn, trigger=adjustment.trigger)
    assert adjustment.evidence == [
        "no longer supported: T1 now: 4 sessions, 2 attended, 1 engaged; the trigger needs at "
        "least 4 sessions, attended ≥ 0.75 × sessions and engaged ≥ 0.5 × attended",
        "reverses the line claimed with",
        *reversed_line.evidence,
    ]


@on_postgresql
def test_a_draft_run_in_its_own_transaction_reads_ahead_and_computes_the_same(
    shipped, example_package, monkeypatch
):
    """Outside a caller's transaction a draft's inputs are read ahead by other
    connections on the run's snapshot, a child at a time here; the claim is the same as
    computed in turn."""
    from linkwork.contracts import queries

    load(example_package / "package")
    expected = _computed("EX-1", "T1", "draft")
    snapshots = []
    original = queries.read_ahead

    def spy(read, items, **kwargs):
        snapshots.append(kwargs["snapshot"])
        return original(read, items, **kwargs)

    monkeypatch.setattr(queries, "read_ahead", spy)
    monkeypatch.setattr(queries, "CHUNK", 1)
    claim = run_claim(actor=None, contract_code="EX-1", period_code="T1")
    assert len(snapshots) == 1 and snapshots[0]
    assert _stored(claim) == expected


def test_a_stored_claims_json_is_written_in_pieces_as_it_reads(db, example_package):
    """`claims run --json` writes the claim a few lines at a time: parsed, it is the
    claim as one document, for a draft (rows listed as read) and a submitted claim."""
    import json

    from linkwork.contracts.queries import claim_json

    load(example_package / "package")
    submitted = submit_claim(actor=None, contract_code="EX-1", period_code="T1")
    draft = run_claim(actor=None, contract_code="EX-1", period_code="T2")
    empty = run_claim(actor=None, contract_code="EX-1", period_code="T3")
    empty.lines.all().delete()
    for claim in (draft, submitted, empty):
        claim.refresh_from_db()
        pieces = list(claim_json(claim, chunk=2))
        assert json.loads("".join(pieces)) == _stored(claim)
        assert len(pieces) == 2 + claim.lines.count()  # heading, each line, end
    assert draft.status == "draft" and any("registers: #" in p for p in claim_json(draft))
    assert json.loads("".join(claim_json(empty)))["lines"] == []


def test_an_evidence_pack_is_sent_as_it_is_read_in_one_transaction(
    shipped, example_package, manager
):
    """Outside a caller's transaction the evidence pack is read in a transaction of its
    own as it is sent (repeatable read on PostgreSQL): pieces of 2,000 lines, the same
    text as the pack made whole."""
    from linkwork.contracts.statements import evidence_csv

    load(example_package / "package")
    for period in ("T1", "T2"):  # (drafts: the test database is emptied after)
        stored = run_claim(actor=None, contract_code="EX-1", period_code=period)
        pieces = export_evidence(actor=manager, claim=stored)
        first = next(pieces)
        assert connection.in_atomic_block  # the pieces are read in their own transaction
        assert first + "".join(pieces) == evidence_csv(stored)
        assert not connection.in_atomic_block
