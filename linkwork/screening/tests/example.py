"""The worked example of docs/screening.md, as data the tests share."""

from datetime import date
from decimal import Decimal

from linkwork.core.upn import make_upn
from linkwork.screening.rules import AttainmentResult, Attendance, PupilData, ScaleScore

RULES_YAML = """\
min_risk_areas: 2
priority_areas: [economic_disadvantage]
exclude_statutory: [CIN, CP, LAC]
areas:
  economic_disadvantage: {pupil_flag: fsm}
  attendance: {attendance_rate_below: 0.90}
  emotional_wellbeing: {score: SDQ/emotional, at_risk_from: 5}
  relationships: {score: SDQ/peer, at_risk_from: 4}
  english: {attainment: reading, below_expected_by: 1}
  maths: {attainment: maths, below_expected_by: 1}
"""

ON = date(2026, 10, 1)
AUTUMN = date(2026, 9, 20)
UPN = {name: make_upn(f"8010000000{n:02d}") for n, name in enumerate("ABCDEFG", start=1)}


def term(present, possible=190):
    return (Attendance(date(2026, 4, 20), date(2026, 7, 22), possible, present),)


def sdq(scale, score, respondent="self", on=AUTUMN):
    return ScaleScore("SDQ", scale, on, respondent, Decimal(score))


def result(subject, value, expected="100", on=date(2026, 7, 1)):
    return AttainmentResult(subject, on, Decimal(value), Decimal(expected))


PUPILS = [
    PupilData(
        UPN["A"],
        fsm=True,
        attendance=term(171),
        scores=(sdq("emotional", 6), sdq("peer", 4, "parent")),
        attainment=(result("reading", "97"), result("maths", "100")),
    ),
    PupilData(
        UPN["B"],
        fsm=False,
        attendance=term(150),
        scores=(sdq("emotional", 5),),
        attainment=(result("reading", "99"), result("maths", "99.5")),
    ),
    PupilData(
        UPN["C"],
        fsm=True,
        attendance=term(180),
        scores=(sdq("emotional", 3), sdq("emotional", 7, "parent"), sdq("peer", 4)),
    ),
    PupilData(UPN["D"], fsm=True, statutory_status="CP", attendance=term(100)),
    PupilData(UPN["E"], fsm=False, attendance=term(160)),
    PupilData(UPN["F"], fsm=True, attendance=term(120)),
    PupilData(UPN["G"]),
]

# (UPN, risk areas, priority areas) in shortlist order.
SHORTLIST = [(UPN["A"], 4, 1), (UPN["B"], 3, 0), (UPN["F"], 2, 1), (UPN["C"], 2, 1)]
