"""The screening engine, rule by rule and edge by edge (no database)."""

from datetime import date
from decimal import Decimal

import pytest

from linkwork.screening.documents import parse_screening_rules
from linkwork.screening.rules import (
    AttainmentResult,
    Attendance,
    PupilData,
    Rules,
    ScaleScore,
    result_json,
    screen,
)

from .example import ON, PUPILS, RULES_YAML, SHORTLIST, UPN

DOC = parse_screening_rules(RULES_YAML, filename="screening.yaml")


def rules_with(area: dict, **top):
    return Rules.from_document(
        {"min_risk_areas": 1, "priority_areas": [], "exclude_statutory": [], "areas": area, **top}
    )


def verdict(rule: dict, pupil: PupilData, on=ON):
    result = screen(rules_with({"x": rule}), [pupil], on)
    return result.profiles[0].explanation()["x"]


def test_worked_example_shortlist_order():
    result = screen(DOC, PUPILS, ON)
    assert [(p.upn, p.risk_areas, p.priority_areas) for p in result.shortlist] == SHORTLIST


def test_worked_example_explanation_of_first_child():
    first = screen(DOC, PUPILS, ON).shortlist[0]
    assert first.explanation() == {
        "economic_disadvantage": {"value": "Y", "threshold": "Y", "at_risk": True},
        "attendance": {"value": "0.9", "threshold": "< 0.90", "at_risk": False},
        "emotional_wellbeing": {"value": "6", "threshold": ">= 5", "at_risk": True},
        "relationships": {"value": "4", "threshold": ">= 4", "at_risk": True},
        "english": {"value": "97", "threshold": "<= 99", "at_risk": True},
        "maths": {"value": "100", "threshold": "<= 99", "at_risk": False},
    }


def test_worked_example_exclusions_and_json():
    result = screen(DOC, PUPILS, ON)
    doc = result_json(result, school="100001")
    assert doc["excluded"] == [{"upn": UPN["D"], "reason": "statutory status CP"}]
    assert doc["on"] == "2026-10-01" and doc["school"] == "100001"
    assert [row["upn"] for row in doc["shortlist"]] == [upn for upn, _, _ in SHORTLIST]
    no_data = result.profiles[-1].explanation()  # G has no data at all
    assert no_data["emotional_wellbeing"] == {
        "value": "no data",
        "threshold": ">= 5",
        "at_risk": False,
    }
    assert result.data_date == date(2026, 9, 20)


def test_statutory_child_is_never_shortlisted_even_at_risk():
    result = screen(DOC, PUPILS, ON)
    d = next(p for p in result.profiles if p.upn == UPN["D"])
    assert d.risk_areas == 2 and not d.shortlisted


def att(end, present, possible=100, start=None):
    return Attendance(start or date(end.year, end.month, 1), end, possible, present)


@pytest.mark.parametrize(
    ("periods", "value", "at_risk"),
    [
        ((att(date(2026, 7, 20), 89),), "0.89", True),
        ((att(date(2026, 7, 20), 90),), "0.9", False),  # exactly the threshold: not below
        # the latest period ending on or before the date counts, not an earlier one
        ((att(date(2026, 3, 31), 50), att(date(2026, 7, 20), 95)), "0.95", False),
        # a period ending after the screening date is ignored
        ((att(date(2026, 7, 20), 95), att(date(2026, 10, 2), 10)), "0.95", False),
        ((att(date(2026, 7, 20), 0, possible=0),), "no data", False),
        ((), "no data", False),
        ((att(date(2026, 7, 20), 2, possible=3),), "0.6667", True),
    ],
)
def test_attendance_rule(periods, value, at_risk):
    seen = verdict({"attendance_rate_below": "0.90"}, PupilData("U", attendance=periods))
    assert (seen["value"], seen["at_risk"]) == (value, at_risk)


def score(scale, value, on, respondent="self", instrument="SDQ"):
    return ScaleScore(instrument, scale, on, respondent, Decimal(value))


SEP, OCT, NOV = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)


@pytest.mark.parametrize(
    ("rule", "scores", "value", "at_risk"),
    [
        ({"score": "SDQ/emotional", "at_risk_from": "5"}, [score("emotional", 5, SEP)], "5", True),
        ({"score": "SDQ/emotional", "at_risk_from": "5"}, [score("emotional", 4, SEP)], "4", False),
        # latest on or before the date; a later one is ignored
        (
            {"score": "SDQ/emotional", "at_risk_from": "5"},
            [score("emotional", 7, SEP), score("emotional", 2, OCT), score("emotional", 9, NOV)],
            "2",
            False,
        ),
        # same date: self before parent before teacher
        (
            {"score": "SDQ/emotional", "at_risk_from": "5"},
            [score("emotional", 8, OCT, "teacher"), score("emotional", 6, OCT, "parent")],
            "6",
            True,
        ),
        (
            {"score": "SDQ/emotional", "at_risk_from": "5"},
            [score("emotional", 8, OCT, "parent"), score("emotional", 1, OCT, "self")],
            "1",
            False,
        ),
        # a respondent named in the rule: only that respondent's scores count
        (
            {"score": "SDQ/emotional", "at_risk_from": "5", "respondent": "parent"},
            [score("emotional", 1, OCT, "self"), score("emotional", 6, SEP, "parent")],
            "6",
            True,
        ),
        (
            {"score": "SDQ/emotional", "at_risk_from": "5", "respondent": "teacher"},
            [score("emotional", 9, OCT, "self")],
            "no data",
            False,
        ),
        # more is better: at risk below the threshold
        (
            {"score": "SCWBS/total", "at_risk_below": "40"},
            [score("total", 39, SEP, instrument="SCWBS")],
            "39",
            True,
        ),
        (
            {"score": "SCWBS/total", "at_risk_below": "40"},
            [score("total", 40, SEP, instrument="SCWBS")],
            "40",
            False,
        ),
        # another instrument or scale does not count
        (
            {"score": "SDQ/emotional", "at_risk_from": "5"},
            [score("peer", 9, SEP), score("emotional", 9, SEP, instrument="X")],
            "no data",
            False,
        ),
        (
            {"score": "SDQ/emotional", "at_risk_from": "5"},
            [score("emotional", "5.5", SEP)],
            "5.5",
            True,
        ),
    ],
)
def test_score_rule(rule, scores, value, at_risk):
    seen = verdict(rule, PupilData("U", scores=tuple(scores)))
    assert (seen["value"], seen["at_risk"]) == (value, at_risk)


def result_on(subject, value, expected, on):
    return AttainmentResult(subject, on, Decimal(value), Decimal(expected))


@pytest.mark.parametrize(
    ("results", "value", "threshold", "at_risk"),
    [
        ([result_on("reading", 99, 100, SEP)], "99", "<= 99", True),  # value <= expected - 1
        ([result_on("reading", "99.5", 100, SEP)], "99.5", "<= 99", False),
        (
            [result_on("reading", 95, 100, SEP), result_on("reading", 104, 104, OCT)],
            "104",
            "<= 103",
            False,
        ),
        ([result_on("reading", 95, 100, NOV)], "no data", "<= expected - 1", False),
        ([result_on("maths", 50, 100, SEP)], "no data", "<= expected - 1", False),
    ],
)
def test_attainment_rule(results, value, threshold, at_risk):
    seen = verdict(
        {"attainment": "reading", "below_expected_by": "1"},
        PupilData("U", attainment=tuple(results)),
    )
    assert seen == {"value": value, "threshold": threshold, "at_risk": at_risk}


@pytest.mark.parametrize(
    ("fsm", "value", "at_risk"), [(True, "Y", True), (False, "N", False), (None, "no data", False)]
)
def test_pupil_flag_rule(fsm, value, at_risk):
    seen = verdict({"pupil_flag": "fsm"}, PupilData("U", fsm=fsm))
    assert seen == {"value": value, "threshold": "Y", "at_risk": at_risk}


@pytest.mark.parametrize(
    ("phase", "value", "threshold", "at_risk"),
    [
        ("primary", "5", ">= 5", True),
        ("secondary", "5", ">= 6", False),
        ("nursery", "5", "no threshold for this phase", False),
    ],
)
def test_threshold_by_phase(phase, value, threshold, at_risk):
    rule = {"score": "SDQ/emotional", "at_risk_from": {"primary": "5", "secondary": "6"}}
    seen = verdict(rule, PupilData("U", phase=phase, scores=(score("emotional", 5, SEP),)))
    assert seen == {"value": value, "threshold": threshold, "at_risk": at_risk}


def test_order_risk_then_priority_then_upn():
    rules = rules_with(
        {"fsm": {"pupil_flag": "fsm"}, "eal": {"pupil_flag": "eal"}},
        priority_areas=["fsm"],
    )
    pupils = [
        PupilData("C", fsm=False, eal=True),
        PupilData("B", fsm=True, eal=False),
        PupilData("A", fsm=False, eal=True),
        PupilData("D", fsm=True, eal=True),
        PupilData("E", fsm=False, eal=False),
    ]
    assert [p.upn for p in screen(rules, pupils, ON).shortlist] == ["D", "B", "A", "C"]


@pytest.mark.parametrize("status", ["CIN", "CP", "LAC"])
def test_each_statutory_status_excluded(status):
    result = screen(
        DOC,
        [PupilData("U", fsm=True, statutory_status=status, attendance=(att(date(2026, 7, 1), 1),))],
        ON,
    )
    assert result.shortlist == ()
    assert [(p.upn, p.excluded_reason) for p in result.excluded] == [
        ("U", f"statutory status {status}")
    ]


@pytest.mark.parametrize("listed", [[], ["LAC"], ["CIN", "CP"]])
@pytest.mark.parametrize("status", ["CIN", "CP", "LAC"])
def test_statutory_cases_are_excluded_whatever_the_rules_list(listed, status):
    """A rules version stored before every status had to be listed still never
    shortlists a statutory case."""
    rules = rules_with({"fsm": {"pupil_flag": "fsm"}}, exclude_statutory=listed)
    pupils = [PupilData("U", fsm=True, statutory_status=status), PupilData("V", fsm=True)]
    result = screen(rules, pupils, ON)
    assert [p.upn for p in result.shortlist] == ["V"]
    assert [(p.upn, p.excluded_reason) for p in result.excluded] == [
        ("U", f"statutory status {status}")
    ]


def test_same_inputs_same_result():
    assert screen(DOC, PUPILS, ON) == screen(DOC, list(reversed(PUPILS)), ON)


def test_kept_verdicts_change_nothing(monkeypatch):
    """Judges keep their verdicts by value; forgetting them at once gives the same."""
    from linkwork.screening import rules as engine

    kept = screen(DOC, PUPILS, ON)
    engine._judge.cache_clear()
    engine._profiler.cache_clear()
    monkeypatch.setattr(engine, "KEPT", 1)
    assert screen(DOC, PUPILS, ON) == kept
    engine._judge.cache_clear()
    engine._profiler.cache_clear()


def test_equal_values_in_different_objects_get_equal_verdicts():
    twins = [
        PupilData(f"U{n}", attendance=(att(date(2026, 7, 20), 89),), fsm=True) for n in range(3)
    ]
    result = screen(DOC, twins, ON)
    assert len({p.areas for p in result.profiles}) == 1
    assert [p.risk_areas for p in result.profiles] == [2, 2, 2]
