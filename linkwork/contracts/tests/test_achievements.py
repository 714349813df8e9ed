"""Each rule of "Who counts" and "When each trigger is achieved", table-driven, pure."""

import pytest

from linkwork.contracts.achievements import (
    UNSUPPORTED,
    find_achievements,
    reason_in_words,
    why_unsupported,
)

from .factories import ENGAGED, MATHS, SIGNUP, WELLBEING, child, contract, trig, weeks

P1_GOOD = weeks("2024-10-07", "EEEA")  # 4 sessions, 4 attended, 3 engaged
P2_GOOD = weeks("2025-01-13", "EEEA")
P3_GOOD = weeks("2025-05-05", "EEEA")

CASES = [
    # --- who counts, and enrolment -------------------------------------------------
    (
        "consent before enrolment: signup on the enrolment date",
        [SIGNUP],
        {"consents": [("2024-09-01", None)]},
        [("signup", "1", "2024-09-10")],
    ),
    (
        "consent after enrolment: signup on the day it is given",
        [SIGNUP],
        {"consents": [("2024-09-20", None)]},
        [("signup", "1", "2024-09-20")],
    ),
    (
        "consent withdrawn before enrolment: nothing",
        [SIGNUP],
        {"consents": [("2024-01-01", "2024-09-01")]},
        [],
    ),
    (
        "consent withdrawn, then given again",
        [SIGNUP],
        {"consents": [("2024-01-01", "2024-09-01"), ("2024-10-02", None)]},
        [("signup", "1", "2024-10-02")],
    ),
    (
        "consent withdrawn on the enrolment day does not hold that day",
        [SIGNUP],
        {"consents": [("2024-01-01", "2024-09-10")]},
        [],
    ),
    (
        "consent given after the window ended: nothing",
        [SIGNUP],
        {"ended": "2024-09-30", "consents": [("2024-10-01", None)]},
        [],
    ),
    ("cohort not in the contract: nothing", [SIGNUP], {"cohort": "2023"}, []),
    (
        "enrolled before the contract starts: nothing",
        [SIGNUP],
        {"enrolled": "2024-08-31", "consents": [("2024-08-01", None)]},
        [],
    ),
    # --- engagement ----------------------------------------------------------------
    (
        "engagement: achieved on the period's end",
        [ENGAGED],
        {"registers": P1_GOOD},
        [("engaged", "P1", "2024-12-31")],
    ),
    ("engagement: too few sessions", [ENGAGED], {"registers": weeks("2024-10-07", "EEE")}, []),
    (
        "engagement: attended exactly 0.75 of sessions counts",
        [ENGAGED],
        {"registers": weeks("2024-10-07", "EEE-")},
        [("engaged", "P1", "2024-12-31")],
    ),
    (
        "engagement: attendance below 0.75",
        [ENGAGED],
        {"registers": weeks("2024-10-07", "EE--")},
        [],
    ),
    (
        "min_engaged: 1 engaged of 3 attended is below 0.5",
        [trig(ENGAGED, min_engaged="0.5")],
        {"registers": weeks("2024-10-07", "EAA-")},
        [],
    ),
    (
        "min_engaged: 2 engaged of 3 attended meets 0.5",
        [trig(ENGAGED, min_engaged="0.5")],
        {"registers": weeks("2024-10-07", "EEA-")},
        [("engaged", "P1", "2024-12-31")],
    ),
    (
        "engagement: consent withdrawn before the period's end",
        [ENGAGED],
        {"registers": P1_GOOD, "consents": [("2024-09-01", "2024-12-01")]},
        [],
    ),
    (
        "max_per_child 1: only the earliest qualifying period",
        [ENGAGED],
        {"registers": P1_GOOD + P2_GOOD},
        [("engaged", "P1", "2024-12-31")],
    ),
    (
        "max_per_child 2: the two earliest qualifying periods",
        [trig(ENGAGED, max_per_child=2)],
        {"registers": weeks("2024-10-07", "E") + P2_GOOD + P3_GOOD},
        [("engaged", "P2", "2025-04-30"), ("engaged", "P3", "2025-08-31")],
    ),
    (
        "window ended by ended_on: achieved on the window's end",
        [ENGAGED],
        {"registers": P1_GOOD, "ended": "2024-11-30"},
        [("engaged", "P1", "2024-11-30")],
    ),
    (
        "window ended: rows after it do not count",
        [ENGAGED],
        {"registers": weeks("2024-10-07", "EE") + weeks("2024-12-02", "EE"), "ended": "2024-11-30"},
        [],
    ),
    (
        "rows before enrolment do not count",
        [ENGAGED],
        {"enrolled": "2024-10-20", "registers": P1_GOOD},
        [],
    ),
    # --- score outcomes ------------------------------------------------------------
    (
        "score: no longer at risk at a follow-up 300+ days later",
        [WELLBEING],
        {"scores": [("2024-09-05", "7"), ("2025-07-02", "4")]},
        [("wellbeing", "1", "2025-07-02")],
    ),
    (
        "score: follow-up too early to count",
        [WELLBEING],
        {"scores": [("2024-09-05", "7"), ("2025-07-02", "7"), ("2025-06-30", "4")]},
        [],
    ),
    (
        "score: follow-up exactly follow_up_after_days later counts",
        [WELLBEING],
        {"scores": [("2024-09-05", "7"), ("2025-07-02", "4")]},
        [("wellbeing", "1", "2025-07-02")],
    ),
    (
        "score: not at risk at baseline",
        [WELLBEING],
        {"scores": [("2024-09-05", "4"), ("2025-07-02", "1")]},
        [],
    ),
    (
        "score: baseline is the latest on or before enrolment + 30 days",
        [WELLBEING],
        {"scores": [("2024-09-01", "4"), ("2024-10-10", "8"), ("2025-08-10", "3")]},
        [("wellbeing", "1", "2025-08-10")],
    ),
    (
        "score: a score after enrolment + 30 days is not a baseline",
        [WELLBEING],
        {"scores": [("2024-10-11", "8"), ("2025-08-10", "3")]},
        [],
    ),
    (
        "score: still at risk (5 is at risk from 5)",
        [WELLBEING],
        {"scores": [("2024-09-05", "7"), ("2025-07-02", "5")]},
        [],
    ),
    (
        "score: follow-up after the window ends",
        [WELLBEING],
        {"ended": "2025-06-30", "scores": [("2024-09-05", "7"), ("2025-07-02", "3")]},
        [],
    ),
    (
        "score: consent withdrawn before the follow-up",
        [WELLBEING],
        {
            "consents": [("2024-09-01", "2025-05-01")],
            "scores": [("2024-09-05", "7"), ("2025-07-02", "3")],
        },
        [],
    ),
    (
        "respondent filter: the parent's scores only",
        [trig(WELLBEING, respondent="parent")],
        {"scores": [("2024-09-05", "7", "self"), ("2025-07-02", "3", "self")]},
        [],
    ),
    (
        "respondent filter: a parent's baseline and follow-up",
        [trig(WELLBEING, respondent="parent")],
        {
            "scores": [
                ("2024-09-05", "3", "self"),
                ("2024-09-05", "7", "parent"),
                ("2025-07-02", "3", "parent"),
            ]
        },
        [("wellbeing", "1", "2025-07-02")],
    ),
    (
        "same date, no respondent named: self before parent",
        [WELLBEING],
        {
            "scores": [
                ("2024-09-05", "3", "self"),
                ("2024-09-05", "7", "parent"),
                ("2025-07-02", "3", "parent"),
            ]
        },
        [],
    ),
    (
        "reliable improvement: a drop of 3 passes 2.479 though still at risk",
        [trig(WELLBEING, achieved_when="reliable_improvement")],
        {"scores": [("2024-09-05", "9"), ("2025-07-02", "6")]},
        [("wellbeing", "1", "2025-07-02")],
    ),
    (
        "reliable improvement: a drop of 2 does not",
        [trig(WELLBEING, achieved_when="reliable_improvement")],
        {"scores": [("2024-09-05", "7"), ("2025-07-02", "5")]},
        [],
    ),
    (
        "reliable improvement: 2.48 passes, 2.479 does not (sqrt compared exactly)",
        [trig(WELLBEING, achieved_when="reliable_improvement", at_risk_from="1")],
        {"scores": [("2024-09-05", "9"), ("2025-07-02", "6.521"), ("2025-07-15", "6.52")]},
        [("wellbeing", "1", "2025-07-15")],
    ),
    (
        "either: the first follow-up meeting one of the two",
        [trig(WELLBEING, achieved_when="either")],
        {"scores": [("2024-09-05", "9"), ("2025-07-02", "8"), ("2025-07-20", "6")]},
        [("wellbeing", "1", "2025-07-20")],
    ),
    (
        "at_risk_below: at risk under the threshold, better is higher",
        [trig(WELLBEING, at_risk_from=None, at_risk_below="40")],
        {"scores": [("2024-09-05", "35"), ("2025-07-02", "40")]},
        [("wellbeing", "1", "2025-07-02")],
    ),
    # --- attainment outcomes -------------------------------------------------------
    (
        "attainment: gap closed by min_gain",
        [MATHS],
        {"attainment": [("2024-09-05", "95", "100"), ("2025-07-02", "99", "102")]},
        [("maths", "1", "2025-07-02")],
    ),
    (
        "attainment: gain of 1 is not enough",
        [MATHS],
        {"attainment": [("2024-09-05", "95", "100"), ("2025-07-02", "98", "102")]},
        [],
    ),
    (
        "attainment: not at risk at baseline (gap above -1)",
        [MATHS],
        {"attainment": [("2024-09-05", "99.5", "100"), ("2025-07-02", "110", "100")]},
        [],
    ),
    (
        "attainment: gap of exactly -1 is at risk",
        [MATHS],
        {"attainment": [("2024-09-05", "99", "100"), ("2025-07-02", "101", "100")]},
        [("maths", "1", "2025-07-02")],
    ),
    (
        "attainment: no longer at risk",
        [trig(MATHS, achieved_when="no_longer_at_risk")],
        {"attainment": [("2024-09-05", "95", "100"), ("2025-07-02", "99.5", "100")]},
        [("maths", "1", "2025-07-02")],
    ),
]


@pytest.mark.parametrize(
    ("triggers", "facts", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_achievement_rule(triggers, facts, expected):
    found = find_achievements(contract(*triggers), [child(**facts)])
    assert [(a.trigger, a.instance, a.achieved_on.isoformat()) for a in found] == expected


# --- why an achievement is no longer supported (the reason an adjustment gives) --------

WHY_CASES = [
    (
        "consent withdrawn before the period's end",
        [ENGAGED],
        {"registers": P1_GOOD, "consents": [("2024-09-10", "2024-12-01")]},
        ("engaged", "P1"),
        "no evidence consent holds on the day it would be achieved (consents: consent #1 "
        "evidence given 2024-09-10, withdrawn 2024-12-01)",
    ),
    (
        "no consent at all",
        [SIGNUP],
        {"consents": []},
        ("signup", "1"),
        "no evidence consent holds on the day it would be achieved (consents: none recorded)",
    ),
    (
        "a register corrected",
        [ENGAGED],
        {"registers": weeks("2024-10-07", "EE--")},
        ("engaged", "P1"),
        "P1 now: 4 sessions, 2 attended, 2 engaged; the trigger needs at least 4 sessions, "
        "attended ≥ 0.75 × sessions",
    ),
    (
        "no rows left in the period",
        [ENGAGED],
        {"registers": P2_GOOD},
        ("engaged", "P1"),
        "no register rows in P1 inside the child's enrolment",
    ),
    (
        "the most per child taken by earlier periods",
        [ENGAGED],
        {"registers": P1_GOOD + P2_GOOD},
        ("engaged", "P2"),
        "P2 now: 4 sessions, 4 attended, 3 engaged, but max_per_child (1) is reached by P1",
    ),
    (
        "enrolment in another cohort",
        [SIGNUP],
        {"cohort": "2023"},
        ("signup", "1"),
        "the child is no longer enrolled in a cohort of the contract inside its dates",
    ),
    (
        "baseline score corrected: not at risk",
        [WELLBEING],
        {"scores": [("2024-09-05", "4"), ("2025-08-01", "3")]},
        ("wellbeing", "1"),
        "not at risk at baseline (score #0 2024-09-05: 4)",
    ),
    (
        "follow-up score corrected",
        [WELLBEING],
        {"scores": [("2024-09-05", "7"), ("2025-08-01", "6")]},
        ("wellbeing", "1"),
        "no SDQ/emotional from 2025-07-02 inside the child's enrolment meets no_longer_at_risk "
        "(baseline score #0 2024-09-05: 7)",
    ),
    (
        "no baseline",
        [MATHS],
        {"attainment": [("2025-08-01", "100", "100")]},
        ("maths", "1"),
        "no baseline maths attainment on or before 2024-10-10",
    ),
    (
        "trigger taken out of the contract",
        [SIGNUP],
        {},
        ("engaged", "P1"),
        "trigger engaged is not in version 1 of the contract",
    ),
]


@pytest.mark.parametrize(
    "triggers, facts, achievement, why", [c[1:] for c in WHY_CASES], ids=[c[0] for c in WHY_CASES]
)
def test_why_an_achievement_is_no_longer_supported(triggers, facts, achievement, why):
    terms = contract(*triggers)
    facts = child(**facts)
    assert achievement not in {(a.trigger, a.instance) for a in find_achievements(terms, [facts])}
    assert why_unsupported(terms, facts, *achievement) == why


# What a payer is told of each reason above: its kind, without the child's details.
WORDS = {
    "consent withdrawn before the period's end": "consent withdrawn",
    "no consent at all": "consent not held on the day",
    "a register corrected": "engagement thresholds no longer met",
    "no rows left in the period": "engagement thresholds no longer met",
    "the most per child taken by earlier periods": "engagement limit reached by other periods",
    "enrolment in another cohort": "child no longer enrolled",
    "baseline score corrected: not at risk": "score corrected",
    "follow-up score corrected": "outcome no longer met",
    "no baseline": "attainment corrected",
    "trigger taken out of the contract": "trigger no longer in the contract",
}


def test_every_reason_has_words_for_a_payer():
    assert set(WORDS) == {c[0] for c in WHY_CASES}


@pytest.mark.parametrize(
    "name, triggers, facts, achievement", [c[:4] for c in WHY_CASES], ids=[c[0] for c in WHY_CASES]
)
def test_a_reason_in_words_for_a_payer(name, triggers, facts, achievement):
    item = UNSUPPORTED + why_unsupported(contract(*triggers), child(**facts), *achievement)
    words = reason_in_words(item)
    assert words == WORDS[name]
    assert not any(ch.isdigit() for ch in words)  # no dates, scores or counts


@pytest.mark.parametrize(
    "item", [None, "", "reverses the line claimed with", "no longer supported: something new"]
)
def test_a_reason_not_known_is_told_plainly(item):
    assert reason_in_words(item) == "no longer supported by the data"
