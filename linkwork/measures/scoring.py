"""Scoring item responses into scale scores by an instrument's definition. Pure: no ORM.

`definition` is the document `documents.parse_instrument` returns (as stored on
`Instrument.definition`); responses map item code to an integer answer.
"""

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

WHOLE = Decimal(1)
STORED = Decimal("0.001")  # Score.score keeps three decimal places


class ScoringError(ValueError):
    """Responses that cannot be scored; `problems` are (item, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{item}: {message}" for item, message in problems))
        self.problems = problems


def respondent_problem(definition: Mapping, respondent: str) -> str | None:
    """Why this respondent cannot answer the instrument, or None."""
    if respondent not in definition["respondents"]:
        return f"{definition['code']} is answered by {', '.join(definition['respondents'])}"
    return None


def response_problem(definition: Mapping, item: str, value) -> str | None:
    """Why one item answer cannot be accepted, or None."""
    if item not in definition["items"]:
        return f"not an item of {definition['code']}"
    low, high = definition["item_values"]["min"], definition["item_values"]["max"]
    if isinstance(value, bool) or not isinstance(value, int):
        return "a whole number"
    if not low <= value <= high:
        return f"out of range {low}–{high}"
    return None


def validate_responses(definition: Mapping, responses: Mapping[str, object]):
    """Every (item, message) problem in one administration's answers, item order."""
    return [
        (item, problem)
        for item, value in responses.items()
        if (problem := response_problem(definition, item, value)) is not None
    ]


def score_problem(definition: Mapping, scale: str, score) -> str | None:
    """Why a scale score entered directly cannot be accepted, or None."""
    scales = definition["scales"]
    if scale not in scales:
        return f"not a scale of {definition['code']}"
    try:
        value = score if isinstance(score, Decimal) else Decimal(str(score))
    except InvalidOperation:
        return "a number"
    if not value.is_finite():
        return "a number"
    low, high = (Decimal(scales[scale]["range"][k]) for k in ("min", "max"))
    if not low <= value <= high:
        return f"out of range {_text(low)}–{_text(high)}"
    if value != value.quantize(STORED, rounding=ROUND_HALF_UP):
        return "at most 3 decimal places"
    return None


def score_response(definition: Mapping, responses: Mapping[str, int]) -> dict[str, Decimal | None]:
    """Scale scores from item answers: reverse-scored items flipped, short scales prorated.

    An item scale with at most `max_missing_per_scale` items unanswered is prorated
    (mean of the answered items × the number of items, rounded as the definition says);
    with more missing it is None. A sum of scales is None when any of its scales is.
    Answers are assumed valid (see `validate_responses`).
    """
    low = definition["item_values"]["min"]
    high = definition["item_values"]["max"]
    reverse = set(definition.get("reverse_scored", ()))
    rule = definition["missing_items"]
    max_missing = rule["max_missing_per_scale"]
    quantum = WHOLE if rule["rounding"] == "whole" else STORED

    def item_value(item):
        value = responses.get(item)
        if value is None:
            return None
        return (low + high - value) if item in reverse else value

    results: dict[str, Decimal | None] = {}

    def scale_score(code):
        if code in results:
            return results[code]
        scale = definition["scales"][code]
        if "items" in scale:
            values = [v for v in (item_value(i) for i in scale["items"]) if v is not None]
            missing = len(scale["items"]) - len(values)
            if not values or missing > max_missing:
                score = None
            elif missing == 0:
                score = Decimal(sum(values))
            else:
                mean = Decimal(sum(values)) / Decimal(len(values))
                score = (mean * len(scale["items"])).quantize(quantum, rounding=ROUND_HALF_UP)
        else:
            parts = [scale_score(member) for member in scale["scales"]]
            score = None if any(p is None for p in parts) else sum(parts, Decimal(0))
        results[code] = score
        return score

    for code in definition["scales"]:
        scale_score(code)
    return results


def score_administration(definition: Mapping, responses: Mapping[str, object]):
    """Validate then score one administration; raises ScoringError listing every problem."""
    problems = validate_responses(definition, responses)
    if problems:
        raise ScoringError(problems)
    return score_response(definition, responses)


def band_for(definition: Mapping, scale: str, respondent: str, score: Decimal) -> str | None:
    """The published band a score falls in for this respondent, if the scale has bands."""
    rows = definition["scales"][scale].get("bands", {}).get(respondent)
    if not rows or score is None:
        return None
    label = None
    for start, name in rows:
        if score >= Decimal(start):
            label = name
    return label


def at_risk(definition: Mapping, scale: str, phase: str, score: Decimal | None) -> bool | None:
    """Whether a score is at risk by the instrument's own threshold for a phase.

    None when there is no score or no threshold for that phase.
    """
    spec = definition["scales"][scale]
    threshold = spec.get("at_risk", {}).get(phase)
    if threshold is None or score is None:
        return None
    if spec["direction"] == "higher_is_better":
        return score < Decimal(threshold)
    return score >= Decimal(threshold)


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")
