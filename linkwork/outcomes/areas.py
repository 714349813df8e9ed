"""The four outcome areas for one child: which measures count in each, their rules, and
what the child's data says about them.

Pure: the screening rules document, the instrument definitions and the child's rows come
in as plain data; `AreaSummary`s come out. Which score counts in which area is
configuration: each instrument scale with an `outcome_area` (`outcome_areas`); the fourth
area, progress at school, is reading and maths attainment and school attendance.
Thresholds are configuration too: a measure's
threshold is the latest screening rules' threshold for the same score, subject or
attendance, else the instrument definition's `at_risk` for the school phase; SD and
reliability come from the instrument definition. See `docs/outcomes.md`.
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from linkwork.support.models import OutcomeArea as SupportOutcomeArea

from .change import reliable_change_threshold_squared
from .progress import AreaOutcome, AreaRule, Observation, area_outcome, at_risk

# For scores given on the same date by several respondents, the child's own comes first.
RESPONDENT_ORDER = {"self": 0, "parent": 1, "teacher": 2}
DEFAULT_BELOW_EXPECTED_BY = Decimal(1)


@dataclass(frozen=True)
class Measure:
    kind: str  # "score", "attainment" or "attendance" (school attendance)
    subject: str  # "INSTRUMENT/scale", an attainment subject, or "school"
    label: str
    area: str  # the key of the outcome area it counts in


@dataclass(frozen=True)
class OutcomeArea:
    key: str
    name: str
    measures: tuple[Measure, ...]


# The four outcome areas, (key, name) in the order they are shown: the same choices a
# partner's service names its areas by.
AREA_NAMES = tuple(SupportOutcomeArea.choices)
SCHOOL_MEASURES = (
    Measure("attainment", "reading", "Reading", "school"),
    Measure("attainment", "maths", "Maths", "school"),
    Measure("attendance", "school", "School attendance", "school"),
)


def _score_label(code: str, scale_code: str, scale: Mapping) -> str:
    name = str(scale.get("name") or scale_code)
    return f"{code} {name[:1].lower()}{name[1:]}"


def outcome_areas(definitions: Mapping[str, Mapping]) -> tuple[OutcomeArea, ...]:
    """The four areas with their measures: in the first three, every scale of the current
    instrument definitions that names the area as its `outcome_area` (by instrument code,
    then in the definition's order); in the fourth, attainment and school attendance."""
    measures: dict[str, list[Measure]] = {key: [] for key, _ in AREA_NAMES}
    for code in sorted(definitions):
        for scale_code, scale in definitions[code].get("scales", {}).items():
            area = scale.get("outcome_area")
            if area in measures and area != "school":
                label = _score_label(code, scale_code, scale)
                measures[area].append(Measure("score", f"{code}/{scale_code}", label, area))
    measures["school"].extend(SCHOOL_MEASURES)
    return tuple(OutcomeArea(key, name, tuple(measures[key])) for key, name in AREA_NAMES)


def areas_of(rules: Iterable["MeasureRule"]) -> tuple[OutcomeArea, ...]:
    """The four areas with the measures of `rules`, in the rules' order."""
    measures: dict[str, list[Measure]] = {key: [] for key, _ in AREA_NAMES}
    for mr in rules:
        measures[mr.measure.area].append(mr.measure)
    return tuple(OutcomeArea(key, name, tuple(measures[key])) for key, name in AREA_NAMES)


@dataclass(frozen=True)
class MeasureRule:
    measure: Measure
    rule: AreaRule
    threshold: str  # the at-risk threshold in words, with where it comes from
    respondent: str | None = None  # scores: only this respondent's, when the rules say so


@dataclass(frozen=True)
class ScoreRow:
    date: dt.date
    instrument: str
    scale: str
    respondent: str
    value: Decimal


@dataclass(frozen=True)
class AttainmentRow:
    date: dt.date
    subject: str
    value: Decimal
    expected: Decimal


@dataclass(frozen=True)
class AttendanceRow:
    period_end: dt.date
    possible: int
    present: int


@dataclass(frozen=True)
class MeasureSummary:
    measure: Measure
    threshold: str
    outcome: AreaOutcome
    baseline: str
    mid_point: str
    end_point: str
    change: str
    reliable: str

    @property
    def verdict(self) -> str:
        return self.outcome.verdict

    @property
    def has_data(self) -> bool:
        return any((self.outcome.baseline, self.outcome.mid_point, self.outcome.end_point))

    @property
    def gap(self) -> str:
        """Attainment only: whether the gap to expected has closed, in words."""
        if self.outcome.gap_closed is None:
            return ""
        return "Closed" if self.outcome.gap_closed else "Not closed"

    @property
    def tone(self) -> str:
        """The badge colour repeating the verdict (the words always carry it)."""
        if self.outcome.crossed_threshold or self.outcome.gap_closed:
            return "green"
        if self.outcome.improved:
            return "amber" if self.outcome.at_risk_now else "green"
        if self.outcome.change is not None and self.outcome.change < 0:
            return "red"
        return "grey"


@dataclass(frozen=True)
class AreaSummary:
    area: OutcomeArea
    measures: tuple[MeasureSummary, ...]


def text(value: Decimal) -> str:
    """A Decimal as plain text: no exponent, no trailing zeros after the point."""
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


def _number(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _for_phase(threshold, phase: str) -> Decimal | None:
    """A threshold given as a number or per school phase, for this phase."""
    if isinstance(threshold, Mapping):
        return _number(threshold.get(phase))
    return _number(threshold)


def _screening_rule(screening: Mapping | None, key: str, subject: str | None) -> Mapping | None:
    for rule in ((screening or {}).get("areas") or {}).values():
        if key in rule and (subject is None or rule[key] == subject):
            return rule
    return None


def _score_rule(measure, screening, version, definitions, phase) -> MeasureRule:
    instrument, scale = measure.subject.split("/", 1)
    spec = ((definitions.get(instrument) or {}).get("scales") or {}).get(scale) or {}
    higher_is_better = spec.get("direction") == "higher_is_better"
    sd, reliability = _number(spec.get("sd")), _number(spec.get("reliability"))
    rule = _screening_rule(screening, "score", measure.subject)
    source, respondent, at_risk_from, at_risk_below = "", None, None, None
    if rule is not None:
        respondent = rule.get("respondent")
        if "at_risk_from" in rule:
            at_risk_from = _for_phase(rule["at_risk_from"], phase)
        else:
            at_risk_below = _for_phase(rule.get("at_risk_below"), phase)
        source = f"screening rules v{version}"
    if at_risk_from is None and at_risk_below is None and spec.get("at_risk"):
        threshold = _for_phase(spec["at_risk"], phase)
        if higher_is_better:
            at_risk_below = threshold
        else:
            at_risk_from = threshold
        source = f"{instrument} definition"
    if at_risk_from is not None:
        shown = f"at risk from {text(at_risk_from)} ({source})"
    elif at_risk_below is not None:
        shown = f"at risk below {text(at_risk_below)} ({source})"
    else:
        shown = "no threshold"
    return MeasureRule(
        measure,
        AreaRule(
            measure.subject,
            "score",
            at_risk_from=at_risk_from,
            at_risk_below=at_risk_below,
            sd=sd,
            reliability=reliability,
            higher_is_better=higher_is_better,
        ),
        shown,
        respondent,
    )


def _attainment_rule(measure, screening, version, phase) -> MeasureRule:
    rule = _screening_rule(screening, "attainment", measure.subject)
    below = _for_phase(rule["below_expected_by"], phase) if rule else None
    source = f"screening rules v{version}" if below is not None else "default"
    below = DEFAULT_BELOW_EXPECTED_BY if below is None else below
    return MeasureRule(
        measure,
        AreaRule(measure.subject, "attainment", below_expected_by=below),
        f"at risk {text(below)} or more below expected ({source})",
    )


def _attendance_rule(measure, screening, version, phase) -> MeasureRule:
    rule = _screening_rule(screening, "attendance_rate_below", None)
    below = _for_phase(rule["attendance_rate_below"], phase) if rule else None
    shown = "no threshold"
    if below is not None:
        shown = f"at risk below {_percent(below)} (screening rules v{version})"
    return MeasureRule(
        measure, AreaRule(measure.subject, "score", at_risk_below=below), shown, None
    )


def measure_rules(
    screening: Mapping | None,
    version: int | None,
    definitions: Mapping[str, Mapping],
    phase: str,
) -> tuple[MeasureRule, ...]:
    """Every measure of the outcome areas with its rule for a school of this phase."""
    rules = []
    for area in outcome_areas(definitions):
        for measure in area.measures:
            if measure.kind == "score":
                rules.append(_score_rule(measure, screening, version, definitions, phase))
            elif measure.kind == "attainment":
                rules.append(_attainment_rule(measure, screening, version, phase))
            else:
                rules.append(_attendance_rule(measure, screening, version, phase))
    return tuple(rules)


def score_observations(
    scores: Iterable[ScoreRow], subject: str, respondent: str | None = None
) -> list[Observation]:
    """One observation per date for a scale: self before parent before teacher."""
    instrument, scale = subject.split("/", 1)
    chosen: dict = {}
    for row in scores:
        if row.instrument != instrument or row.scale != scale:
            continue
        if respondent is not None and row.respondent != respondent:
            continue
        held = chosen.get(row.date)
        rank = RESPONDENT_ORDER.get(row.respondent, len(RESPONDENT_ORDER))
        if held is None or rank < RESPONDENT_ORDER.get(held.respondent, len(RESPONDENT_ORDER)):
            chosen[row.date] = row
    return [Observation(day, row.value) for day, row in chosen.items()]


def attainment_observations(results: Iterable[AttainmentRow], subject: str) -> list[Observation]:
    return [Observation(r.date, r.value, r.expected) for r in results if r.subject == subject]


def attendance_observations(periods: Iterable[AttendanceRow]) -> list[Observation]:
    """The attendance rate (present / possible) of each period, dated by its last day."""
    return [
        Observation(p.period_end, Decimal(p.present) / Decimal(p.possible))
        for p in periods
        if p.possible > 0
    ]


def _percent(rate: Decimal) -> str:
    return f"{text((rate * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP))}%"


def _value(measure: Measure, rule: AreaRule, observation: Observation | None) -> str:
    if observation is None:
        return "—"
    if measure.kind == "attendance":
        shown = _percent(observation.value)
    elif measure.kind == "attainment":
        gap = observation.measure
        sign = "+" if gap > 0 else ""
        expected = text(observation.expected)
        shown = f"{text(observation.value)} (expected {expected}, gap {sign}{text(gap)})"
    else:
        shown = text(observation.value)
    day = observation.date
    shown = f"{shown}, {day.day} {day:%b %Y}"
    verdict = {True: ", at risk", False: ", not at risk", None: ""}[at_risk(rule, observation)]
    return shown + verdict


def _change(measure: Measure, change: Decimal | None) -> str:
    if change is None:
        return "—"
    if change == 0:
        return "No change"
    size = abs(change)
    if measure.kind == "attendance":
        shown = f"{text((size * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP))} points"
    else:
        shown = text(size)
    return f"{shown} {'better' if change > 0 else 'worse'}"


def _reliable(rule: AreaRule, outcome: AreaOutcome) -> str:
    if outcome.reliable_change is None:
        return "—"
    limit = reliable_change_threshold_squared(rule.sd, rule.reliability).sqrt()
    limit = limit.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{'Yes' if outcome.reliable_change else 'No'} (needs more than {text(limit)})"


def summarise_measure(mr: MeasureRule, observations, enrolled_on: dt.date) -> MeasureSummary:
    """One measure's outcome and its cells in words."""
    outcome = area_outcome(mr.rule, observations, enrolled_on)
    return MeasureSummary(
        measure=mr.measure,
        threshold=mr.threshold,
        outcome=outcome,
        baseline=_value(mr.measure, mr.rule, outcome.baseline),
        mid_point=_value(mr.measure, mr.rule, outcome.mid_point),
        end_point=_value(mr.measure, mr.rule, outcome.end_point),
        change=_change(mr.measure, outcome.change),
        reliable=_reliable(mr.rule, outcome),
    )


def measure_observations(
    mr: MeasureRule,
    scores: Iterable[ScoreRow],
    attainment: Iterable[AttainmentRow],
    attendance: Iterable[AttendanceRow],
) -> list[Observation]:
    """The child's observations in one measure, from all their rows."""
    if mr.measure.kind == "score":
        return score_observations(scores, mr.measure.subject, mr.respondent)
    if mr.measure.kind == "attainment":
        return attainment_observations(attainment, mr.measure.subject)
    return attendance_observations(attendance)


def child_outcomes(
    rules: Iterable[MeasureRule],
    *,
    enrolled_on: dt.date,
    scores: Iterable[ScoreRow] = (),
    attainment: Iterable[AttainmentRow] = (),
    attendance: Iterable[AttendanceRow] = (),
) -> tuple[AreaSummary, ...]:
    """The four outcome areas for one child enrolled on `enrolled_on`, from their rows."""
    rules = list(rules)
    scores, attainment, attendance = list(scores), list(attainment), list(attendance)
    by_measure = {
        mr.measure: summarise_measure(
            mr, measure_observations(mr, scores, attainment, attendance), enrolled_on
        )
        for mr in rules
    }
    return tuple(
        AreaSummary(area, tuple(by_measure[m] for m in area.measures)) for area in areas_of(rules)
    )
