"""The worked example of spec/contracts.md, read straight from its CSV files."""

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from linkwork.contracts.achievements import (
    AttainmentFact,
    ChildFacts,
    ConsentFact,
    EnrolmentFact,
    RegisterFact,
    ScoreFact,
)

# A copy of spec/examples/contract-example, kept beside the tests.
EXAMPLE = Path(__file__).resolve().parent / "contract-example"


def rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _date(text):
    return dt.date.fromisoformat(text) if text else None


def children_from(package: Path, registers: Path | None = None) -> list[ChildFacts]:
    """ChildFacts for every pupil of the example package (ids are row numbers)."""
    registers = registers or package / "registers.csv"
    upns = [r["upn"] for r in rows(package / "pupils.csv")]
    children = []
    for upn in upns:
        children.append(
            ChildFacts(
                upn=upn,
                enrolments=tuple(
                    EnrolmentFact(r["cohort"], _date(r["enrolled_on"]), _date(r["ended_on"]), n)
                    for n, r in enumerate(rows(package / "enrolments.csv"), 2)
                    if r["upn"] == upn
                ),
                consents=tuple(
                    ConsentFact(_date(r["given_on"]), _date(r["withdrawn_on"]), n)
                    for n, r in enumerate(rows(package / "consents.csv"), 2)
                    if r["upn"] == upn and r["purpose"] == "evidence"
                ),
                registers=tuple(
                    RegisterFact(
                        _date(r["session_date"]),
                        r["attended"] == "Y",
                        {"Y": True, "N": False}.get(r["engaged"]),
                        r["service_code"],
                        n,
                    )
                    for n, r in enumerate(rows(registers), 2)
                    if r["upn"] == upn
                ),
                scores=tuple(
                    ScoreFact(
                        _date(r["administered_on"]),
                        r["instrument"],
                        r["scale"],
                        r["respondent"],
                        Decimal(r["score"]),
                        n,
                    )
                    for n, r in enumerate(rows(package / "scores.csv"), 2)
                    if r["upn"] == upn
                ),
                attainment=tuple(
                    AttainmentFact(
                        _date(r["assessed_on"]),
                        r["subject"],
                        Decimal(r["value"]),
                        Decimal(r["expected"]),
                        n,
                    )
                    for n, r in enumerate(rows(package / "attainment.csv"), 2)
                    if r["upn"] == upn
                ),
            )
        )
    return children


def expected_claims() -> list[dict]:
    return json.loads((EXAMPLE / "expected-claims.json").read_text())["claims"]


COMPARED_LINE_FIELDS = (
    "kind",
    "upn",
    "trigger",
    "instance",
    "achieved_on",
    "amount",
    "portions",
)


def comparable(claim: dict) -> dict:
    """The fields expected-claims.json says are compared."""
    return {
        "contract": claim["contract"],
        "period": claim["period"],
        "status": claim["status"],
        "total": claim["total"],
        "payers": claim["payers"],
        "lines": [{k: line[k] for k in COMPARED_LINE_FIELDS} for line in claim["lines"]],
    }
