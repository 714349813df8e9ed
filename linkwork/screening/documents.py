"""Reading the screening rules document (`screening.yaml`) into a checked document.

The result keeps the document's own shape (so it can be written back out unchanged) with
numbers as exact decimal strings. The rule kinds are exactly those of the zone package
spec; a threshold may also be given per school phase (`{primary: 5, secondary: 6}`).
"""

import re
from decimal import Decimal, InvalidOperation

from linkwork.core.documents import DocumentError, key_line, read_yaml
from linkwork.measures.references import score_problems

# Children with a statutory status are out of the programme's scope (statutory services
# own them): every rules document excludes each status a pupil can have (the statuses of
# people.models.StatutoryStatus but "none"; a test holds the two together, and this
# module stays free of the models so it reads a document anywhere).
STATUTORY = ("CIN", "CP", "LAC")
ALWAYS_EXCLUDED = f"statutory cases are always excluded: list every one of {', '.join(STATUTORY)}"
FLAGS = ("fsm", "eal")
SUBJECTS = ("reading", "writing", "maths", "english")
RESPONDENTS = ("self", "parent", "teacher")
PHASES = ("nursery", "primary", "secondary", "all-through", "special")
TOP_KEYS = ("min_risk_areas", "priority_areas", "exclude_statutory", "areas")
KINDS = {
    # first key names the kind; the others are the keys it takes (required, optional)
    "pupil_flag": ((), ()),
    "attendance_rate_below": ((), ()),
    "score": ((), ("respondent",)),
    "attainment": (("below_expected_by",), ()),
}
SCORE_THRESHOLDS = ("at_risk_from", "at_risk_below")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
SCORE_REF = re.compile(r"^[A-Za-z0-9_]+/[A-Za-z0-9_]+$")


def _number(value) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value)) if isinstance(value, (int, Decimal, str)) else None
    except InvalidOperation:
        return None
    return number if number is not None and number.is_finite() else None


def _text(value: Decimal) -> str:
    return format(value, "f")


def parse_screening_rules(
    source: str | bytes, *, filename: str, instruments: dict | None = None
) -> dict:
    """Check a screening rules document; every problem raises as `file:line: key: message`.

    With `instruments` ({code: definition}), a score rule's instrument, scale and
    respondent must be among them; without, `store_screening_rules` checks them against
    the instruments stored.
    """
    data = read_yaml(source, filename=filename)
    if isinstance(source, bytes):
        source = source.decode("utf-8-sig")
    errors: list[str] = []

    def add(key, message, *, after=0, value=None, here=False):
        line = after if here else key_line(source, key.split(".")[-1], after_line=after)
        shown = "" if value is None else f" ({value})"
        errors.append(f"{filename}:{line}: {key}: {message}{shown}")

    if not isinstance(data, dict):
        raise DocumentError([f"{filename}:1: screening rules are a mapping of keys"])
    for key in data:
        if key not in TOP_KEYS:
            add(str(key), "unknown key")
    for key in ("min_risk_areas", "areas"):
        if key not in data:
            errors.append(f"{filename}:1: {key}: required")
    if errors:
        raise DocumentError(errors)

    min_risk = data["min_risk_areas"]
    areas_in = data["areas"]
    areas: dict[str, dict] = {}
    if not isinstance(min_risk, int) or isinstance(min_risk, bool) or min_risk < 1:
        add("min_risk_areas", "a whole number, at least 1", value=min_risk)
    elif isinstance(areas_in, dict) and areas_in and min_risk > len(areas_in):
        count = len(areas_in)
        add(
            "min_risk_areas",
            f"more than the {count} area{'s' if count != 1 else ''} defined, "
            "so nobody could be shortlisted",
            value=min_risk,
        )
    if not isinstance(areas_in, dict) or not areas_in:
        add("areas", "a mapping of area name to its rule")
        areas_in = {}
    for name, rule in areas_in.items():
        at = key_line(source, str(name), after_line=key_line(source, "areas"))
        if not isinstance(name, str) or not NAME.match(name):
            add("areas", "an area name is lower case letters, digits and _", value=name)
            continue
        parsed = _parse_rule(add, f"areas.{name}", rule, at=at)
        if parsed is not None:
            areas[name] = parsed

    priority = data.get("priority_areas") or []
    if not isinstance(priority, list):
        add("priority_areas", "a list of area names")
        priority = []
    for name in priority:
        if name not in areas_in:
            add("priority_areas", "not an area of these rules", value=name)

    # Left out, it means every status (the engine excludes them whatever the document);
    # written, it must say so.
    statutory = data.get("exclude_statutory", list(STATUTORY)) or []
    if not isinstance(statutory, list):
        add("exclude_statutory", f"a list of {', '.join(STATUTORY)}")
        statutory = list(STATUTORY)  # reported above: not again as missing
    for status in statutory:
        if status not in STATUTORY:
            add("exclude_statutory", f"not one of {', '.join(STATUTORY)}", value=status)
    missing = [status for status in STATUTORY if status not in statutory]
    if missing:
        add("exclude_statutory", ALWAYS_EXCLUDED, value=f"missing {', '.join(missing)}")

    if errors:
        raise DocumentError(errors)
    document = {
        "min_risk_areas": min_risk,
        "priority_areas": list(priority),
        "exclude_statutory": list(statutory),
        "areas": areas,
    }
    if instruments is not None:
        problems = instrument_problems(document, source, filename=filename, instruments=instruments)
        if problems:
            raise DocumentError(problems)
    return document


def instrument_problems(
    document: dict, source: str, *, filename: str, instruments: dict
) -> list[str]:
    """The score rules of a checked document naming an instrument, scale or respondent
    not among `instruments` ({code: definition}), each as `file:line: areas.NAME: …`.

    Such a rule finds no score, so every pupil would have no data in its area.
    """
    problems = []
    areas_at = key_line(source, "areas")
    for name, rule in document["areas"].items():
        if "score" not in rule:
            continue
        at = key_line(source, name, after_line=areas_at)
        for key, message, value in score_problems(
            rule["score"], rule.get("respondent"), instruments
        ):
            line = key_line(source, key, after_line=at)
            problems.append(f"{filename}:{line}: areas.{name}: {message} ({value})")
    return problems


def _parse_rule(add, where, rule, *, at):
    if not isinstance(rule, dict) or not rule:
        add(where, f"a rule: one of {', '.join(KINDS)}", after=at)
        return None
    kinds = [key for key in rule if key in KINDS]
    if len(kinds) != 1:
        add(
            where,
            f"exactly one rule kind of {', '.join(KINDS)}",
            after=at,
            value=", ".join(map(str, rule)),
        )
        return None
    kind = kinds[0]
    required, optional = KINDS[kind]
    allowed = {kind, *required, *optional}
    if kind == "score":
        allowed |= set(SCORE_THRESHOLDS)
    for key in rule:
        if key not in allowed:
            add(f"{where}.{key}", f"unknown key for a {kind} rule", after=at)
    for key in required:
        if key not in rule:
            add(f"{where}.{key}", "required", after=at, here=True)
    value = rule[kind]
    parsed: dict = {}

    if kind == "pupil_flag":
        if value not in FLAGS:
            add(f"{where}.pupil_flag", f"one of {', '.join(FLAGS)}", after=at, value=value)
        parsed["pupil_flag"] = value
    elif kind == "attendance_rate_below":
        parsed["attendance_rate_below"] = _threshold(
            add, f"{where}.attendance_rate_below", value, at=at, low=Decimal(0), high=Decimal(1)
        )
    elif kind == "attainment":
        if value not in SUBJECTS:
            add(f"{where}.attainment", f"one of {', '.join(SUBJECTS)}", after=at, value=value)
        parsed["attainment"] = value
        if "below_expected_by" in rule:
            parsed["below_expected_by"] = _threshold(
                add,
                f"{where}.below_expected_by",
                rule["below_expected_by"],
                at=at,
                low=Decimal(0),
            )
    else:
        if not isinstance(value, str) or not SCORE_REF.match(value):
            add(f"{where}.score", "INSTRUMENT/scale", after=at, value=value)
        parsed["score"] = value
        given = [key for key in SCORE_THRESHOLDS if key in rule]
        if len(given) != 1:
            add(where, "a score rule takes one of at_risk_from, at_risk_below", after=at)
        else:
            parsed[given[0]] = _threshold(add, f"{where}.{given[0]}", rule[given[0]], at=at)
        if "respondent" in rule:
            if rule["respondent"] not in RESPONDENTS:
                add(
                    f"{where}.respondent",
                    f"one of {', '.join(RESPONDENTS)}",
                    after=at,
                    value=rule["respondent"],
                )
            parsed["respondent"] = rule["respondent"]
    return parsed


def _threshold(add, where, value, *, at, low=None, high=None):
    """A number, or a mapping of school phase to number."""
    if isinstance(value, dict):
        out = {}
        for phase, each in value.items():
            if phase not in PHASES:
                add(where, f"not a phase ({', '.join(PHASES)})", after=at, value=phase)
                continue
            out[phase] = _threshold(add, f"{where}.{phase}", each, at=at, low=low, high=high)
        if not out:
            add(where, "a number or a mapping of phase to number", after=at)
        return out
    number = _number(value)
    if number is None:
        add(where, "a number", after=at, value=value)
        return None
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"from {_text(low)}" + (f" to {_text(high)}" if high is not None else "")
        add(where, f"out of range ({bounds})", after=at, value=value)
    return _text(number)
