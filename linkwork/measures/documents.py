"""Reading an instrument definition (`instruments/<code>.yaml`) into a checked document.

The document returned is plain JSON-friendly data (Decimals become strings) so it can be
stored on `Instrument.definition` and read back by `scoring.py` unchanged.
"""

from decimal import Decimal, InvalidOperation

from linkwork.core.documents import DocumentError, key_line, read_yaml
from linkwork.support.models import OutcomeArea

RESPONDENTS = ("self", "parent", "teacher")
PHASES = ("nursery", "primary", "secondary", "all-through", "special")
DIRECTIONS = ("higher_is_worse", "higher_is_better")
ROUNDINGS = ("whole", "none")

TOP_KEYS = {
    "code": True,
    "name": True,
    "respondents": True,
    "item_values": True,
    "items": True,
    "reverse_scored": False,
    "missing_items": True,
    "scales": True,
    "licence": False,
}
SCALE_KEYS = {
    "name",
    "items",
    "scales",
    "range",
    "direction",
    "sd",
    "reliability",
    "at_risk",
    "bands",
    "outcome_area",
}
# The outcome areas a scale can count in (the fourth, progress at school, is attainment
# and school attendance): see linkwork/outcomes/areas.py.
SCALE_OUTCOME_AREAS = tuple(area for area in OutcomeArea.values if area != OutcomeArea.SCHOOL)


class _Collector:
    def __init__(self, source: str, filename: str):
        self.source = source
        self.filename = filename
        self.errors: list[str] = []

    def add(self, key: str, message: str, *, after_line: int = 0, value=None) -> None:
        line = key_line(self.source, key.split(".")[-1], after_line=after_line)
        shown = "" if value is None else f" ({value})"
        self.errors.append(f"{self.filename}:{line}: {key}: {message}{shown}")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return None
    return None


def _plain(value: Decimal) -> str:
    """A Decimal as text without exponent or needless trailing zeros."""
    text = format(value.normalize(), "f")
    return text


def parse_instrument(source: str, *, filename: str) -> dict:
    """Check an instrument definition; every problem raises as `file:line: key: message`.

    Items are codes only (licensed instruments never carry item text). Scales are sums of
    items (reverse-scored items flipped within the item value range) or sums of other
    scales; the missing-item rule says how many of a scale's items may be missing before
    the scale score is missing rather than prorated.
    """
    data = read_yaml(source, filename=filename)
    if isinstance(source, bytes):
        source = source.decode("utf-8-sig")
    errors = _Collector(source, filename)
    if not isinstance(data, dict):
        raise DocumentError([f"{filename}:1: an instrument definition is a mapping of keys"])

    for key in data:
        if key not in TOP_KEYS:
            errors.add(str(key), "unknown key")
    for key, required in TOP_KEYS.items():
        if required and key not in data:
            errors.errors.append(f"{filename}:1: {key}: required")
    if errors.errors:
        raise DocumentError(errors.errors)

    code = data["code"]
    if not isinstance(code, str) or not code or not code.replace("_", "").isalnum():
        errors.add("code", "letters, digits and _ only", value=code)
    name = data["name"]
    if not isinstance(name, str) or not name.strip():
        errors.add("name", "required text")

    respondents = data["respondents"]
    if not isinstance(respondents, list) or not respondents:
        errors.add("respondents", f"a list of {', '.join(RESPONDENTS)}")
        respondents = []
    for respondent in respondents:
        if respondent not in RESPONDENTS:
            errors.add("respondents", f"not one of {', '.join(RESPONDENTS)}", value=respondent)

    item_values = data["item_values"]
    low = high = None
    if (
        not isinstance(item_values, dict)
        or set(item_values) != {"min", "max"}
        or not all(_is_int(v) for v in item_values.values())
        or item_values["min"] >= item_values["max"]
    ):
        errors.add("item_values", "{min: integer, max: integer} with min < max")
    else:
        low, high = item_values["min"], item_values["max"]

    items = data["items"]
    if not isinstance(items, list) or not items:
        errors.add("items", "a list of item codes")
        items = []
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, str) or not item.replace("_", "").isalnum():
            errors.add(
                "items", "an item is a code (letters, digits, _), never item text", value=item
            )
        elif item in seen:
            errors.add("items", "item listed twice", value=item)
        seen.add(item)

    reverse = data.get("reverse_scored") or []
    if not isinstance(reverse, list):
        errors.add("reverse_scored", "a list of item codes")
        reverse = []
    for item in reverse:
        if item not in seen:
            errors.add("reverse_scored", "not an item of this instrument", value=item)

    missing = data["missing_items"]
    max_missing = 0
    rounding = "none"
    if not isinstance(missing, dict) or not set(missing) <= {"max_missing_per_scale", "rounding"}:
        errors.add("missing_items", "{max_missing_per_scale: n, rounding: whole|none}")
    else:
        max_missing = missing.get("max_missing_per_scale", 0)
        if not _is_int(max_missing) or max_missing < 0:
            errors.add("max_missing_per_scale", "a whole number ≥ 0", value=max_missing)
            max_missing = 0
        rounding = missing.get("rounding", "none")
        if rounding not in ROUNDINGS:
            errors.add("rounding", f"one of {', '.join(ROUNDINGS)}", value=rounding)

    scales_in = data["scales"]
    scales: dict[str, dict] = {}
    if not isinstance(scales_in, dict) or not scales_in:
        errors.add("scales", "a mapping of scale code to its definition")
        scales_in = {}
    for scale_code, spec in scales_in.items():
        at = key_line(source, str(scale_code))
        scale = _parse_scale(
            errors,
            str(scale_code),
            spec,
            at=at,
            items=seen,
            scale_codes=set(scales_in),
            respondents=respondents,
            item_range=(low, high),
        )
        if scale is not None:
            scales[str(scale_code)] = scale

    if not errors.errors:
        _resolve_ranges(errors, scales, (low, high))
    if errors.errors:
        raise DocumentError(errors.errors)

    document = {
        "code": code,
        "name": name.strip(),
        "respondents": list(respondents),
        "item_values": {"min": low, "max": high},
        "items": list(items),
        "reverse_scored": list(reverse),
        "missing_items": {"max_missing_per_scale": max_missing, "rounding": rounding},
        "scales": scales,
    }
    if "licence" in data:
        document["licence"] = str(data["licence"])
    return document


def _parse_scale(errors, code, spec, *, at, items, scale_codes, respondents, item_range):
    where = f"scales.{code}"
    if not isinstance(spec, dict):
        errors.add(where, "a mapping", after_line=at)
        return None
    for key in spec:
        if key not in SCALE_KEYS:
            errors.add(f"{where}.{key}", "unknown key", after_line=at)
    has_items, has_scales = "items" in spec, "scales" in spec
    if has_items == has_scales:
        errors.add(
            where, "give either items (a sum of items) or scales (a sum of scales)", after_line=at
        )
        return None
    scale: dict = {"name": str(spec.get("name") or code)}
    if has_items:
        members = spec["items"]
        if not isinstance(members, list) or not members:
            errors.add(f"{where}.items", "a list of item codes", after_line=at)
            return None
        for item in members:
            if item not in items:
                errors.add(
                    f"{where}.items", "not an item of this instrument", after_line=at, value=item
                )
        scale["items"] = list(members)
    else:
        members = spec["scales"]
        if not isinstance(members, list) or not members:
            errors.add(f"{where}.scales", "a list of scale codes", after_line=at)
            return None
        for member in members:
            if member not in scale_codes or member == code:
                errors.add(
                    f"{where}.scales",
                    "not another scale of this instrument",
                    after_line=at,
                    value=member,
                )
        scale["scales"] = list(members)

    if "range" in spec:
        rng = spec["range"]
        if (
            not isinstance(rng, dict)
            or set(rng) != {"min", "max"}
            or _number(rng["min"]) is None
            or _number(rng["max"]) is None
            or _number(rng["min"]) >= _number(rng["max"])
        ):
            errors.add(f"{where}.range", "{min: n, max: n} with min < max", after_line=at)
        else:
            scale["range"] = {
                "min": _plain(_number(rng["min"])),
                "max": _plain(_number(rng["max"])),
            }

    direction = spec.get("direction", "higher_is_worse")
    if direction not in DIRECTIONS:
        errors.add(
            f"{where}.direction", f"one of {', '.join(DIRECTIONS)}", after_line=at, value=direction
        )
    scale["direction"] = direction

    for key, low, high in (("sd", Decimal(0), None), ("reliability", Decimal(0), Decimal(1))):
        if key not in spec:
            errors.add(f"{where}.{key}", "required (for reliable change)", after_line=at)
            continue
        value = _number(spec[key])
        if value is None or value <= low or (high is not None and value > high):
            bounds = f"greater than {low}" + (f" and at most {high}" if high else "")
            errors.add(f"{where}.{key}", f"a number {bounds}", after_line=at, value=spec[key])
        else:
            scale[key] = _plain(value)

    at_risk = spec.get("at_risk")
    if at_risk is not None:
        if not isinstance(at_risk, dict) or not at_risk:
            errors.add(f"{where}.at_risk", "a mapping of phase to threshold", after_line=at)
        else:
            scale["at_risk"] = {}
            for phase, value in at_risk.items():
                number = _number(value)
                if phase not in PHASES:
                    errors.add(
                        f"{where}.at_risk",
                        f"not a phase ({', '.join(PHASES)})",
                        after_line=at,
                        value=phase,
                    )
                elif number is None:
                    errors.add(f"{where}.at_risk.{phase}", "a number", after_line=at, value=value)
                else:
                    scale["at_risk"][phase] = _plain(number)

    bands = spec.get("bands")
    if bands is not None:
        scale["bands"] = _parse_bands(errors, where, bands, at=at, respondents=respondents)

    area = spec.get("outcome_area")
    if area is not None:
        if area in SCALE_OUTCOME_AREAS:
            scale["outcome_area"] = area
        else:
            errors.add(
                f"{where}.outcome_area",
                f"one of {', '.join(SCALE_OUTCOME_AREAS)}",
                after_line=at,
                value=area,
            )
    return scale


def _parse_bands(errors, where, bands, *, at, respondents):
    """Bands per respondent: a list of [lowest score, label], lowest first."""
    parsed: dict[str, list] = {}
    if not isinstance(bands, dict):
        errors.add(
            f"{where}.bands", "a mapping of respondent to [[from, label], ...]", after_line=at
        )
        return parsed
    for respondent, rows in bands.items():
        if respondent not in respondents:
            errors.add(
                f"{where}.bands",
                "not a respondent of this instrument",
                after_line=at,
                value=respondent,
            )
            continue
        ok = (
            isinstance(rows, list)
            and rows
            and all(
                isinstance(r, list)
                and len(r) == 2
                and _number(r[0]) is not None
                and isinstance(r[1], str)
                for r in rows
            )
        )
        if not ok:
            errors.add(f"{where}.bands.{respondent}", "a list of [from, label]", after_line=at)
            continue
        starts = [_number(r[0]) for r in rows]
        if starts != sorted(starts) or len(set(starts)) != len(starts):
            errors.add(f"{where}.bands.{respondent}", "band starts must rise", after_line=at)
            continue
        parsed[respondent] = [[_plain(_number(r[0])), r[1]] for r in rows]
    return parsed


def _resolve_ranges(errors, scales, item_range):
    """Fill in each scale's range from its members and check a given one matches."""
    low, high = item_range

    def computed(code, trail=()):
        if code in trail:
            errors.add(f"scales.{code}", "a scale cannot contain itself")
            return None
        scale = scales[code]
        if "items" in scale:
            n = len(scale["items"])
            return Decimal(low * n), Decimal(high * n)
        total_low = total_high = Decimal(0)
        for member in scale["scales"]:
            bounds = computed(member, (*trail, code))
            if bounds is None:
                return None
            total_low += bounds[0]
            total_high += bounds[1]
        return total_low, total_high

    for code, scale in scales.items():
        bounds = computed(code)
        if bounds is None:
            continue
        if "range" in scale:
            given = (Decimal(scale["range"]["min"]), Decimal(scale["range"]["max"]))
            if given != bounds:
                errors.add(
                    f"scales.{code}.range",
                    f"does not match its items ({_plain(bounds[0])}–{_plain(bounds[1])})",
                )
        scale["range"] = {"min": _plain(bounds[0]), "max": _plain(bounds[1])}
