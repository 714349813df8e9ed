"""The screening engine: which pupils are at risk in which areas, and the shortlist.

Pure: frozen dataclasses in, frozen dataclasses out; no ORM, clock or settings. The rules
are the checked `screening.yaml` document (see `documents.parse_screening_rules`) and
`docs/screening.md` works an example through every rule kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

NO_DATA = "no data"
NO_THRESHOLD = "no threshold for this phase"
# For scores given on the same date by several respondents, the child's own comes first.
RESPONDENT_ORDER = {"self": 0, "parent": 1, "teacher": 2}
RATE_PLACES = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class Attendance:
    period_start: date
    period_end: date
    possible: int
    present: int


@dataclass(frozen=True, slots=True)
class AttainmentResult:
    subject: str
    assessed_on: date
    value: Decimal
    expected: Decimal


@dataclass(frozen=True, slots=True)
class ScaleScore:
    instrument: str
    scale: str
    administered_on: date
    respondent: str
    score: Decimal


@dataclass(frozen=True, slots=True)
class PupilData:
    """What the rules may look at for one pupil on roll."""

    upn: str
    phase: str = "primary"
    statutory_status: str = "none"
    fsm: bool | None = None
    eal: bool | None = None
    attendance: tuple[Attendance, ...] = ()
    attainment: tuple[AttainmentResult, ...] = ()
    scores: tuple[ScaleScore, ...] = ()


@dataclass(frozen=True, slots=True)
class AreaVerdict:
    """One area for one pupil: the value seen, the threshold it was held to, the verdict."""

    area: str
    value: str
    threshold: str
    at_risk: bool
    seen_on: date | None = None
    source: str = ""

    def as_json(self) -> dict:
        return {"value": self.value, "threshold": self.threshold, "at_risk": self.at_risk}


@dataclass(frozen=True, slots=True)
class RiskProfile:
    upn: str
    areas: tuple[AreaVerdict, ...]
    risk_areas: int
    priority_areas: int
    excluded_reason: str = ""
    shortlisted: bool = False

    def explanation(self) -> dict:
        return {verdict.area: verdict.as_json() for verdict in self.areas}

    def detailed_explanation(self) -> dict:
        """The explanation with, per area, the date and source of the value seen."""
        return {
            verdict.area: {
                **verdict.as_json(),
                "seen_on": verdict.seen_on.isoformat() if verdict.seen_on else None,
                "source": verdict.source,
            }
            for verdict in self.areas
        }


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    on: date
    profiles: tuple[RiskProfile, ...]  # every pupil, by UPN
    shortlist: tuple[RiskProfile, ...]  # in shortlist order
    excluded: tuple[RiskProfile, ...]  # statutory cases, by UPN
    data_date: date | None = None  # the latest date of any value seen


@dataclass(frozen=True, slots=True)
class AreaRule:
    name: str
    kind: str  # pupil_flag, attendance, score, attainment
    subject: str = ""  # flag name, attainment subject or "INSTRUMENT/scale"
    threshold: tuple | str | None = None  # text, or ((phase, text), ...)
    direction: str = ""  # for scores: "from" (>= is at risk) or "below" (< is at risk)
    respondent: str | None = None


@dataclass(frozen=True, slots=True)
class Rules:
    min_risk_areas: int
    priority_areas: frozenset[str]
    exclude_statutory: frozenset[str]
    areas: tuple[AreaRule, ...] = field(default_factory=tuple)

    @classmethod
    def from_document(cls, document: Mapping) -> Rules:
        def frozen(value):
            return tuple(sorted(value.items())) if isinstance(value, Mapping) else value

        areas = []
        for name, rule in document["areas"].items():
            if "pupil_flag" in rule:
                areas.append(AreaRule(name, "pupil_flag", rule["pupil_flag"]))
            elif "attendance_rate_below" in rule:
                areas.append(
                    AreaRule(name, "attendance", "", frozen(rule["attendance_rate_below"]))
                )
            elif "attainment" in rule:
                areas.append(
                    AreaRule(
                        name, "attainment", rule["attainment"], frozen(rule["below_expected_by"])
                    )
                )
            else:
                direction = "from" if "at_risk_from" in rule else "below"
                areas.append(
                    AreaRule(
                        name,
                        "score",
                        rule["score"],
                        frozen(rule[f"at_risk_{direction}"]),
                        direction,
                        rule.get("respondent"),
                    )
                )
        return cls(
            min_risk_areas=document["min_risk_areas"],
            priority_areas=frozenset(document.get("priority_areas", ())),
            exclude_statutory=frozenset(document.get("exclude_statutory", ())),
            areas=tuple(areas),
        )

    @property
    def score_scales(self) -> set[tuple[str, str]]:
        """(instrument, scale) pairs the rules look at."""
        return {tuple(a.subject.split("/", 1)) for a in self.areas if a.kind == "score"}

    @property
    def subjects(self) -> set[str]:
        return {a.subject for a in self.areas if a.kind == "attainment"}


def text(value: Decimal) -> str:
    """A Decimal as plain text: no exponent, no trailing zeros after the point."""
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


@lru_cache(maxsize=256)
def _threshold(threshold: str | tuple, phase: str) -> Decimal | None:
    """The rule's threshold for a school phase (thresholds may be given per phase)."""
    if isinstance(threshold, tuple):
        value = dict(threshold).get(phase)
        return None if value is None else Decimal(value)
    return Decimal(threshold)


def _for_phase(threshold, phase: str) -> Decimal | None:
    if isinstance(threshold, Mapping):
        threshold = tuple(sorted(threshold.items()))
    return _threshold(threshold, phase)


def judge_area(rule: AreaRule, pupil: PupilData, on: date) -> AreaVerdict:
    """One area's verdict on the latest data on or before `on`."""
    if rule.kind == "pupil_flag":
        flag = getattr(pupil, rule.subject)
        if flag is None:
            return AreaVerdict(rule.name, NO_DATA, "Y", False)
        return AreaVerdict(rule.name, "Y" if flag else "N", "Y", bool(flag))

    threshold = _for_phase(rule.threshold, pupil.phase)
    if rule.kind == "attendance":
        shown = "" if threshold is None else f"< {threshold:f}"
        periods = [p for p in pupil.attendance if p.period_end <= on and p.possible > 0]
        if not periods:
            return AreaVerdict(rule.name, NO_DATA, shown, False)
        latest = max(periods, key=lambda p: (p.period_end, p.period_start))
        rate = Decimal(latest.present) / Decimal(latest.possible)
        value = text(rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP))
        source = f"{latest.present}/{latest.possible} sessions"
        if threshold is None:
            return AreaVerdict(rule.name, value, NO_THRESHOLD, False, latest.period_end, source)
        # present / possible < v, compared exactly
        at_risk = Decimal(latest.present) < threshold * latest.possible
        return AreaVerdict(rule.name, value, shown, at_risk, latest.period_end, source)

    if rule.kind == "attainment":
        results = [r for r in pupil.attainment if r.subject == rule.subject and r.assessed_on <= on]
        shown = "" if threshold is None else f"<= expected - {threshold:f}"
        if not results:
            return AreaVerdict(rule.name, NO_DATA, shown, False)
        latest = max(results, key=lambda r: r.assessed_on)
        source = f"expected {text(latest.expected)}"
        if threshold is None:
            return AreaVerdict(
                rule.name, text(latest.value), NO_THRESHOLD, False, latest.assessed_on, source
            )
        limit = latest.expected - threshold
        return AreaVerdict(
            rule.name,
            text(latest.value),
            f"<= {text(limit)}",
            latest.value <= limit,
            latest.assessed_on,
            source,
        )

    instrument, scale = rule.subject.split("/", 1)
    operator = ">=" if rule.direction == "from" else "<"
    shown = "" if threshold is None else f"{operator} {threshold:f}"
    scores = [
        s
        for s in pupil.scores
        if s.instrument == instrument
        and s.scale == scale
        and s.administered_on <= on
        and (rule.respondent is None or s.respondent == rule.respondent)
    ]
    if not scores:
        return AreaVerdict(rule.name, NO_DATA, shown, False)
    latest = min(
        scores, key=lambda s: (-s.administered_on.toordinal(), RESPONDENT_ORDER[s.respondent])
    )
    if threshold is None:
        return AreaVerdict(
            rule.name,
            text(latest.score),
            NO_THRESHOLD,
            False,
            latest.administered_on,
            latest.respondent,
        )
    at_risk = latest.score >= threshold if rule.direction == "from" else latest.score < threshold
    return AreaVerdict(
        rule.name, text(latest.score), shown, at_risk, latest.administered_on, latest.respondent
    )


def profile_pupil(rules: Rules, pupil: PupilData, on: date) -> RiskProfile:
    """Every area's verdict for one pupil, the counts, and whether they are excluded."""
    verdicts = tuple(judge_area(rule, pupil, on) for rule in rules.areas)
    risk = sum(1 for v in verdicts if v.at_risk)
    priority = sum(1 for v in verdicts if v.at_risk and v.area in rules.priority_areas)
    excluded = ""
    if pupil.statutory_status in rules.exclude_statutory:
        excluded = f"statutory status {pupil.statutory_status}"
    return RiskProfile(
        upn=pupil.upn,
        areas=verdicts,
        risk_areas=risk,
        priority_areas=priority,
        excluded_reason=excluded,
        shortlisted=not excluded and risk >= rules.min_risk_areas,
    )


def shortlist_key(profile: RiskProfile):
    """Most risk areas first, then most priority areas, then UPN."""
    return (-profile.risk_areas, -profile.priority_areas, profile.upn)


def screen(rules: Rules | Mapping, pupils: Iterable[PupilData], on: date) -> ScreeningResult:
    """Screen pupils on a date: a risk profile each, the shortlist and the exclusions.

    Shortlisted: at risk in at least `min_risk_areas` areas and no excluded statutory
    status. Statutory cases are listed apart with the reason, never shortlisted.
    """
    if not isinstance(rules, Rules):
        rules = Rules.from_document(rules)
    profiles = tuple(
        sorted((profile_pupil(rules, pupil, on) for pupil in pupils), key=lambda p: p.upn)
    )
    dates = [v.seen_on for p in profiles for v in p.areas if v.seen_on is not None]
    return ScreeningResult(
        on=on,
        profiles=profiles,
        shortlist=tuple(sorted((p for p in profiles if p.shortlisted), key=shortlist_key)),
        excluded=tuple(p for p in profiles if p.excluded_reason),
        data_date=max(dates) if dates else None,
    )


def result_json(result: ScreeningResult, *, school: str) -> dict:
    """The round as the `linkwork screen --json` document."""
    return {
        "school": school,
        "on": result.on.isoformat(),
        "shortlist": [
            {
                "upn": p.upn,
                "risk_areas": p.risk_areas,
                "priority_areas": p.priority_areas,
                "explanation": p.explanation(),
            }
            for p in result.shortlist
        ],
        "excluded": [{"upn": p.upn, "reason": p.excluded_reason} for p in result.excluded],
    }
