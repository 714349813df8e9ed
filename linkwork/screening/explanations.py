"""A stored explanation in words, as the shortlist page shows it.

A stored profile keeps each area's value and threshold as the rules wrote them
(`0.7895`, `< 0.90`, `<= 99`, `Y`, ISO dates): exact, and the same text as
`linkwork screen --json`. School staff read them in words: `78.95%`, `below 90%`,
`at or below 99`, `Yes`, a date. Pure: no ORM, clock or settings; text it does not
recognise is shown as stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from .rules import NO_DATA, NO_THRESHOLD, AreaRule, text

# Longest first, so that "<=" is not read as "<".
COMPARISONS = (("<=", "at or below"), (">=", "at or above"), ("<", "below"), (">", "above"))
FLAGS = {"fsm": "free school meals", "eal": "English as an additional language"}
RESPONDENTS = {
    "self": "answered by the child",
    "parent": "answered by a parent",
    "teacher": "answered by a teacher",
}
SESSIONS = re.compile(r"(\d+)/(\d+) sessions")
BELOW_EXPECTED = re.compile(r"expected - (\S+)")


@dataclass(frozen=True, slots=True)
class AreaInWords:
    """One area of a risk profile as a person reads it."""

    area: str  # "Economic disadvantage"
    value: str  # "Yes", "78.95%", "97", "No data"
    seen_on: date | None  # the date of the value
    source: str  # "free school meals", "150 of 190 sessions", "expected 100", ...
    at_risk_when: str  # "below 90%", "at or below 99", "Yes"
    at_risk: bool


def area_name(name: str) -> str:
    """A rules document's area key in words: `economic_disadvantage` is
    "Economic disadvantage", `english` is "English"."""
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _number(value: str) -> Decimal | None:
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def _percent(value: str) -> str:
    """A rate as a percentage (`0.7895` is "78.95%"); other text as it is."""
    number = _number(value)
    return value if number is None else f"{text(number * 100)}%"


def _value(value: str, rule: AreaRule | None) -> str:
    if value == NO_DATA:
        return "No data"
    if value in ("Y", "N") and (rule is None or rule.kind == "pupil_flag"):
        return "Yes" if value == "Y" else "No"
    if rule is not None and rule.kind == "attendance":
        return _percent(value)
    return value


def _threshold(threshold: str, rule: AreaRule | None) -> str:
    if threshold in ("", NO_THRESHOLD):
        # a phase without a threshold: no verdict, whatever the value
        return NO_THRESHOLD[:1].upper() + NO_THRESHOLD[1:]
    if threshold == "Y":
        return "Yes"
    for sign, words in COMPARISONS:
        if threshold.startswith(sign + " "):
            limit = threshold[len(sign) + 1 :]
            below = BELOW_EXPECTED.fullmatch(limit)
            if below:
                # an attainment rule with no result to work the limit out from
                return f"{below.group(1)} or more below expected"
            if rule is not None and rule.kind == "attendance":
                limit = _percent(limit)
            return f"{words} {limit}"
    return threshold


def _source(source: str, rule: AreaRule | None) -> str:
    if rule is not None and rule.kind == "pupil_flag":
        return FLAGS.get(rule.subject, rule.subject)
    if rule is not None and rule.kind == "score":
        return RESPONDENTS.get(source, source)
    sessions = SESSIONS.fullmatch(source)
    if sessions:
        return f"{sessions.group(1)} of {sessions.group(2)} sessions"
    return source


def _date(value) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def explain_in_words(
    explanation: Mapping[str, Mapping], rules: Mapping[str, AreaRule]
) -> tuple[AreaInWords, ...]:
    """Each area of a stored explanation, in its order, in words.

    `rules` are the round's area rules by name (from its rules version), which say how
    to read a value: a rate as a percentage, a flag as yes or no.
    """
    return tuple(
        AreaInWords(
            area=area_name(name),
            value=_value(str(seen.get("value", "")), rules.get(name)),
            seen_on=_date(seen.get("seen_on")),
            source=_source(str(seen.get("source") or ""), rules.get(name)),
            at_risk_when=_threshold(str(seen.get("threshold", "")), rules.get(name)),
            at_risk=bool(seen.get("at_risk")),
        )
        for name, seen in explanation.items()
    )


# A pupil's statutory status in words, as it reads after "excluded:" or a name.
STATUTORY_IN_WORDS = {
    "CP": "on a child protection plan",
    "CIN": "a child in need",
    "LAC": "looked after",
}
EXCLUDED = re.compile(r"statutory status (\S+)")


def excluded_in_words(reason: str) -> str:
    """A stored reason for exclusion in words: `statutory status CP` is "on a child
    protection plan"; a reason it does not recognise is shown as stored."""
    match = EXCLUDED.fullmatch(reason)
    if match is None:
        return reason
    return STATUTORY_IN_WORDS.get(match.group(1), reason)


def risk_in_words(risk_areas: int, priority_areas: int) -> str:
    """How many areas a pupil is at risk in, and how many of those are priority areas:
    (5, 0) is "At risk in 5 areas, none of them priority areas"."""
    if risk_areas == 0:
        return "Not at risk in any area"
    if risk_areas == 1:
        return f"At risk in 1 area, {'a' if priority_areas else 'not a'} priority area"
    if priority_areas == 0:
        which = "none of them priority areas"
    elif priority_areas == 1:
        which = "1 of them a priority area"
    elif priority_areas == risk_areas:
        which = f"{'both' if risk_areas == 2 else 'all'} of them priority areas"
    else:
        which = f"{priority_areas} of them priority areas"
    return f"At risk in {risk_areas} areas, {which}"
