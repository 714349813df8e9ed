"""Per-child outcomes in one area: waves, risk, improvement, threshold and reliable change.

Pure: plain observations in, an `AreaOutcome` out. Waves are counted from the enrolment
date: the baseline is the latest observation on or before enrolment + 30 days; the
mid-point the latest after it up to the end of year one (enrolment + 365 days); the end
point the latest after year one up to the end of year two (enrolment + 730 days).
Change is judged at the latest wave there is (end point, else mid-point).
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from .change import is_reliable_change

BASELINE_GRACE = dt.timedelta(days=30)
YEAR_ONE = dt.timedelta(days=365)
YEAR_TWO = dt.timedelta(days=730)


@dataclass(frozen=True)
class AreaRule:
    """How an area is measured: a scale score, or attainment against expected."""

    area: str
    kind: str  # "score" or "attainment"
    at_risk_from: Decimal | None = None  # score >= this is at risk (more is worse)
    at_risk_below: Decimal | None = None  # score < this is at risk (more is better)
    below_expected_by: Decimal = Decimal(1)  # attainment: gap <= -this is at risk
    sd: Decimal | None = None
    reliability: Decimal | None = None
    higher_is_better: bool = True  # the direction when no threshold names it

    @property
    def has_threshold(self) -> bool:
        return self.kind == "attainment" or (
            self.at_risk_from is not None or self.at_risk_below is not None
        )

    @property
    def more_is_worse(self) -> bool:
        if self.kind == "attainment":
            return False
        if self.at_risk_from is not None:
            return True
        if self.at_risk_below is not None:
            return False
        return not self.higher_is_better


@dataclass(frozen=True)
class Observation:
    date: dt.date
    value: Decimal
    expected: Decimal | None = None  # attainment only

    @property
    def measure(self) -> Decimal:
        """The number compared: the score, or for attainment the gap value - expected."""
        return self.value - self.expected if self.expected is not None else self.value


@dataclass(frozen=True)
class AreaOutcome:
    area: str
    baseline: Observation | None
    mid_point: Observation | None
    end_point: Observation | None
    at_risk_at_baseline: bool | None  # None without a baseline or a threshold
    at_risk_now: bool | None
    change: Decimal | None  # in the better direction (positive is better)
    improved: bool
    crossed_threshold: bool
    reliable_change: bool | None  # None when the rule has no SD and reliability
    gap_closed: bool | None  # attainment only: the gap to expected reached zero

    @property
    def latest(self) -> Observation | None:
        return self.end_point or self.mid_point

    @property
    def improved_not_across(self) -> bool:
        """At risk at baseline, better since, but still at risk."""
        return bool(self.at_risk_at_baseline) and self.improved and self.at_risk_now is True

    @property
    def verdict(self) -> str:
        """The one-line reading of the outcome, in the charity's words."""
        if self.baseline is None:
            return "No baseline" if self.latest is not None else "No data yet"
        if self.latest is None:
            return "No follow-up yet"
        if self.crossed_threshold:
            return "Crossed the threshold"
        if self.improved_not_across:
            return "Improved, not across the threshold"
        if self.improved:
            return "Improved"
        if self.change == 0:
            return "No change"
        return "Worse"


def at_risk(rule: AreaRule, observation: Observation) -> bool | None:
    """Whether the observation is at risk under the rule; None when the rule has no threshold."""
    value = observation.measure
    if rule.kind == "attainment":
        return value <= -rule.below_expected_by
    if rule.at_risk_from is not None:
        return value >= rule.at_risk_from
    if rule.at_risk_below is not None:
        return value < rule.at_risk_below
    return None


def _better_by(rule: AreaRule, before: Observation, after: Observation) -> Decimal:
    if rule.more_is_worse:
        return before.measure - after.measure
    return after.measure - before.measure


def _latest(observations, after: dt.date | None, until: dt.date) -> Observation | None:
    chosen = [o for o in observations if o.date <= until and (after is None or o.date > after)]
    return max(chosen, key=lambda o: o.date) if chosen else None


def area_outcome(rule: AreaRule, observations, enrolled_on: dt.date) -> AreaOutcome:
    """The child's outcome in one area from their observations in it."""
    baseline = _latest(observations, None, enrolled_on + BASELINE_GRACE)
    start = baseline.date if baseline else enrolled_on + BASELINE_GRACE
    mid_point = _latest(observations, start, enrolled_on + YEAR_ONE)
    end_point = _latest(observations, max(start, enrolled_on + YEAR_ONE), enrolled_on + YEAR_TWO)
    latest = end_point or mid_point
    risk_at_baseline = at_risk(rule, baseline) if baseline is not None else None
    change = None
    reliable = None
    if baseline is not None and latest is not None:
        change = _better_by(rule, baseline, latest)
        if rule.sd is not None and rule.reliability is not None:
            reliable = change > 0 and is_reliable_change(change, rule.sd, rule.reliability)
    at_risk_now = at_risk(rule, latest) if latest is not None else None
    gap_closed = None
    if rule.kind == "attainment" and latest is not None:
        gap_closed = latest.measure >= 0
    return AreaOutcome(
        area=rule.area,
        baseline=baseline,
        mid_point=mid_point,
        end_point=end_point,
        at_risk_at_baseline=risk_at_baseline,
        at_risk_now=at_risk_now,
        change=change,
        improved=change is not None and change > 0,
        crossed_threshold=risk_at_baseline is True and at_risk_now is False,
        reliable_change=reliable,
        gap_closed=gap_closed,
    )
