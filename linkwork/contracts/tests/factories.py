"""Small builders for pure-engine tests: a contract document and a child's facts."""

import copy
import datetime as dt
from decimal import Decimal

from linkwork.contracts.achievements import (
    AttainmentFact,
    ChildFacts,
    ConsentFact,
    EnrolmentFact,
    RegisterFact,
    ScoreFact,
)
from linkwork.contracts.terms import terms_from_document

D = dt.date.fromisoformat

BASE = {
    "code": "T-1",
    "name": "Test contract",
    "starts_on": "2024-09-01",
    "ends_on": "2025-08-31",
    "cohorts": ["2024"],
    "periods": [
        {"code": "P1", "starts_on": "2024-09-01", "ends_on": "2024-12-31"},
        {"code": "P2", "starts_on": "2025-01-01", "ends_on": "2025-04-30"},
        {"code": "P3", "starts_on": "2025-05-01", "ends_on": "2025-08-31"},
    ],
    "payers": [
        {"code": "LA", "name": "Local authority", "cap": None},
        {"code": "FUND", "name": "Fund", "cap": None},
    ],
    "caps": {"per_child": None, "contract": None},
    "triggers": [],
}

SIGNUP = {
    "code": "signup",
    "kind": "enrolment",
    "price": "300.00",
    "shares": {"LA": "0.5", "FUND": "0.5"},
}
ENGAGED = {
    "code": "engaged",
    "kind": "engagement",
    "price": "100.00",
    "shares": {"LA": "0.5", "FUND": "0.5"},
    "max_per_child": 1,
    "min_sessions": 4,
    "min_attendance": "0.75",
    "min_engaged": None,
}
WELLBEING = {
    "code": "wellbeing",
    "kind": "outcome",
    "price": "700.00",
    "shares": {"LA": "1"},
    "measure": "score",
    "score": "SDQ/emotional",
    "respondent": None,
    "at_risk_from": "5",
    "at_risk_below": None,
    "achieved_when": "no_longer_at_risk",
    "sd": "2.0",
    "reliability": "0.8",
    "follow_up_after_days": 300,
}
MATHS = {
    "code": "maths",
    "kind": "outcome",
    "price": "500.00",
    "shares": {"LA": "1"},
    "measure": "attainment",
    "attainment": "maths",
    "below_expected_by": "1",
    "achieved_when": "gap_closed_by",
    "min_gain": "2",
    "follow_up_after_days": 300,
}


def contract(*triggers, caps=None, payer_caps=None, **changes):
    document = copy.deepcopy(BASE)
    document["triggers"] = [copy.deepcopy(t) for t in triggers]
    document.update(changes)
    if caps:
        document["caps"].update(caps)
    for payer in document["payers"]:
        payer["cap"] = (payer_caps or {}).get(payer["code"], payer["cap"])
    return terms_from_document(document)


def trig(base, **changes):
    return {**copy.deepcopy(base), **changes}


def child(
    upn="A00000000001",
    *,
    enrolled="2024-09-10",
    ended=None,
    cohort="2024",
    consents=(("2024-09-10", None),),
    registers=(),
    scores=(),
    attainment=(),
):
    return ChildFacts(
        upn=upn,
        enrolments=(EnrolmentFact(cohort, D(enrolled), D(ended) if ended else None, 1),),
        consents=tuple(
            ConsentFact(D(given), D(withdrawn) if withdrawn else None, n)
            for n, (given, withdrawn) in enumerate(consents, 1)
        ),
        registers=tuple(
            RegisterFact(D(day), attended, engaged, "S", n)
            for n, (day, attended, engaged) in enumerate(registers, 1)
        ),
        scores=tuple(
            ScoreFact(D(day), "SDQ", "emotional", respondent, Decimal(value), n)
            for n, (day, value, respondent) in enumerate(
                (s if len(s) == 3 else (*s, "self")) for s in scores
            )
        ),
        attainment=tuple(
            AttainmentFact(D(day), "maths", Decimal(value), Decimal(expected), n)
            for n, (day, value, expected) in enumerate(attainment, 1)
        ),
    )


def weeks(start: str, marks: str) -> list:
    """Register rows a week apart from `start`: 'E' engaged, 'A' attended, '-' absent."""
    day = D(start)
    out = []
    for mark in marks:
        attended = mark in "EA"
        out.append((day.isoformat(), attended, (mark == "E") if attended else None))
        day += dt.timedelta(days=7)
    return out
