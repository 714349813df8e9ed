"""A cohort's outcomes, counted per measure, with small numbers suppressed.

Pure: each child's enrolment date, school phase and rows come in as plain data, with the
measure rules for each phase; counts come out. What is counted follows the charity's
reporting: only children **at risk at baseline** in a measure are followed, and at each
wave (mid-point, end point) the report says how many of them have data, how many have
**crossed the threshold**, how many **improved but not across** it, and — where the
instrument gives an SD and reliability — how many changed **reliably**. Each wave is
judged on its own: a child's mid-point counts at the mid-point even if their end point
later says otherwise. Counts from 1 to `minimum - 1` are shown as "<minimum", and a
share is shown only when neither of its numbers is suppressed, so no child can be
singled out. See `docs/outcomes.md`.
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .areas import (
    AttainmentRow,
    AttendanceRow,
    Measure,
    MeasureRule,
    OutcomeArea,
    ScoreRow,
    areas_of,
    measure_observations,
)
from .progress import YEAR_ONE, AreaOutcome, area_outcome


@dataclass(frozen=True)
class ChildRows:
    """One enrolled child's data, as the report needs it."""

    enrolled_on: dt.date
    phase: str
    scores: tuple[ScoreRow, ...] = ()
    attainment: tuple[AttainmentRow, ...] = ()
    attendance: tuple[AttendanceRow, ...] = ()


@dataclass(frozen=True)
class WaveCounts:
    followed_up: int  # at risk at baseline, with data at this wave
    crossed: int
    improved_not_across: int
    reliable: int | None  # None when the measure has no SD and reliability


@dataclass(frozen=True)
class MeasureCounts:
    area: OutcomeArea
    measure: Measure
    with_baseline: int
    at_risk: int  # of those with a baseline, at risk at it
    mid_point: WaveCounts
    end_point: WaveCounts


class _Tally:
    def __init__(self):
        self.with_baseline = 0
        self.at_risk = 0
        self.waves = {"mid": [0, 0, 0, 0], "end": [0, 0, 0, 0]}
        self.has_reliability = False

    def add_wave(self, wave: str, outcome: AreaOutcome) -> None:
        counts = self.waves[wave]
        counts[0] += 1
        counts[1] += outcome.crossed_threshold
        counts[2] += outcome.improved_not_across
        counts[3] += bool(outcome.reliable_change)

    def wave(self, wave: str) -> WaveCounts:
        followed, crossed, improved, reliable = self.waves[wave]
        return WaveCounts(followed, crossed, improved, reliable if self.has_reliability else None)


def cohort_report(
    children: Iterable[ChildRows], rules_by_phase: Mapping[str, tuple[MeasureRule, ...]]
) -> tuple[MeasureCounts, ...]:
    """Counts per measure of the outcome areas over the children, in the areas' order
    (every phase's rules have the same measures)."""
    areas = areas_of(next(iter(rules_by_phase.values()), ()))
    tallies = {m: _Tally() for area in areas for m in area.measures}
    for child in children:
        for mr in rules_by_phase[child.phase]:
            tally = tallies[mr.measure]
            if mr.rule.sd is not None and mr.rule.reliability is not None:
                tally.has_reliability = True
            observations = measure_observations(
                mr, child.scores, child.attainment, child.attendance
            )
            outcome = area_outcome(mr.rule, observations, child.enrolled_on)
            if outcome.baseline is None:
                continue
            tally.with_baseline += 1
            if not outcome.at_risk_at_baseline:
                continue
            tally.at_risk += 1
            if outcome.mid_point is not None:
                year_one = child.enrolled_on + YEAR_ONE
                early = [o for o in observations if o.date <= year_one]
                tally.add_wave("mid", area_outcome(mr.rule, early, child.enrolled_on))
            if outcome.end_point is not None:
                tally.add_wave("end", outcome)
    return tuple(
        MeasureCounts(
            area=area,
            measure=measure,
            with_baseline=tallies[measure].with_baseline,
            at_risk=tallies[measure].at_risk,
            mid_point=tallies[measure].wave("mid"),
            end_point=tallies[measure].wave("end"),
        )
        for area in areas
        for measure in area.measures
    )


def shown(count: int | None, minimum: int) -> str:
    """A count as published: "—" when not measured, "<minimum" when small but not zero."""
    if count is None:
        return "—"
    if 0 < count < minimum:
        return f"<{minimum}"
    return str(count)


def share(part: int | None, whole: int, minimum: int) -> str:
    """`part` as a whole-number percentage of `whole`; empty when either is suppressed."""
    if part is None or whole == 0 or whole < minimum or 0 < part < minimum:
        return ""
    percent = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{percent}%"


def published_rows(report: Iterable[MeasureCounts], minimum: int) -> list[dict]:
    """The report's cells as published, suppression applied, one dict per measure."""
    rows = []
    for line in report:
        row = {
            "area": line.area.name,
            "measure": line.measure.label,
            "with_baseline": shown(line.with_baseline, minimum),
            "at_risk": shown(line.at_risk, minimum),
        }
        for key, wave in (("mid", line.mid_point), ("end", line.end_point)):
            base = wave.followed_up
            row[f"{key}_followed_up"] = shown(base, minimum)
            for name in ("crossed", "improved_not_across", "reliable"):
                value = getattr(wave, name)
                row[f"{key}_{name}"] = shown(value, minimum)
                row[f"{key}_{name}_share"] = share(value, base, minimum)
        rows.append(row)
    return rows


WAVES = (
    ("mid", "At the mid-point (end of year one)"),
    ("end", "At the end point (end of year two)"),
)
WAVE_COLUMNS = ("followed_up", "crossed", "improved_not_across", "reliable")


def published_tables(report: Iterable[MeasureCounts], minimum: int) -> list[dict]:
    """One table per wave: rows of measure, baseline counts and the wave's cells."""
    rows = published_rows(report, minimum)
    return [
        {
            "key": key,
            "title": title,
            "rows": [
                {
                    "area": row["area"],
                    "measure": row["measure"],
                    "with_baseline": row["with_baseline"],
                    "at_risk": row["at_risk"],
                    "cells": [
                        {"count": row[f"{key}_{c}"], "share": row.get(f"{key}_{c}_share", "")}
                        for c in WAVE_COLUMNS
                    ],
                }
                for row in rows
            ],
        }
        for key, title in WAVES
    ]
