"""The screening engine: which pupils are at risk in which areas, and the shortlist.

Pure: frozen dataclasses in, frozen dataclasses out; no ORM, clock or settings (a rule
made ready keeps the verdicts it gave, which changes nothing but the time). The rules
are the checked `screening.yaml` document (see `documents.parse_screening_rules`) and
`docs/screening.md` works an example through every rule kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from operator import attrgetter

NO_DATA = "no data"
NO_THRESHOLD = "no threshold for this phase"
# For scores given on the same date by several respondents, the child's own comes first.
RESPONDENT_ORDER = {"self": 0, "parent": 1, "teacher": 2}
RATE_PLACES = Decimal("0.0001")
# The statutory status of a pupil who has none; any other (CIN, CP, LAC) is a statutory case.
NOT_STATUTORY = frozenset({"none", ""})


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

    def as_detailed_json(self) -> dict:
        """With the date and source of the value seen, as a stored profile keeps it."""
        return {
            **self.as_json(),
            "seen_on": self.seen_on.isoformat() if self.seen_on else None,
            "source": self.source,
        }


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
        return {verdict.area: verdict.as_detailed_json() for verdict in self.areas}


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
    """The checked rules document. Statutory cases are excluded whatever
    `exclude_statutory` lists: the document must list them all, but a version stored
    before that was checked may not."""

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


# A judge keeps the verdicts it gave, by the value judged: a borough repeats the same
# terms, scores and results, shared as one object each by the reader, and a value (being
# frozen) always gets the same verdict. At most this many each, held with their values
# so that an id stays theirs.
KEPT = 1024


def _remembered(verdicts: dict, value, judge: Callable) -> AreaVerdict:
    known = verdicts.get(id(value))
    if known is None or known[0] is not value:
        if len(verdicts) >= KEPT:
            verdicts.clear()
        known = verdicts[id(value)] = (value, judge(value))
    return known[1]


def _flag_judge(rule: AreaRule, phase: str, on: date) -> Callable[[PupilData], AreaVerdict]:
    """Y is at risk; an unknown flag is no data."""
    given = {
        None: AreaVerdict(rule.name, NO_DATA, "Y", False),
        True: AreaVerdict(rule.name, "Y", "Y", True),
        False: AreaVerdict(rule.name, "N", "Y", False),
    }
    flag = attrgetter(rule.subject)

    def judge(pupil: PupilData) -> AreaVerdict:
        value = flag(pupil)
        return given[None if value is None else bool(value)]

    return judge


def _attendance_judge(rule: AreaRule, phase: str, on: date) -> Callable[[PupilData], AreaVerdict]:
    """The latest period ending on or before `on` with sessions: at risk when
    present / possible < the threshold, compared exactly."""
    threshold = _for_phase(rule.threshold, phase)
    shown = "" if threshold is None else f"< {threshold:f}"
    no_data = AreaVerdict(rule.name, NO_DATA, shown, False)
    verdicts: dict[int, tuple] = {}

    def verdict(period: Attendance) -> AreaVerdict:
        rate = Decimal(period.present) / Decimal(period.possible)
        value = text(rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP))
        source = f"{period.present}/{period.possible} sessions"
        if threshold is None:
            return AreaVerdict(rule.name, value, NO_THRESHOLD, False, period.period_end, source)
        at_risk = Decimal(period.present) < threshold * period.possible
        return AreaVerdict(rule.name, value, shown, at_risk, period.period_end, source)

    def judge(pupil: PupilData) -> AreaVerdict:
        latest = None
        for period in pupil.attendance:
            if period.period_end > on or period.possible <= 0:
                continue
            # by end, then start; the first of equals
            if latest is None or (period.period_end, period.period_start) > (
                latest.period_end,
                latest.period_start,
            ):
                latest = period
        if latest is None:
            return no_data
        return _remembered(verdicts, latest, verdict)

    return judge


def _attainment_judge(rule: AreaRule, phase: str, on: date) -> Callable[[PupilData], AreaVerdict]:
    """The latest result in the subject on or before `on`: at risk when
    value <= expected - the threshold."""
    threshold = _for_phase(rule.threshold, phase)
    no_data = AreaVerdict(
        rule.name, NO_DATA, "" if threshold is None else f"<= expected - {threshold:f}", False
    )
    verdicts: dict[int, tuple] = {}

    def verdict(result: AttainmentResult) -> AreaVerdict:
        source = f"expected {text(result.expected)}"
        if threshold is None:
            return AreaVerdict(
                rule.name, text(result.value), NO_THRESHOLD, False, result.assessed_on, source
            )
        limit = result.expected - threshold
        return AreaVerdict(
            rule.name,
            text(result.value),
            f"<= {text(limit)}",
            result.value <= limit,
            result.assessed_on,
            source,
        )

    def judge(pupil: PupilData) -> AreaVerdict:
        latest = None
        for result in pupil.attainment:
            if result.subject != rule.subject or result.assessed_on > on:
                continue
            if latest is None or result.assessed_on > latest.assessed_on:
                latest = result
        if latest is None:
            return no_data
        return _remembered(verdicts, latest, verdict)

    return judge


def _score_judge(rule: AreaRule, phase: str, on: date) -> Callable[[PupilData], AreaVerdict]:
    """The latest score on the scale on or before `on` (on one date, self before parent
    before teacher; only the named respondent's if the rule names one): at risk from
    the threshold up ("from") or below it ("below")."""
    instrument, scale = rule.subject.split("/", 1)
    threshold = _for_phase(rule.threshold, phase)
    operator = ">=" if rule.direction == "from" else "<"
    shown = "" if threshold is None else f"{operator} {threshold:f}"
    no_data = AreaVerdict(rule.name, NO_DATA, shown, False)
    verdicts: dict[int, tuple] = {}

    def verdict(found: ScaleScore) -> AreaVerdict:
        value = text(found.score)
        if threshold is None:
            return AreaVerdict(
                rule.name, value, NO_THRESHOLD, False, found.administered_on, found.respondent
            )
        if rule.direction == "from":
            at_risk = found.score >= threshold
        else:
            at_risk = found.score < threshold
        return AreaVerdict(
            rule.name, value, shown, at_risk, found.administered_on, found.respondent
        )

    def judge(pupil: PupilData) -> AreaVerdict:
        latest, latest_order = None, 0
        for found in pupil.scores:
            if (
                found.scale != scale
                or found.instrument != instrument
                or found.administered_on > on
                or (rule.respondent is not None and found.respondent != rule.respondent)
            ):
                continue
            order = RESPONDENT_ORDER[found.respondent]
            # by date, then respondent; the first of equals
            if latest is None or (
                found.administered_on > latest.administered_on
                or (found.administered_on == latest.administered_on and order < latest_order)
            ):
                latest, latest_order = found, order
        if latest is None:
            return no_data
        return _remembered(verdicts, latest, verdict)

    return judge


JUDGES = {
    "pupil_flag": _flag_judge,
    "attendance": _attendance_judge,
    "attainment": _attainment_judge,
    "score": _score_judge,
}


@lru_cache(maxsize=32)
def _judge(rule: AreaRule, phase: str, on: date) -> Callable[[PupilData], AreaVerdict]:
    """The rule made ready for one phase and date: its threshold worked out once."""
    return JUDGES[rule.kind](rule, phase, on)


def judge_area(rule: AreaRule, pupil: PupilData, on: date) -> AreaVerdict:
    """One area's verdict on the latest data on or before `on`."""
    return _judge(rule, pupil.phase, on)(pupil)


@lru_cache(maxsize=16)
def _profiler(rules: Rules, phase: str, on: date) -> Callable[[PupilData], RiskProfile]:
    """`profile_pupil` made ready for one phase and date."""
    judges = tuple(_judge(rule, phase, on) for rule in rules.areas)
    priority = tuple(rule.name in rules.priority_areas for rule in rules.areas)
    least = rules.min_risk_areas

    def profile(pupil: PupilData) -> RiskProfile:
        verdicts = tuple([judge(pupil) for judge in judges])
        risk = priority_risk = 0
        for verdict, is_priority in zip(verdicts, priority, strict=True):
            if verdict.at_risk:
                risk += 1
                priority_risk += is_priority
        excluded = ""
        if pupil.statutory_status not in NOT_STATUTORY:
            excluded = f"statutory status {pupil.statutory_status}"
        return RiskProfile(
            pupil.upn, verdicts, risk, priority_risk, excluded, not excluded and risk >= least
        )

    return profile


def profile_pupil(rules: Rules, pupil: PupilData, on: date) -> RiskProfile:
    """Every area's verdict for one pupil, the counts, and whether they are excluded."""
    return _profiler(rules, pupil.phase, on)(pupil)


def shortlist_key(profile: RiskProfile):
    """Most risk areas first, then most priority areas, then UPN."""
    return (-profile.risk_areas, -profile.priority_areas, profile.upn)


def screen(rules: Rules | Mapping, pupils: Iterable[PupilData], on: date) -> ScreeningResult:
    """Screen pupils on a date: a risk profile each, the shortlist and the exclusions.

    Shortlisted: at risk in at least `min_risk_areas` areas and no statutory status.
    Statutory cases (CIN, CP, LAC, whatever the rules list) are listed apart with the
    reason, never shortlisted.
    """
    if not isinstance(rules, Rules):
        rules = Rules.from_document(rules)
    profilers = {}
    made = []
    for pupil in pupils:
        profile = profilers.get(pupil.phase)
        if profile is None:
            profile = profilers[pupil.phase] = _profiler(rules, pupil.phase, on)
        made.append(profile(pupil))
    made.sort(key=attrgetter("upn"))
    profiles = tuple(made)
    return ScreeningResult(
        on=on,
        profiles=profiles,
        shortlist=tuple(sorted((p for p in profiles if p.shortlisted), key=shortlist_key)),
        excluded=tuple(p for p in profiles if p.excluded_reason),
        data_date=max(
            (v.seen_on for p in profiles for v in p.areas if v.seen_on is not None), default=None
        ),
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
