from datetime import date

import pytest

from linkwork.screening.documents import parse_screening_rules
from linkwork.screening.explanations import AreaInWords, area_name, explain_in_words
from linkwork.screening.rules import Rules, profile_pupil

from .example import ON, PUPILS, RULES_YAML

RULES = Rules.from_document(parse_screening_rules(RULES_YAML, filename="screening.yaml"))
BY_NAME = {rule.name: rule for rule in RULES.areas}


def in_words(pupil):
    return explain_in_words(profile_pupil(RULES, pupil, ON).detailed_explanation(), BY_NAME)


def test_the_worked_examples_pupil_a_in_words():
    assert in_words(PUPILS[0]) == (
        AreaInWords("Economic disadvantage", "Yes", None, "free school meals", "Yes", True),
        AreaInWords(
            "Attendance", "90%", date(2026, 7, 22), "171 of 190 sessions", "below 90%", False
        ),
        AreaInWords(
            "Emotional wellbeing",
            "6",
            date(2026, 9, 20),
            "answered by the child",
            "at or above 5",
            True,
        ),
        AreaInWords(
            "Relationships", "4", date(2026, 9, 20), "answered by a parent", "at or above 4", True
        ),
        AreaInWords("English", "97", date(2026, 7, 1), "expected 100", "at or below 99", True),
        AreaInWords("Maths", "100", date(2026, 7, 1), "expected 100", "at or below 99", False),
    )


def test_no_data_and_a_rate_with_decimals():
    b = {area.area: area for area in in_words(PUPILS[1])}
    assert (b["Attendance"].value, b["Attendance"].at_risk) == ("78.95%", True)
    assert b["Economic disadvantage"].value == "No"
    assert (b["Relationships"].value, b["Relationships"].seen_on) == ("No data", None)
    g = {area.area: area for area in in_words(PUPILS[6])}
    assert g["English"].at_risk_when == "1 or more below expected"
    assert g["Economic disadvantage"].value == "No data"


def test_a_phase_without_a_threshold():
    rules = Rules.from_document(
        parse_screening_rules(
            "min_risk_areas: 1\nexclude_statutory: [CIN, CP, LAC]\nareas:\n"
            "  attendance: {attendance_rate_below: {secondary: 0.92}}\n"
            "  emotional_wellbeing: {score: SDQ/emotional, at_risk_below: {secondary: 40}}\n",
            filename="screening.yaml",
        )
    )
    explanation = profile_pupil(rules, PUPILS[0], ON).detailed_explanation()
    words = explain_in_words(explanation, {rule.name: rule for rule in rules.areas})
    assert [(area.value, area.at_risk_when) for area in words] == [
        ("90%", "No threshold for this phase"),
        ("6", "No threshold for this phase"),
    ]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("economic_disadvantage", "Economic disadvantage"),
        ("english", "English"),
        ("SDQ_peer", "SDQ peer"),
    ],
)
def test_area_names(name, words):
    assert area_name(name) == words


def test_text_it_does_not_know_is_shown_as_stored():
    stored = {
        "reading_age": {"value": "8y 3m", "threshold": "behind by a year", "at_risk": True},
        "attendance": {"value": "n/a", "threshold": "< 0.9", "at_risk": False, "seen_on": "?"},
    }
    assert explain_in_words(stored, BY_NAME) == (
        AreaInWords("Reading age", "8y 3m", None, "", "behind by a year", True),
        AreaInWords("Attendance", "n/a", None, "", "below 90%", False),
    )
