"""Reading an outcomes contract document (spec/contracts.md) with located errors.

`parse_contract` checks every rule of the file format and returns a plain, normalised,
JSON-ready dict (money, shares and thresholds as decimal strings, dates as YYYY-MM-DD,
defaults filled in). Errors read `file:line: key: message (value)`, where `key` is the
path to the offending key with list positions counted from 1, e.g. `triggers[2].shares`.
"""

import datetime as dt
import re
from decimal import Decimal

import yaml

from linkwork.core.documents import DocumentError, read_yaml
from linkwork.measures.references import score_problems as instrument_score_problems

TOP_REQUIRED = ("code", "name", "starts_on", "ends_on", "cohorts", "periods", "payers", "triggers")
TOP_OPTIONAL = ("caps",)
KINDS = ("enrolment", "engagement", "outcome")
COMMON_KEYS = ("code", "kind", "price", "shares")
KIND_KEYS = {
    "enrolment": (),
    "engagement": ("max_per_child", "min_sessions", "min_attendance", "min_engaged"),
    "outcome": (
        "score",
        "attainment",
        "respondent",
        "at_risk_from",
        "at_risk_below",
        "below_expected_by",
        "achieved_when",
        "sd",
        "reliability",
        "min_gain",
        "follow_up_after_days",
    ),
}
SCORE_ACHIEVED_WHEN = ("no_longer_at_risk", "reliable_improvement", "either")
ATTAINMENT_ACHIEVED_WHEN = ("gap_closed_by", "no_longer_at_risk", "either")
SUBJECTS = ("reading", "writing", "maths", "english")
RESPONDENTS = ("self", "parent", "teacher")
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SCORE_RE = re.compile(r"^[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+$")


def _line_map(source: str) -> dict[tuple, int]:
    """Map each path (keys and 0-based list indexes) to the 1-based line where it starts."""
    lines: dict[tuple, int] = {}

    def walk(node, path):
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value
                lines[path + (key,)] = key_node.start_mark.line + 1
                walk(value_node, path + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, path + (index,))

    root = yaml.compose(source, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return lines


def _label(path: tuple) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part + 1}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(document)"


class _Checker:
    """Collects located errors while the document is normalised."""

    def __init__(self, filename: str, lines: dict[tuple, int]):
        self.filename = filename
        self.lines = lines
        self.errors: list[str] = []

    def error(self, path: tuple, message: str, value=None):
        probe = path
        while probe and probe not in self.lines:
            probe = probe[:-1]
        line = self.lines.get(probe, 1)
        shown = f" ({value})" if value is not None else ""
        self.errors.append(f"{self.filename}:{line}: {_label(path)}: {message}{shown}")

    # -- shapes ---------------------------------------------------------------

    def mapping(self, value, path, required, optional=()) -> dict | None:
        if not isinstance(value, dict):
            self.error(path, "must be a mapping of keys to values")
            return None
        for key in value:
            if key not in required and key not in optional:
                self.error(path + (key,), "unknown key")
        for key in required:
            if key not in value:
                self.error(path, f"missing key '{key}'")
        return value

    def text(self, value, path, *, pattern=None, what="text") -> str | None:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.error(path, f"must be {what}", value)
            return None
        value = str(value).strip()
        if not value:
            self.error(path, "must not be blank")
            return None
        if pattern is not None and not pattern.match(value):
            self.error(path, f"must be {what}", value)
            return None
        return value

    def date(self, value, path) -> dt.date | None:
        if not isinstance(value, str) or not DATE_RE.match(value):
            self.error(path, "must be a date YYYY-MM-DD", value)
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.error(path, "is not a real date", value)
            return None

    def number(
        self,
        value,
        path,
        *,
        minimum=None,
        above=None,
        maximum=None,
        below=None,
        places=None,
        integer=False,
    ) -> Decimal | None:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            self.error(path, "must be a number", value)
            return None
        number = Decimal(value)
        if not number.is_finite():
            self.error(path, "must be a finite number", value)
            return None
        if integer and number != number.to_integral_value():
            self.error(path, "must be a whole number", value)
            return None
        if places is not None and number.as_tuple().exponent < -places:
            self.error(path, f"must have at most {places} decimal places", value)
            return None
        if minimum is not None and number < minimum:
            self.error(path, f"must be at least {minimum}", value)
            return None
        if above is not None and number <= above:
            self.error(path, f"must be more than {above}", value)
            return None
        if maximum is not None and number > maximum:
            self.error(path, f"must be at most {maximum}", value)
            return None
        if below is not None and number >= below:
            self.error(path, f"must be less than {below}", value)
            return None
        return number

    def money(self, value, path) -> Decimal | None:
        return self.number(value, path, above=0, places=2)

    def choice(self, value, path, choices) -> str | None:
        if not isinstance(value, str) or value not in choices:
            self.error(path, f"must be one of {', '.join(choices)}", value)
            return None
        return value

    def items(self, value, path, what) -> list:
        if not isinstance(value, list) or not value:
            self.error(path, f"must be a non-empty list of {what}")
            return []
        return value


def _s(value) -> str | None:
    """Decimals and dates as text for storage; None stays None."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return str(value)
    return value.isoformat()


def parse_contract(source: str, *, filename: str, instruments: dict | None = None) -> dict:
    """Validate a contract document; return it normalised, or raise DocumentError.

    Every rule of spec/contracts.md is checked and every violation reported, each
    located at its line. With `instruments` ({code: definition}, the instruments the
    contract may use), a score outcome's instrument, scale and respondent must be among
    them; without it they are checked when the contract is stored (`store_contract`).
    """
    data = read_yaml(source, filename=filename)
    if isinstance(source, bytes):
        source = source.decode("utf-8-sig")
    check = _Checker(filename, _line_map(source))
    if not check.mapping(data, (), TOP_REQUIRED, TOP_OPTIONAL):
        raise DocumentError(check.errors)

    out: dict = {}
    out["code"] = check.text(
        data.get("code"),
        ("code",),
        pattern=CODE_RE,
        what="a code of letters, digits, '-', '_' or '.' (at most 40)",
    )
    out["name"] = check.text(data.get("name"), ("name",))
    starts_on = check.date(data.get("starts_on"), ("starts_on",))
    ends_on = check.date(data.get("ends_on"), ("ends_on",))
    if starts_on and ends_on and ends_on < starts_on:
        check.error(("ends_on",), "must not be before starts_on", data.get("ends_on"))
    out["starts_on"], out["ends_on"] = _s(starts_on), _s(ends_on)

    cohorts = []
    for index, cohort in enumerate(check.items(data.get("cohorts"), ("cohorts",), "cohorts")):
        code = check.text(cohort, ("cohorts", index), what="a cohort code")
        if code is not None:
            if code in cohorts:
                check.error(("cohorts", index), "is listed twice", code)
            cohorts.append(code)
    out["cohorts"] = cohorts

    out["periods"] = _periods(check, data.get("periods"), starts_on, ends_on)
    out["payers"] = _payers(check, data.get("payers"))
    out["caps"] = _caps(check, data.get("caps"))
    payer_codes = [payer["code"] for payer in out["payers"]]
    out["triggers"] = _triggers(check, data.get("triggers"), payer_codes)
    if instruments is not None:
        _check_scores(check, out["triggers"], instruments)

    if check.errors:
        raise DocumentError(check.errors)
    return out


def score_problems(trigger: dict, instruments: dict) -> list[tuple[str, str, str]]:
    """(key, message, value) for a normalised score outcome trigger whose instrument,
    scale or respondent is not among `instruments` ({code: definition})."""
    if trigger.get("measure") != "score" or not trigger.get("score"):
        return []
    return instrument_score_problems(trigger["score"], trigger.get("respondent"), instruments)


def check_scores(document: dict, source: str, *, filename: str, instruments: dict) -> list[str]:
    """The located `score_problems` of every trigger of a normalised document (one parsed
    before its instruments were known), as parse_contract would report them."""
    check = _Checker(filename, _line_map(source))
    _check_scores(check, document["triggers"], instruments)
    return check.errors


def _check_scores(check, triggers, instruments) -> None:
    for index, trigger in enumerate(triggers):
        for key, message, value in score_problems(trigger, instruments):
            check.error(("triggers", index, key), message, value)


def _periods(check, value, starts_on, ends_on) -> list[dict]:
    periods = []
    previous_end = None
    codes = set()
    for index, item in enumerate(check.items(value, ("periods",), "periods")):
        path = ("periods", index)
        if not check.mapping(item, path, ("code", "starts_on", "ends_on")):
            previous_end = None
            continue
        code = check.text(item.get("code"), path + ("code",), pattern=CODE_RE, what="a code")
        if code in codes:
            check.error(path + ("code",), "is used by an earlier period", code)
        codes.add(code)
        start = check.date(item.get("starts_on"), path + ("starts_on",))
        end = check.date(item.get("ends_on"), path + ("ends_on",))
        if start and end and end < start:
            check.error(path + ("ends_on",), "must not be before starts_on", item.get("ends_on"))
        if start and starts_on and start < starts_on:
            check.error(
                path + ("starts_on",), "is before the contract starts", item.get("starts_on")
            )
        if end and ends_on and end > ends_on:
            check.error(path + ("ends_on",), "is after the contract ends", item.get("ends_on"))
        if start and previous_end:
            expected = previous_end + dt.timedelta(days=1)
            if start < expected:
                check.error(
                    path + ("starts_on",),
                    f"overlaps the previous period (must be {expected})",
                    item.get("starts_on"),
                )
            elif start > expected:
                check.error(
                    path + ("starts_on",),
                    f"leaves a gap after the previous period (must be {expected})",
                    item.get("starts_on"),
                )
        previous_end = end
        periods.append({"code": code, "starts_on": _s(start), "ends_on": _s(end)})
    return periods


def _payers(check, value) -> list[dict]:
    payers = []
    codes = set()
    for index, item in enumerate(check.items(value, ("payers",), "payers")):
        path = ("payers", index)
        if not check.mapping(item, path, ("code", "name"), ("cap",)):
            continue
        code = check.text(item.get("code"), path + ("code",), pattern=CODE_RE, what="a code")
        if code in codes:
            check.error(path + ("code",), "is used by an earlier payer", code)
        codes.add(code)
        name = check.text(item.get("name"), path + ("name",))
        cap = None
        if "cap" in item:
            cap = check.money(item["cap"], path + ("cap",))
        if code:
            payers.append({"code": code, "name": name, "cap": _s(cap)})
    return payers


def _caps(check, value) -> dict:
    caps = {"per_child": None, "contract": None}
    if value is None:
        return caps
    if not check.mapping(value, ("caps",), (), ("per_child", "contract")):
        return caps
    for key in ("per_child", "contract"):
        if key in value:
            caps[key] = _s(check.money(value[key], ("caps", key)))
    return caps


def _triggers(check, value, payer_codes) -> list[dict]:
    triggers = []
    codes = set()
    for index, item in enumerate(check.items(value, ("triggers",), "triggers")):
        path = ("triggers", index)
        if not isinstance(item, dict):
            check.error(path, "must be a mapping of keys to values")
            continue
        kind = check.choice(item.get("kind"), path + ("kind",), KINDS)
        allowed = COMMON_KEYS + KIND_KEYS.get(kind, ())
        if kind is None:
            allowed = COMMON_KEYS + tuple(k for keys in KIND_KEYS.values() for k in keys)
        check.mapping(item, path, COMMON_KEYS, tuple(k for k in allowed if k not in COMMON_KEYS))
        code = check.text(item.get("code"), path + ("code",), pattern=CODE_RE, what="a code")
        if code in codes:
            check.error(path + ("code",), "is used by an earlier trigger", code)
        codes.add(code)
        trigger = {
            "code": code,
            "kind": kind,
            "price": _s(check.money(item.get("price"), path + ("price",))),
            "shares": _shares(check, item.get("shares"), path + ("shares",), payer_codes),
        }
        if kind == "engagement":
            trigger.update(_engagement(check, item, path))
        elif kind == "outcome":
            trigger.update(_outcome(check, item, path))
        triggers.append(trigger)
    return triggers


def _shares(check, value, path, payer_codes) -> dict:
    if not isinstance(value, dict) or not value:
        check.error(path, "must map payer codes to fractions")
        return {}
    shares = {}
    total = Decimal(0)
    complete = True
    for payer, share in value.items():
        if payer not in payer_codes:
            check.error(path + (payer,), "is not a payer listed in payers", payer)
            complete = False
            continue
        fraction = check.number(share, path + (payer,), above=0, maximum=1)
        if fraction is None:
            complete = False
            continue
        shares[payer] = str(fraction)
        total += fraction
    if complete and total != 1:
        check.error(path, "must sum to exactly 1", total)
    return shares


def _engagement(check, item, path) -> dict:
    def opt(key, default, **rules):
        if key not in item:
            return default
        return check.number(item[key], path + (key,), **rules)

    for key in ("min_sessions", "min_attendance"):
        if key not in item:
            check.error(path, f"missing key '{key}' (needed by an engagement trigger)")
    max_per_child = opt("max_per_child", Decimal(1), minimum=1, integer=True)
    min_sessions = opt("min_sessions", None, minimum=1, integer=True)
    min_attendance = opt("min_attendance", None, minimum=0, maximum=1)
    min_engaged = opt("min_engaged", None, minimum=0, maximum=1)
    return {
        "max_per_child": int(max_per_child) if max_per_child is not None else None,
        "min_sessions": int(min_sessions) if min_sessions is not None else None,
        "min_attendance": _s(min_attendance),
        "min_engaged": _s(min_engaged),
    }


def _outcome(check, item, path) -> dict:
    def num(key, **rules):
        return check.number(item[key], path + (key,), **rules) if key in item else None

    def forbid(keys, reason):
        for key in keys:
            if key in item:
                check.error(path + (key,), f"not used {reason}")

    def require(key, reason):
        if key not in item:
            check.error(path, f"missing key '{key}' ({reason})")

    out = {"measure": None}
    days = num("follow_up_after_days", minimum=1, integer=True)
    out["follow_up_after_days"] = int(days) if days is not None else 300
    if ("score" in item) == ("attainment" in item):
        check.error(path, "an outcome trigger needs exactly one of 'score' or 'attainment'")
        return out
    if "score" in item:
        out["measure"] = "score"
        out["score"] = check.text(
            item["score"], path + ("score",), pattern=SCORE_RE, what="instrument/scale"
        )
        out["respondent"] = None
        if "respondent" in item:
            out["respondent"] = check.choice(
                item["respondent"], path + ("respondent",), RESPONDENTS
            )
        forbid(("below_expected_by", "min_gain"), "with 'score'")
        if ("at_risk_from" in item) == ("at_risk_below" in item):
            check.error(
                path, "a score outcome needs exactly one of 'at_risk_from' or 'at_risk_below'"
            )
        out["at_risk_from"] = _s(num("at_risk_from"))
        out["at_risk_below"] = _s(num("at_risk_below"))
        require("achieved_when", "one of " + ", ".join(SCORE_ACHIEVED_WHEN))
        when = None
        if "achieved_when" in item:
            when = check.choice(
                item["achieved_when"], path + ("achieved_when",), SCORE_ACHIEVED_WHEN
            )
        out["achieved_when"] = when
        if when in ("reliable_improvement", "either"):
            require("sd", f"needed when achieved_when is {when}")
            require("reliability", f"needed when achieved_when is {when}")
        out["sd"] = _s(num("sd", above=0))
        out["reliability"] = _s(num("reliability", minimum=0, maximum=1))
    else:
        out["measure"] = "attainment"
        out["attainment"] = check.choice(item["attainment"], path + ("attainment",), SUBJECTS)
        forbid(
            ("respondent", "at_risk_from", "at_risk_below", "sd", "reliability"),
            "with 'attainment'",
        )
        below = num("below_expected_by", above=0)
        out["below_expected_by"] = _s(below if below is not None else Decimal(1))
        require("achieved_when", "one of " + ", ".join(ATTAINMENT_ACHIEVED_WHEN))
        when = None
        if "achieved_when" in item:
            when = check.choice(
                item["achieved_when"], path + ("achieved_when",), ATTAINMENT_ACHIEVED_WHEN
            )
        out["achieved_when"] = when
        if when in ("gap_closed_by", "either"):
            require("min_gain", f"needed when achieved_when is {when}")
        out["min_gain"] = _s(num("min_gain", above=0))
    return out
