import pytest

from linkwork.core.documents import DocumentError
from linkwork.measures.documents import parse_instrument

GOOD = """\
code: MINI
name: A small test instrument
respondents: [self]
item_values: {min: 0, max: 3}
items: [m1, m2, m3, m4]
reverse_scored: [m2]
missing_items: {max_missing_per_scale: 1, rounding: whole}
scales:
  a:
    items: [m1, m2]
    sd: 1.5
    reliability: 0.7
    at_risk: {primary: 4}
  b:
    items: [m3, m4]
    direction: higher_is_better
    sd: 1.5
    reliability: 0.7
  both:
    scales: [a, b]
    range: {min: 0, max: 12}
    sd: 2.5
    reliability: 0.8
"""


def errors_of(source):
    with pytest.raises(DocumentError) as caught:
        parse_instrument(source, filename="instruments/mini.yaml")
    return caught.value.errors


def test_good_definition_is_plain_data():
    doc = parse_instrument(GOOD, filename="instruments/mini.yaml")
    assert doc["scales"]["a"] == {
        "name": "a",
        "items": ["m1", "m2"],
        "direction": "higher_is_worse",
        "sd": "1.5",
        "reliability": "0.7",
        "at_risk": {"primary": "4"},
        "range": {"min": "0", "max": "6"},
    }
    assert doc["scales"]["both"]["range"] == {"min": "0", "max": "12"}
    assert doc["reverse_scored"] == ["m2"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("name: A small", "title: A small"),
            [
                "instruments/mini.yaml:2: title: unknown key",
                "instruments/mini.yaml:1: name: required",
            ],
        ),
        (
            ("reverse_scored: [m2]", "reverse_scored: [m9]"),
            ["instruments/mini.yaml:6: reverse_scored: not an item of this instrument (m9)"],
        ),
        (
            ("    items: [m3, m4]", "    items: [m3, m5]"),
            ["instruments/mini.yaml:15: scales.b.items: not an item of this instrument (m5)"],
        ),
        (
            ("    reliability: 0.7\n    at_risk", "    reliability: 1.7\n    at_risk"),
            [
                "instruments/mini.yaml:12: scales.a.reliability: a number greater than 0"
                " and at most 1 (1.7)"
            ],
        ),
        (
            ("max: 12", "max: 14"),
            ["instruments/mini.yaml:21: scales.both.range: does not match its items (0–12)"],
        ),
        (
            ("    at_risk: {primary: 4}", "    at_risk: {junior: 4}"),
            [
                "instruments/mini.yaml:13: scales.a.at_risk: not a phase (nursery, primary,"
                " secondary, all-through, special) (junior)"
            ],
        ),
        (
            ("items: [m1, m2, m3, m4]", "items: [m1, 'How do you feel?']"),
            [
                "instruments/mini.yaml:5: items: an item is a code (letters, digits, _), never item"
                " text (How do you feel?)"
            ],
        ),
        (
            (
                "    direction: higher_is_better",
                "    direction: higher_is_better\n    outcome_area: joy",
            ),
            [
                "instruments/mini.yaml:17: scales.b.outcome_area: one of wellbeing,"
                " relationships, confidence (joy)"
            ],
        ),
        (
            ("    direction: higher_is_better", "    direction: up"),
            [
                "instruments/mini.yaml:16: scales.b.direction: one of higher_is_worse,"
                " higher_is_better (up)"
            ],
        ),
    ],
)
def test_bad_definitions_are_located(change, expected):
    old, new = change
    assert old in GOOD
    errors = errors_of(GOOD.replace(old, new))
    for message in expected:
        assert message in errors


def test_a_scale_names_the_outcome_area_it_counts_in():
    document = parse_instrument(
        GOOD.replace(
            "    at_risk: {primary: 4}", "    at_risk: {primary: 4}\n    outcome_area: wellbeing"
        ),
        filename="instruments/mini.yaml",
    )
    assert document["scales"]["a"]["outcome_area"] == "wellbeing"
    assert "outcome_area" not in document["scales"]["b"]
