"""Hand-worked scoring cases for the shipped instruments (see docs/instruments.md)."""

from decimal import Decimal

import pytest

from linkwork.measures.scoring import (
    ScoringError,
    at_risk,
    band_for,
    respondent_problem,
    score_administration,
    score_problem,
    score_response,
    validate_responses,
)
from linkwork.measures.shipped import shipped_instruments

DEFINITIONS = {doc["code"]: doc for doc, _ in shipped_instruments()}
SDQ = DEFINITIONS["SDQ"]
SCWBS = DEFINITIONS["SCWBS"]

# The worked example in docs/instruments.md: one full SDQ, item by item.
FULL_SDQ = {
    "sdq01": 2,
    "sdq02": 2,
    "sdq03": 2,
    "sdq04": 2,
    "sdq05": 1,
    "sdq06": 1,
    "sdq07": 2,
    "sdq08": 1,
    "sdq09": 1,
    "sdq10": 2,
    "sdq11": 2,
    "sdq12": 0,
    "sdq13": 2,
    "sdq14": 0,
    "sdq15": 1,
    "sdq16": 0,
    "sdq17": 2,
    "sdq18": 1,
    "sdq19": 2,
    "sdq20": 1,
    "sdq21": 0,
    "sdq22": 0,
    "sdq23": 1,
    "sdq24": 1,
    "sdq25": 1,
}
EMOTIONAL = ("sdq03", "sdq08", "sdq13", "sdq16", "sdq24")


def without(responses, *items):
    return {k: v for k, v in responses.items() if k not in items}


def d(value):
    return None if value is None else Decimal(value)


@pytest.mark.parametrize(
    ("responses", "expected"),
    [
        # every item answered: reverse-scored 07, 11, 14, 21, 25 flipped (2 - value)
        (
            FULL_SDQ,
            {
                "emotional": 6,
                "conduct": 2,
                "hyperactivity": 8,
                "peer": 6,
                "prosocial": 8,
                "total_difficulties": 22,
            },
        ),
        # all zeros: the reversed items count 2 each
        (
            {item: 0 for item in SDQ["items"]},
            {
                "emotional": 0,
                "conduct": 2,
                "hyperactivity": 4,
                "peer": 4,
                "prosocial": 0,
                "total_difficulties": 10,
            },
        ),
        # one emotional item missing: 2+1+2+1 = 6 over 4 items, x5 = 7.5 -> 8 (half up)
        (without(FULL_SDQ, "sdq16"), {"emotional": 8, "total_difficulties": 24}),
        # two missing: 2+1+2 = 5 over 3, x5 = 8.33 -> 8
        (without(FULL_SDQ, "sdq16", "sdq24"), {"emotional": 8, "total_difficulties": 24}),
        # three missing: fewer than 3 of 5 answered, no score; the total is missing too
        (
            without(FULL_SDQ, "sdq13", "sdq16", "sdq24"),
            {"emotional": None, "total_difficulties": None, "peer": 6},
        ),
        # a reverse-scored item missing is prorated after flipping: peer 1+2+2+1 = 6/4*5
        (without(FULL_SDQ, "sdq11"), {"peer": 8, "total_difficulties": 24}),
        # nothing answered at all
        ({}, {"emotional": None, "prosocial": None, "total_difficulties": None}),
    ],
)
def test_sdq_scoring(responses, expected):
    scores = score_response(SDQ, responses)
    for scale, value in expected.items():
        assert scores[scale] == d(value), scale


@pytest.mark.parametrize(
    ("responses", "expected"),
    [
        ({f"scwbs{n:02d}": 3 for n in range(1, 13)}, 36),
        ({f"scwbs{n:02d}": 5 for n in range(1, 13)}, 60),
        ({f"scwbs{n:02d}": 1 for n in range(1, 13)}, 12),
        ({f"scwbs{n:02d}": (n % 5) + 1 for n in range(1, 13)}, 35),
        # the published scoring needs every item: one missing gives no score
        ({f"scwbs{n:02d}": 4 for n in range(1, 12)}, None),
    ],
)
def test_stirling_scoring(responses, expected):
    assert score_response(SCWBS, responses)["total"] == d(expected)


@pytest.mark.parametrize(
    ("item", "value", "problem"),
    [
        ("sdq01", 2, None),
        ("sdq01", 3, "out of range 0–2"),
        ("sdq01", -1, "out of range 0–2"),
        ("sdq26", 1, "not an item of SDQ"),
        ("sdq01", "2", "a whole number"),
    ],
)
def test_response_problems(item, value, problem):
    found = validate_responses(SDQ, {item: value})
    assert found == ([] if problem is None else [(item, problem)])


def test_score_administration_refuses_every_bad_item():
    with pytest.raises(ScoringError) as caught:
        score_administration(SDQ, {**FULL_SDQ, "sdq02": 5, "extra": 1})
    assert caught.value.problems == [("sdq02", "out of range 0–2"), ("extra", "not an item of SDQ")]


@pytest.mark.parametrize(
    ("scale", "score", "problem"),
    [
        ("emotional", "10", None),
        ("emotional", "11", "out of range 0–10"),
        ("total_difficulties", "40", None),
        ("total_difficulties", "-1", "out of range 0–40"),
        ("impact", "1", "not a scale of SDQ"),
        ("emotional", "abc", "a number"),
        ("emotional", "2.0005", "at most 3 decimal places"),
    ],
)
def test_direct_score_problems(scale, score, problem):
    assert score_problem(SDQ, scale, score) == problem


def test_scwbs_direct_score_range():
    assert score_problem(SCWBS, "total", "11") == "out of range 12–60"


@pytest.mark.parametrize(
    ("scale", "respondent", "score", "band"),
    [
        ("emotional", "parent", 3, "close to average"),
        ("emotional", "parent", 4, "slightly raised"),
        ("emotional", "parent", 6, "high"),
        ("emotional", "self", 7, "very high"),
        ("peer", "teacher", 4, "slightly raised"),
        ("conduct", "self", 3, "close to average"),
        ("conduct", "self", 4, "slightly raised"),
        ("conduct", "self", 5, "high"),
        ("conduct", "self", 6, "very high"),
        ("conduct", "teacher", 5, "very high"),
        ("prosocial", "parent", 6, "low"),
        ("prosocial", "self", 10, "close to average"),
        ("total_difficulties", "teacher", 19, "very high"),
    ],
)
def test_sdq_bands(scale, respondent, score, band):
    assert band_for(SDQ, scale, respondent, Decimal(score)) == band


@pytest.mark.parametrize(
    ("scale", "phase", "score", "expected"),
    [
        ("emotional", "primary", 5, True),
        ("emotional", "primary", 4, False),
        ("emotional", "secondary", 5, False),
        ("prosocial", "primary", 6, True),  # higher is better: at risk below 7
        ("prosocial", "primary", 7, False),
        ("emotional", "nursery", 9, None),  # no threshold for this phase
        ("emotional", "primary", None, None),
    ],
)
def test_instrument_thresholds(scale, phase, score, expected):
    assert at_risk(SDQ, scale, phase, d(score)) is expected


def test_respondent_problem():
    assert respondent_problem(SDQ, "teacher") is None
    assert respondent_problem(SCWBS, "parent") == "SCWBS is answered by self"
