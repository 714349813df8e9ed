"""The worked example of spec/contracts.md, reproduced exactly (all three claims)."""

import io
import json

from django.core.management import call_command

from linkwork.contracts.achievements import find_achievements
from linkwork.contracts.claims import claim_as_json, compute_claim
from linkwork.contracts.documents import parse_contract
from linkwork.contracts.queries import claim_result
from linkwork.contracts.services import run_claim, submit_claim
from linkwork.contracts.terms import terms_from_document

from .example import EXAMPLE, children_from, comparable, expected_claims
from .loader import load

EXPECTED = [comparable(claim) for claim in expected_claims()]


def _load_corrected(base):
    # The correction is a package holding registers.csv alone.
    load(base / "corrected")


def test_worked_example_pure_engine():
    package = EXAMPLE / "package"
    source = (package / "contracts" / "EX-1.yaml").read_text()
    terms = terms_from_document(parse_contract(source, filename="EX-1.yaml"))
    submitted = []
    got = []
    for period, registers in (
        ("T1", None),
        ("T2", None),
        ("T3", EXAMPLE / "corrected" / "registers.csv"),
    ):
        achievements = find_achievements(terms, children_from(package, registers))
        result = compute_claim(terms, period, achievements, submitted)
        submitted.extend(result.lines)
        got.append(comparable(claim_as_json(result, status="submitted")))
    assert got == EXPECTED


def test_worked_example_through_services(db, example_package, manager):
    load(example_package / "package", actor=manager)
    got = []
    for period in ("T1", "T2", "T3"):
        if period == "T3":
            _load_corrected(example_package)
        draft = run_claim(actor=manager, contract_code="EX-1", period_code=period)
        assert draft.status == "draft"
        claim = submit_claim(actor=manager, contract_code="EX-1", period_code=period)
        assert claim.submitted_by == manager
        assert claim.contract.version == 1
        got.append(comparable(claim_as_json(claim_result(claim), status=claim.status)))
    for got_claim, expected in zip(got, EXPECTED, strict=True):
        assert got_claim["total"] == expected["total"]
        assert got_claim["payers"] == expected["payers"]
        for got_line, expected_line in zip(got_claim["lines"], expected["lines"], strict=True):
            assert got_line == expected_line
        assert got_claim == expected


def _cli(*args) -> dict:
    out = io.StringIO()
    call_command("claims", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_worked_example_through_the_cli(db, example_package):
    load(example_package / "package")
    got = []
    for period in ("T1", "T2", "T3"):
        if period == "T3":
            _load_corrected(example_package)
        draft = _cli("run", "EX-1", period)
        assert draft["status"] == "draft"
        submitted = _cli("submit", "EX-1", period)
        assert comparable(draft) == {**comparable(submitted), "status": "draft"}
        got.append(comparable(submitted))
    assert got == EXPECTED


def test_lines_carry_their_evidence(db, example_package):
    load(example_package / "package")
    data = _cli("run", "EX-1", "T1")
    by_key = {(ln["upn"], ln["trigger"]): ln["evidence"] for ln in data["lines"]}
    signup = by_key[("C201300024001", "signup")]
    assert any("given 2024-09-20" in item for item in signup)
    engaged = by_key[("C201300024001", "engaged")]
    assert "T1, 2024-09-10 to 2024-12-31: 5 sessions, 4 attended, 3 engaged" in engaged
    (registers,) = [item for item in engaged if item.startswith("registers: ")]
    assert registers.count("ARTS-MON") == 5 and " 2024-11-11 N-" in registers
    run_claim(actor=None, contract_code="EX-1", period_code="T1")
    submit_claim(actor=None, contract_code="EX-1", period_code="T1")
    submit_claim(actor=None, contract_code="EX-1", period_code="T2")
    data = _cli("run", "EX-1", "T3")
    wellbeing = next(ln for ln in data["lines"] if ln["trigger"] == "wellbeing")
    assert any(
        item.startswith("baseline score") and "2024-09-05: 7" in item
        for item in wellbeing["evidence"]
    )
    assert any(
        item.startswith("follow-up score") and "2025-06-20: 4" in item
        for item in wellbeing["evidence"]
    )
