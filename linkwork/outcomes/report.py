"""A cohort's outcomes, counted per measure, with small numbers suppressed.

Pure: each child's enrolment date, school phase and rows come in as plain data, with the
measure rules for each phase and today's date; counts come out. What is counted follows
the charity's reporting: only children **at risk at baseline** in a measure are followed,
and at each wave (mid-point, end point) the report says how many of them have data, how
many have **crossed the threshold**, how many **improved but not across** it, and — where
the instrument gives an SD and reliability — how many changed **reliably**. Each wave is
judged on its own: a child's mid-point counts at the mid-point even if their end point
later says otherwise. A wave counts a child once it has come for them (the end of their
year one or two has passed); before it has come for anyone it is "not yet due", and a
measure with no threshold follows no one ("no threshold"), rather than showing zeros.
Counts are published through `suppression.suppressed_cells`, so no child can be singled
out, not even by subtraction. See `docs/outcomes.md`.
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
from .progress import YEAR_ONE, YEAR_TWO, AreaOutcome, area_outcome
from .suppression import RowCells, WaveCells, suppressed_cells

# A wave's timing over the children of the report.
DUE = "due"  # it has come for every child
PARTLY_DUE = "partly due"  # for some: the counts are of those so far
NOT_YET_DUE = "not yet due"  # for none: nothing is counted yet

# What a published cell says when it is not a count.
SUPPRESSED = "suppressed"
NO_THRESHOLD = "no threshold"
NOT_APPLICABLE = "—"  # nothing to count: no one followed up, or no SD and reliability
MARKERS = (SUPPRESSED, NO_THRESHOLD, NOT_YET_DUE, NOT_APPLICABLE)


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
    followed_up: int  # at risk at baseline, wave come, with data at this wave
    crossed: int
    improved_not_across: int
    reliable: int | None  # None when the measure has no SD and reliability
    timing: str = DUE


@dataclass(frozen=True)
class MeasureCounts:
    area: OutcomeArea
    measure: Measure
    with_baseline: int
    at_risk: int | None  # of those with a baseline, at risk at it; None: no threshold
    mid_point: WaveCounts
    end_point: WaveCounts


class _Tally:
    def __init__(self):
        self.with_baseline = 0
        self.at_risk = 0
        self.waves = {"mid": [0, 0, 0, 0], "end": [0, 0, 0, 0]}
        self.has_threshold = False
        self.has_reliability = False

    def add_wave(self, wave: str, outcome: AreaOutcome) -> None:
        counts = self.waves[wave]
        counts[0] += 1
        counts[1] += outcome.crossed_threshold
        counts[2] += outcome.improved_not_across
        counts[3] += bool(outcome.reliable_change)

    def wave(self, wave: str, timing: str) -> WaveCounts:
        followed, crossed, improved, reliable = self.waves[wave]
        return WaveCounts(
            followed, crossed, improved, reliable if self.has_reliability else None, timing
        )


def _timing(due: int, children: int) -> str:
    if children and not due:
        return NOT_YET_DUE
    return PARTLY_DUE if due < children else DUE


def cohort_report(
    children: Iterable[ChildRows],
    rules_by_phase: Mapping[str, tuple[MeasureRule, ...]],
    *,
    today: dt.date,
) -> tuple[MeasureCounts, ...]:
    """Counts per measure of the outcome areas over the children, in the areas' order
    (every phase's rules have the same measures). A child counts at a wave once its end
    (enrolment + 365 or + 730 days) is before `today`."""
    children = list(children)
    areas = areas_of(next(iter(rules_by_phase.values()), ()))
    tallies = {m: _Tally() for area in areas for m in area.measures}
    # A measure has a threshold (or SD and reliability) when the rules of a phase counted
    # give it one: the children's phases, or every phase when there are no children.
    for phase in {child.phase for child in children} or set(rules_by_phase):
        for mr in rules_by_phase[phase]:
            tally = tallies[mr.measure]
            tally.has_threshold |= mr.rule.has_threshold
            tally.has_reliability |= mr.rule.sd is not None and mr.rule.reliability is not None
    mid_due = sum(today > child.enrolled_on + YEAR_ONE for child in children)
    end_due = sum(today > child.enrolled_on + YEAR_TWO for child in children)
    for child in children:
        for mr in rules_by_phase[child.phase]:
            tally = tallies[mr.measure]
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
            year_one = child.enrolled_on + YEAR_ONE
            if outcome.mid_point is not None and today > year_one:
                early = [o for o in observations if o.date <= year_one]
                tally.add_wave("mid", area_outcome(mr.rule, early, child.enrolled_on))
            if outcome.end_point is not None and today > child.enrolled_on + YEAR_TWO:
                tally.add_wave("end", outcome)
    return tuple(
        MeasureCounts(
            area=area,
            measure=measure,
            with_baseline=tallies[measure].with_baseline,
            at_risk=tallies[measure].at_risk if tallies[measure].has_threshold else None,
            mid_point=tallies[measure].wave("mid", _timing(mid_due, len(children))),
            end_point=tallies[measure].wave("end", _timing(end_due, len(children))),
        )
        for area in areas
        for measure in area.measures
    )


def share(part: int | None, whole: int, minimum: int) -> str:
    """`part` as a whole-number percentage of `whole`; empty when either is suppressed."""
    if part is None or whole == 0 or whole < minimum or 0 < part < minimum:
        return ""
    percent = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{percent}%"


WAVES = (
    ("mid", "At the mid-point (end of year one)"),
    ("end", "At the end point (end of year two)"),
)
WAVE_COLUMNS = ("followed_up", "crossed", "improved_not_across", "reliable")
SHARED_COLUMNS = WAVE_COLUMNS[1:]  # shown with their share of the children followed up


def _waves(line: MeasureCounts) -> tuple[tuple[str, WaveCounts], ...]:
    return (("mid", line.mid_point), ("end", line.end_point))


def row_cells(line: MeasureCounts) -> RowCells:
    """A measure's counts as the suppression rules read them."""
    return RowCells(
        with_baseline=line.with_baseline,
        at_risk=line.at_risk,
        waves=tuple(
            (
                key,
                WaveCells(
                    wave.followed_up,
                    wave.crossed,
                    wave.improved_not_across,
                    wave.reliable,
                    due=wave.timing != NOT_YET_DUE,
                ),
            )
            for key, wave in _waves(line)
        ),
    )


def _text(name: str, count: int, hidden: frozenset[str]) -> str:
    return SUPPRESSED if name in hidden else str(count)


def published_rows(report: Iterable[MeasureCounts], minimum: int) -> list[dict]:
    """The report's cells as published, one dict per measure: a count, or one of
    `MARKERS`; a share only where the count and the children followed up both show."""
    rows = []
    for line in report:
        hidden = suppressed_cells(row_cells(line), minimum)
        row = {
            "area": line.area.name,
            "measure": line.measure.label,
            "with_baseline": _text("with_baseline", line.with_baseline, hidden),
            "at_risk": NO_THRESHOLD
            if line.at_risk is None
            else _text("at_risk", line.at_risk, hidden),
        }
        for key, wave in _waves(line):
            for name in WAVE_COLUMNS:
                if line.at_risk is None or getattr(wave, name) is None:
                    text = NOT_APPLICABLE
                elif wave.timing == NOT_YET_DUE:
                    text = NOT_YET_DUE
                elif name != "followed_up" and row[f"{key}_followed_up"] == "0":
                    text = NOT_APPLICABLE  # no one followed up: no outcome to count
                else:
                    text = _text(f"{key}_{name}", getattr(wave, name), hidden)
                row[f"{key}_{name}"] = text
            base = row[f"{key}_followed_up"]
            for name in SHARED_COLUMNS:
                count = row[f"{key}_{name}"]
                both = count.isdigit() and base.isdigit()
                row[f"{key}_{name}_share"] = share(int(count), int(base), minimum) if both else ""
        rows.append(row)
    return rows


TIMING_NOTES = {
    NOT_YET_DUE: "Not yet due: this wave has not come for any of these children.",
    PARTLY_DUE: "Counts so far: this wave has come for some of these children, not yet for all.",
}


def _cell(count: str, percent: str = "") -> dict:
    return {"count": count, "share": percent, "marker": count in MARKERS}


def published_tables(report: Iterable[MeasureCounts], minimum: int) -> list[dict]:
    """One table per wave: rows of measure, baseline counts and the wave's cells, with a
    note when the wave has not come for every child."""
    report = list(report)
    rows = published_rows(report, minimum)
    timings = {key: wave.timing for line in report[:1] for key, wave in _waves(line)}
    return [
        {
            "key": key,
            "title": title,
            "note": TIMING_NOTES.get(timings.get(key, DUE), ""),
            "rows": [
                {
                    "area": row["area"],
                    "measure": row["measure"],
                    "with_baseline": _cell(row["with_baseline"]),
                    "at_risk": _cell(row["at_risk"]),
                    "cells": [
                        _cell(row[f"{key}_{c}"], row.get(f"{key}_{c}_share", ""))
                        for c in WAVE_COLUMNS
                    ],
                }
                for row in rows
            ],
        }
        for key, title in WAVES
    ]
