"""Which achievements the data supports under a contract (spec/contracts.md).

Pure: frozen dataclasses in, a list of `Achievement` out; no ORM, no clock.
"""

import datetime as dt
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property

from linkwork.outcomes.change import is_reliable_improvement

from .terms import ContractTerms, Trigger

# Scores on the same date from several respondents: self before parent before teacher.
RESPONDENT_RANK = {"self": 0, "parent": 1, "teacher": 2}
BASELINE_GRACE_DAYS = 30


@dataclass(frozen=True)
class EnrolmentFact:
    cohort: str
    enrolled_on: dt.date
    ended_on: dt.date | None = None
    id: int | None = None


@dataclass(frozen=True)
class ConsentFact:
    """An evidence consent."""

    given_on: dt.date
    withdrawn_on: dt.date | None = None
    id: int | None = None

    def holds_on(self, on: dt.date) -> bool:
        return self.given_on <= on and (self.withdrawn_on is None or self.withdrawn_on > on)

    @cached_property
    def citation(self) -> str:
        """As cited in the evidence of each achievement it allows (written once)."""
        text = f"consent #{self.id} evidence given {self.given_on}"
        if self.withdrawn_on:
            text += f", withdrawn {self.withdrawn_on}"
        return text


@dataclass(frozen=True)
class RegisterFact:
    date: dt.date
    attended: bool
    engaged: bool | None = None
    service: str = ""
    id: int | None = None


@dataclass(frozen=True)
class ScoreFact:
    date: dt.date
    instrument: str
    scale: str
    respondent: str
    value: Decimal
    id: int | None = None


@dataclass(frozen=True)
class AttainmentFact:
    date: dt.date
    subject: str
    value: Decimal
    expected: Decimal
    id: int | None = None


@dataclass(frozen=True)
class PeriodTally:
    """A child's register rows in one claim period, inside their window, counted.

    `rows` lists them for the evidence: `#id service date` then attended and engaged
    (Y/N, `-` when absent), in date, service, id order, separated by `; `.
    """

    period: str
    sessions: int
    attended: int
    engaged: int
    rows: str = ""


@dataclass(frozen=True)
class ChildFacts:
    upn: str
    enrolments: tuple[EnrolmentFact, ...] = ()
    consents: tuple[ConsentFact, ...] = ()  # evidence consents only
    registers: tuple[RegisterFact, ...] = ()
    # Counted in bulk by the database instead of `registers` (same rule, see tally_registers)
    tallies: tuple[PeriodTally, ...] | None = None
    pupil_id: int | None = None
    scores: tuple[ScoreFact, ...] = ()
    attainment: tuple[AttainmentFact, ...] = ()


@dataclass(frozen=True)
class Achievement:
    upn: str
    trigger: str
    instance: str
    achieved_on: dt.date
    evidence: tuple[str, ...] = field(default=(), compare=True)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.upn, self.trigger, self.instance)


@dataclass(frozen=True)
class Window:
    enrolment: EnrolmentFact
    starts_on: dt.date
    ends_on: dt.date

    def __contains__(self, day: dt.date) -> bool:
        return self.starts_on <= day <= self.ends_on

    @cached_property
    def citation(self) -> str:
        """The enrolment, as cited in the evidence of each achievement (written once)."""
        e = self.enrolment
        text = f"enrolment #{e.id} cohort {e.cohort} from {e.enrolled_on}"
        if e.ended_on:
            text += f" to {e.ended_on}"
        return text


def child_window(contract: ContractTerms, child: ChildFacts) -> Window | None:
    """The child's window: from the earliest enrolment that belongs to the contract
    (listed cohort, enrolled inside the contract) to the earlier of its end and the
    contract's end."""
    belonging = [
        e
        for e in child.enrolments
        if e.cohort in contract.cohorts and contract.starts_on <= e.enrolled_on <= contract.ends_on
    ]
    if not belonging:
        return None
    enrolment = min(belonging, key=lambda e: (e.enrolled_on, e.cohort))
    ends_on = contract.ends_on
    if enrolment.ended_on is not None and enrolment.ended_on < ends_on:
        ends_on = enrolment.ended_on
    return Window(enrolment, enrolment.enrolled_on, ends_on)


def consent_on(child: ChildFacts, day: dt.date) -> ConsentFact | None:
    """The earliest-given evidence consent in force on `day`, if any."""
    consents = child.consents
    if len(consents) == 1:  # most children: no choosing
        return consents[0] if consents[0].holds_on(day) else None
    holding = [c for c in consents if c.holds_on(day)]
    return min(holding, key=lambda c: (c.given_on, c.id or 0)) if holding else None


def _yn(value) -> str:
    return "Y" if value else "N"


def find_achievements(contract: ContractTerms, children) -> list["Achievement"]:
    """Every achievement the children's data supports, ordered by UPN, trigger, instance."""
    found: list[Achievement] = []
    for child in children:
        window = child_window(contract, child)
        if window is None:
            continue
        for trigger in contract.triggers:
            if trigger.kind == "enrolment":
                found.extend(_enrolment(trigger, child, window))
            elif trigger.kind == "engagement":
                found.extend(_engagement(contract, trigger, child, window))
            elif trigger.measure == "score":
                found.extend(_score_outcome(trigger, child, window))
            elif trigger.measure == "attainment":
                found.extend(_attainment_outcome(trigger, child, window))
    return found


def _enrolment(trigger: Trigger, child: ChildFacts, window: Window):
    """Achieved on the first date in the window on which the evidence consent holds."""
    first = None
    for consent in child.consents:
        start = max(consent.given_on, window.starts_on)
        if start > window.ends_on:
            continue
        if consent.withdrawn_on is not None and consent.withdrawn_on <= start:
            continue
        if first is None or start < first[0]:
            first = (start, consent)
    if first is None:
        return []
    day, consent = first
    return [Achievement(child.upn, trigger.code, "1", day, (window.citation, consent.citation))]


def register_text(row: RegisterFact) -> str:
    marks = _yn(row.attended) + (_yn(row.engaged) if row.attended else "-")
    return f"#{row.id} {row.service} {row.date} {marks}"


def tally_registers(contract: ContractTerms, window: Window, registers) -> tuple[PeriodTally, ...]:
    """Count a child's register rows per claim period, inside the window: sessions, those
    attended, and those attended and engaged."""
    ordered = in_register_order(registers)
    dates = [r.date for r in ordered]
    tallies = []
    for period in contract.periods:
        first = max(period.starts_on, window.starts_on)
        last = min(period.ends_on, window.ends_on)
        if first > last:
            continue
        rows = ordered[bisect_left(dates, first) : bisect_right(dates, last)]
        if rows:
            tallies.append(tally_of(period.code, rows))
    return tuple(tallies)


def in_register_order(registers) -> list:
    """Register rows in the order evidence lists them: date, service, id."""
    return sorted(registers, key=lambda r: (r.date, r.service, r.id or 0))


def tally_of(period_code: str, rows) -> PeriodTally:
    """Rows (in register order) counted: sessions, attended, attended and engaged, and
    listed as evidence text."""
    return PeriodTally(
        period_code,
        len(rows),
        sum(1 for r in rows if r.attended),
        sum(1 for r in rows if r.attended and r.engaged),
        "; ".join(register_text(r) for r in rows),
    )


def _engagement(contract: ContractTerms, trigger: Trigger, child: ChildFacts, window: Window):
    """Per period overlapping the window: enough sessions, attendance and engagement, with
    consent on the earlier of the period's end and the window's end; earliest first."""
    tallies = child.tallies
    if tallies is None:
        tallies = tally_registers(contract, window, child.registers)
    by_period = {t.period: t for t in tallies}
    found = []
    most, min_sessions = trigger.max_per_child, trigger.min_sessions
    min_attendance, min_engaged = trigger.min_attendance, trigger.min_engaged
    for period in contract.periods:
        if len(found) >= most:
            break
        tally = by_period.get(period.code)
        if tally is None or tally.sessions < min_sessions:
            continue
        if tally.attended < min_attendance * tally.sessions:
            continue
        if min_engaged is not None and tally.engaged < min_engaged * tally.attended:
            continue
        last = min(period.ends_on, window.ends_on)
        consent = consent_on(child, last)
        if consent is None:
            continue
        first = max(period.starts_on, window.starts_on)
        evidence = (
            window.citation,
            consent.citation,
            counts_text(period.code, first, last, tally),
            REGISTERS + tally.rows,
        )
        found.append(Achievement(child.upn, trigger.code, period.code, last, evidence))
    return found


# The evidence item that lists an engagement achievement's register rows, after the item
# with their counts. A draft claim's lines carry it empty: the rows are listed when the
# draft is read, and copied into the lines when the claim is submitted.
REGISTERS = "registers: "

COUNTS = re.compile(
    r"(?P<period>[^,]+), (?P<first>\d{4}-\d{2}-\d{2}) to (?P<last>\d{4}-\d{2}-\d{2}): "
    r"(?P<sessions>\d+) sessions, (?P<attended>\d+) attended, (?P<engaged>\d+) engaged"
)


def counts_text(period_code: str, first: dt.date, last: dt.date, tally: PeriodTally) -> str:
    """The evidence item with a child-period's counts and the days they cover."""
    return (
        f"{period_code}, {first} to {last}: {tally.sessions} sessions, "
        f"{tally.attended} attended, {tally.engaged} engaged"
    )


def read_counts(item: str) -> tuple[dt.date, dt.date, int, int, int] | None:
    """The first day, last day, sessions, attended and engaged of a counts item (as
    counts_text writes it), or None for any other item."""
    match = COUNTS.fullmatch(item)
    if match is None:
        return None
    return (
        dt.date.fromisoformat(match["first"]),
        dt.date.fromisoformat(match["last"]),
        int(match["sessions"]),
        int(match["attended"]),
        int(match["engaged"]),
    )


def _latest_on_or_before(rows, day, rank):
    candidates = [r for r in rows if r.date <= day]
    if not candidates:
        return None
    # latest date; on the same date the best-ranked respondent
    return min(candidates, key=lambda r: (-r.date.toordinal(), rank(r)))


def _score_at_risk(trigger: Trigger, value: Decimal) -> bool:
    if trigger.at_risk_from is not None:
        return value >= trigger.at_risk_from
    return value < trigger.at_risk_below


def _score_outcome(trigger: Trigger, child: ChildFacts, window: Window):
    """Baseline: latest score on or before enrolment + 30 days; eligible if at risk then.
    Achieved at the first follow-up (>= follow_up_after_days later, in the window) that
    meets `achieved_when` and on which the evidence consent holds."""
    rows = [
        s
        for s in child.scores
        if s.instrument == trigger.instrument
        and s.scale == trigger.scale
        and (trigger.respondent is None or s.respondent == trigger.respondent)
    ]

    def rank(s):
        return RESPONDENT_RANK.get(s.respondent, 9)

    cutoff = window.enrolment.enrolled_on + dt.timedelta(days=BASELINE_GRACE_DAYS)
    baseline = _latest_on_or_before(rows, cutoff, rank)
    if baseline is None or not _score_at_risk(trigger, baseline.value):
        return []
    earliest = baseline.date + dt.timedelta(days=trigger.follow_up_after_days)
    follow_ups = sorted(
        (s for s in rows if s.date >= earliest and s.date > baseline.date and s.date in window),
        key=lambda s: (s.date, rank(s)),
    )
    for score in follow_ups:
        if trigger.at_risk_from is not None:
            improvement = baseline.value - score.value
        else:
            improvement = score.value - baseline.value
        crossed = not _score_at_risk(trigger, score.value)
        reliable = False
        if trigger.achieved_when in ("reliable_improvement", "either"):
            reliable = is_reliable_improvement(improvement, trigger.sd, trigger.reliability)
        met = {
            "no_longer_at_risk": crossed,
            "reliable_improvement": reliable,
            "either": crossed or reliable,
        }[trigger.achieved_when]
        if not met:
            continue
        consent = consent_on(child, score.date)
        if consent is None:
            continue
        name = f"{trigger.instrument}/{trigger.scale}"
        evidence = (
            window.citation,
            consent.citation,
            f"baseline score #{baseline.id} {name} {baseline.respondent} "
            f"{baseline.date}: {baseline.value}",
            f"follow-up score #{score.id} {name} {score.respondent} {score.date}: {score.value}",
        )
        return [Achievement(child.upn, trigger.code, "1", score.date, evidence)]
    return []


def _attainment_outcome(trigger: Trigger, child: ChildFacts, window: Window):
    """As a score outcome, on the gap value - expected: at risk when gap <= -below_expected_by;
    achieved when the gap rose by min_gain (gap_closed_by) or is above the threshold."""
    rows = [a for a in child.attainment if a.subject == trigger.subject]
    cutoff = window.enrolment.enrolled_on + dt.timedelta(days=BASELINE_GRACE_DAYS)
    baseline = _latest_on_or_before(rows, cutoff, lambda a: 0)
    threshold = -trigger.below_expected_by
    if baseline is None or baseline.value - baseline.expected > threshold:
        return []
    base_gap = baseline.value - baseline.expected
    earliest = baseline.date + dt.timedelta(days=trigger.follow_up_after_days)
    follow_ups = sorted(
        (a for a in rows if a.date >= earliest and a.date > baseline.date and a.date in window),
        key=lambda a: a.date,
    )
    for record in follow_ups:
        gap = record.value - record.expected
        closed = trigger.min_gain is not None and gap - base_gap >= trigger.min_gain
        crossed = gap > threshold
        met = {
            "gap_closed_by": closed,
            "no_longer_at_risk": crossed,
            "either": closed or crossed,
        }[trigger.achieved_when]
        if not met:
            continue
        consent = consent_on(child, record.date)
        if consent is None:
            continue
        evidence = (
            window.citation,
            consent.citation,
            f"baseline attainment #{baseline.id} {trigger.subject} {baseline.date}: "
            f"{baseline.value} (expected {baseline.expected}, gap {base_gap})",
            f"follow-up attainment #{record.id} {trigger.subject} {record.date}: "
            f"{record.value} (expected {record.expected}, gap {gap})",
        )
        return [Achievement(child.upn, trigger.code, "1", record.date, evidence)]
    return []


# An adjustment's evidence begins with this and the reason why_unsupported gives.
UNSUPPORTED = "no longer supported: "


def reason_in_words(item: str | None) -> str:
    """The kind of reason an adjustment's first evidence item gives, in words a payer may
    read: never the child's details (consent dates, scores, counts), which stay in the
    evidence pack. Read from the text, as why_unsupported begins each reason, so that
    adjustments stored before the words existed are told the same way."""
    if not item or not item.startswith(UNSUPPORTED):
        return "no longer supported by the data"
    text = item.removeprefix(UNSUPPORTED)
    if text.startswith("no evidence consent holds"):
        return "consent withdrawn" if ", withdrawn " in text else "consent not held on the day"
    if text.startswith("the child is no longer enrolled"):
        return "child no longer enrolled"
    if text.startswith("trigger ") and " is not in version " in text:
        return "trigger no longer in the contract"
    if ", but max_per_child (" in text:
        return "engagement limit reached by other periods"
    if text.startswith("no register rows in ") or "; the trigger needs " in text:
        return "engagement thresholds no longer met"
    if text.startswith(("no baseline ", "not at risk at baseline")):
        return "attainment corrected" if "attainment" in text else "score corrected"
    if " meets " in text:
        return "outcome no longer met"
    return "no longer supported by the data"


def why_unsupported(
    contract: ContractTerms, child: ChildFacts | None, trigger_code: str, instance: str
) -> str:
    """Why the data no longer supports an achievement (child, trigger, instance), as far
    as the child's facts tell: the reason an adjustment gives for reversing it."""
    trigger = next((t for t in contract.triggers if t.code == trigger_code), None)
    if trigger is None:
        return f"trigger {trigger_code} is not in version {contract.version} of the contract"
    window = child_window(contract, child) if child is not None else None
    if child is None or window is None:
        return "the child is no longer enrolled in a cohort of the contract inside its dates"
    alone = replace(contract, triggers=(trigger,))
    key = (child.upn, trigger.code, instance)
    always = replace(child, consents=(ConsentFact(dt.date.min),))
    if any(a.key == key for a in find_achievements(alone, [always])):
        consents = "; ".join(c.citation for c in child.consents) or "none recorded"
        return f"no evidence consent holds on the day it would be achieved (consents: {consents})"
    if trigger.kind == "engagement":
        return _engagement_gone(contract, trigger, child, window, instance)
    if trigger.measure in ("score", "attainment"):
        return _outcome_gone(trigger, child, window)
    return "the data no longer supports it"


def _engagement_gone(contract, trigger, child, window, instance) -> str:
    tallies = child.tallies
    if tallies is None:
        tallies = tally_registers(contract, window, child.registers)
    tally = next((t for t in tallies if t.period == instance), None)
    if tally is None:
        return f"no register rows in {instance} inside the child's enrolment"
    needs = (
        f"the trigger needs at least {trigger.min_sessions} sessions, "
        f"attended ≥ {trigger.min_attendance} × sessions"
    )
    if trigger.min_engaged is not None:
        needs += f" and engaged ≥ {trigger.min_engaged} × attended"
    counts = (
        f"{instance} now: {tally.sessions} sessions, {tally.attended} attended, "
        f"{tally.engaged} engaged"
    )
    met = (
        tally.sessions >= trigger.min_sessions
        and tally.attended >= trigger.min_attendance * tally.sessions
        and (trigger.min_engaged is None or tally.engaged >= trigger.min_engaged * tally.attended)
    )
    if met:
        taken = [a.instance for a in _engagement(contract, trigger, child, window)]
        reached = ", ".join(taken)
        return f"{counts}, but max_per_child ({trigger.max_per_child}) is reached by {reached}"
    return f"{counts}; {needs}"


def _outcome_gone(trigger, child, window) -> str:
    cutoff = window.enrolment.enrolled_on + dt.timedelta(days=BASELINE_GRACE_DAYS)
    if trigger.measure == "score":
        name = f"{trigger.instrument}/{trigger.scale}"
        rows = [
            s
            for s in child.scores
            if s.instrument == trigger.instrument
            and s.scale == trigger.scale
            and (trigger.respondent is None or s.respondent == trigger.respondent)
        ]
        baseline = _latest_on_or_before(
            rows, cutoff, lambda s: RESPONDENT_RANK.get(s.respondent, 9)
        )
        at_risk = baseline is not None and _score_at_risk(trigger, baseline.value)
        shown = baseline and f"score #{baseline.id} {baseline.date}: {baseline.value}"
    else:
        name = f"{trigger.subject} attainment"
        rows = [a for a in child.attainment if a.subject == trigger.subject]
        baseline = _latest_on_or_before(rows, cutoff, lambda a: 0)
        gap = baseline and baseline.value - baseline.expected
        at_risk = baseline is not None and gap <= -trigger.below_expected_by
        shown = baseline and f"attainment #{baseline.id} {baseline.date}: gap {gap}"
    if baseline is None:
        return f"no baseline {name} on or before {cutoff}"
    if not at_risk:
        return f"not at risk at baseline ({shown})"
    earliest = baseline.date + dt.timedelta(days=trigger.follow_up_after_days)
    return (
        f"no {name} from {earliest} inside the child's enrolment meets "
        f"{trigger.achieved_when} (baseline {shown})"
    )
