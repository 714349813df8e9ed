"""Contract documents: every rule of the file format is a located error."""

import pytest

from linkwork.contracts.documents import parse_contract
from linkwork.core.documents import DocumentError

from .example import EXAMPLE

SOURCE = (EXAMPLE / "package" / "contracts" / "EX-1.yaml").read_text()


def errors_for(source: str) -> list[str]:
    with pytest.raises(DocumentError) as caught:
        parse_contract(source, filename="c.yaml")
    return caught.value.errors


def test_the_worked_example_is_valid_and_normalised():
    document = parse_contract(SOURCE, filename="EX-1.yaml")
    assert document["code"] == "EX-1"
    assert document["payers"][1] == {
        "code": "FUND",
        "name": "National top-up fund",
        "cap": "400.00",
    }
    engaged = document["triggers"][1]
    assert engaged["price"] == "100.01" and engaged["max_per_child"] == 2
    assert engaged["shares"] == {"LA": "0.5", "FUND": "0.5"}
    wellbeing = document["triggers"][2]
    assert wellbeing["score"] == "SDQ/emotional" and wellbeing["respondent"] is None
    assert document["triggers"][0].get("max_per_child") is None


def test_defaults_are_filled_in():
    source = SOURCE.replace("    max_per_child: 2\n", "").replace(
        "    follow_up_after_days: 200\n    price: 700.00", "    price: 700.00"
    )
    document = parse_contract(source, filename="c.yaml")
    assert document["triggers"][1]["max_per_child"] == 1
    assert document["triggers"][2]["follow_up_after_days"] == 300


CASES = [
    (
        "unknown top-level key",
        ("name: Worked", "colour: red\nname: Worked"),
        "c.yaml:2: colour: unknown key",
    ),
    (
        "unknown trigger key",
        ("    min_engaged: 0.5\n", "    min_engaged: 0.5\n    bonus: 1\n"),
        "c.yaml:28: triggers[2].bonus: unknown key",
    ),
    (
        "missing key",
        ("name: Worked example contract\n", ""),
        "c.yaml:1: (document): missing key 'name'",
    ),
    (
        "shares not summing to 1",
        ("{LA: 0.5, FUND: 0.3, PHIL: 0.2}", "{LA: 0.5, FUND: 0.3, PHIL: 0.1}"),
        "c.yaml:20: triggers[1].shares: must sum to exactly 1 (0.9)",
    ),
    (
        "payer in shares not in payers",
        ("shares: {LA: 1}", "shares: {LA: 0.5, BANK: 0.5}"),
        "c.yaml:47: triggers[4].shares.BANK: is not a payer listed in payers (BANK)",
    ),
    (
        "a gap between periods",
        ("{code: T2, starts_on: 2025-01-01", "{code: T2, starts_on: 2025-01-05"),
        "c.yaml:8: periods[2].starts_on: leaves a gap after the previous period "
        "(must be 2025-01-01) (2025-01-05)",
    ),
    (
        "overlapping periods",
        ("{code: T3, starts_on: 2025-05-01", "{code: T3, starts_on: 2025-04-01"),
        "c.yaml:9: periods[3].starts_on: overlaps the previous period "
        "(must be 2025-05-01) (2025-04-01)",
    ),
    (
        "period outside the contract",
        ("ends_on: 2025-08-31}", "ends_on: 2025-09-30}"),
        "c.yaml:9: periods[3].ends_on: is after the contract ends (2025-09-30)",
    ),
    (
        "period ending before it starts",
        (
            "{code: T1, starts_on: 2024-09-01, ends_on: 2024-12-31}",
            "{code: T1, starts_on: 2024-09-01, ends_on: 2024-08-31}",
        ),
        "c.yaml:7: periods[1].ends_on: must not be before starts_on (2024-08-31)",
    ),
    (
        "bad date",
        ("starts_on: 2024-09-01\nends_on", "starts_on: 01/09/2024\nends_on"),
        "c.yaml:3: starts_on: must be a date YYYY-MM-DD (01/09/2024)",
    ),
    (
        "impossible date",
        ("ends_on: 2025-08-31\ncohorts", "ends_on: 2025-02-30\ncohorts"),
        "c.yaml:4: ends_on: is not a real date (2025-02-30)",
    ),
    (
        "money with three decimals",
        ("price: 100.01", "price: 100.015"),
        "c.yaml:23: triggers[2].price: must have at most 2 decimal places (100.015)",
    ),
    (
        "negative price",
        ("price: 300.00", "price: -300.00"),
        "c.yaml:19: triggers[1].price: must be more than 0 (-300.00)",
    ),
    ("cap of zero", ("cap: 400.00", "cap: 0"), "c.yaml:12: payers[2].cap: must be more than 0 (0)"),
    (
        "unknown kind",
        ("kind: enrolment", "kind: signup"),
        "c.yaml:18: triggers[1].kind: must be one of enrolment, engagement, outcome (signup)",
    ),
    (
        "engagement without min_sessions",
        ("    min_sessions: 4\n", ""),
        "c.yaml:21: triggers[2]: missing key 'min_sessions' (needed by an engagement trigger)",
    ),
    (
        "fractional max_per_child",
        ("max_per_child: 2", "max_per_child: 1.5"),
        "c.yaml:24: triggers[2].max_per_child: must be a whole number (1.5)",
    ),
    (
        "attendance above 1",
        ("min_attendance: 0.75", "min_attendance: 1.5"),
        "c.yaml:26: triggers[2].min_attendance: must be at most 1 (1.5)",
    ),
    (
        "reliable change without sd",
        ("    sd: 2.0\n", ""),
        "c.yaml:29: triggers[3]: missing key 'sd' (needed when achieved_when is either)",
    ),
    (
        "bad achieved_when",
        ("achieved_when: either", "achieved_when: sometimes"),
        "c.yaml:33: triggers[3].achieved_when: must be one of no_longer_at_risk, "
        "reliable_improvement, either (sometimes)",
    ),
    (
        "both thresholds",
        ("at_risk_from: 5", "at_risk_from: 5\n    at_risk_below: 3"),
        "c.yaml:29: triggers[3]: a score outcome needs exactly one of 'at_risk_from' or "
        "'at_risk_below'",
    ),
    (
        "score and attainment",
        ("attainment: maths", "attainment: maths\n    score: SDQ/x"),
        "c.yaml:39: triggers[4]: an outcome trigger needs exactly one of 'score' or 'attainment'",
    ),
    (
        "unknown subject",
        ("attainment: maths", "attainment: physics"),
        "c.yaml:41: triggers[4].attainment: must be one of reading, writing, maths, english "
        "(physics)",
    ),
    (
        "duplicate trigger code",
        ("code: maths", "code: signup"),
        "c.yaml:39: triggers[4].code: is used by an earlier trigger (signup)",
    ),
    (
        "duplicate key",
        ("name: Worked example contract", "name: A\nname: B"),
        "c.yaml:3: invalid YAML: duplicate key 'name'",
    ),
]


@pytest.mark.parametrize(("change", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_rule_is_a_located_error(change, expected):
    old, new = change
    assert old in SOURCE
    errors = errors_for(SOURCE.replace(old, new, 1))
    assert any(e.startswith(expected) for e in errors), errors


def test_every_violation_is_reported_at_once():
    source = SOURCE.replace("price: 300.00", "price: 300.001").replace("cap: 400.00", "cap: x")
    errors = errors_for(source)
    assert len(errors) == 2


SDQ = {"code": "SDQ", "respondents": ["self", "parent"], "scales": {"emotional": {}, "peer": {}}}


@pytest.mark.parametrize(
    "change, error",
    [
        (
            ("score: SDQ/emotional", "score: NOPE/xyz"),
            "c.yaml:31: triggers[3].score: no instrument NOPE is defined (instruments: SDQ) (NOPE)",
        ),
        (
            ("score: SDQ/emotional", "score: SDQ/xyz"),
            "c.yaml:31: triggers[3].score: instrument SDQ has no scale xyz (emotional, peer) (xyz)",
        ),
        (
            ("score: SDQ/emotional", "score: SDQ/emotional\n    respondent: teacher"),
            "c.yaml:32: triggers[3].respondent: instrument SDQ is answered by self, parent "
            "(teacher)",
        ),
    ],
    ids=["unknown instrument", "unknown scale", "respondent it does not have"],
)
def test_a_score_names_a_known_instrument_scale_and_respondent(change, error):
    source = SOURCE.replace(*change)
    assert parse_contract(source, filename="c.yaml")  # unchecked without the instruments
    with pytest.raises(DocumentError) as caught:
        parse_contract(source, filename="c.yaml", instruments={"SDQ": SDQ})
    assert caught.value.errors == [error]


def test_known_instruments_pass():
    assert parse_contract(SOURCE, filename="c.yaml", instruments={"SDQ": SDQ})
