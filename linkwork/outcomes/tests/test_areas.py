"""The four outcome areas for one child, on hand-worked cases (docs/outcomes.md)."""

import datetime as dt
from decimal import Decimal

import pytest

from linkwork.outcomes.areas import (
    AttainmentRow,
    AttendanceRow,
    ScoreRow,
    child_outcomes,
    measure_rules,
    outcome_areas,
)
from linkwork.outcomes.change import reliable_change_threshold_squared

D = dt.date.fromisoformat
ENROLLED = D("2024-09-10")
# The shipped definitions' numbers for the scales the areas use.
DEFINITIONS = {
    "SDQ": {
        "scales": {
            "emotional": {
                "name": "Emotional symptoms",
                "outcome_area": "wellbeing",
                "direction": "higher_is_worse",
                "sd": "2.1",
                "reliability": "0.66",
                "at_risk": {"primary": "5", "secondary": "6"},
            },
            "peer": {
                "name": "Peer relationship problems",
                "outcome_area": "relationships",
                "direction": "higher_is_worse",
                "sd": "1.4",
                "reliability": "0.41",
                "at_risk": {"primary": "4", "secondary": "4"},
            },
            "prosocial": {
                "name": "Prosocial behaviour",
                "outcome_area": "confidence",
                "direction": "higher_is_better",
                "sd": "1.7",
                "reliability": "0.66",
                "at_risk": {"primary": "7", "secondary": "6"},
            },
        }
    },
    "SCWBS": {
        "scales": {
            "total": {
                "name": "Wellbeing",
                "outcome_area": "confidence",
                "direction": "higher_is_better",
                "sd": "7.5",
                "reliability": "0.85",
            },
            "extra": {"direction": "higher_is_better", "sd": "1", "reliability": "0.5"},
        }
    },
}
SCREENING = {
    "min_risk_areas": 2,
    "areas": {
        "attendance": {"attendance_rate_below": "0.90"},
        "relationships": {"score": "SDQ/peer", "at_risk_from": {"primary": "3"}},
        "english": {"attainment": "reading", "below_expected_by": "1"},
        "maths": {"attainment": "maths", "below_expected_by": "2"},
    },
}


def sdq(scale, day, value, respondent="self"):
    return ScoreRow(D(day), "SDQ", scale, respondent, Decimal(value))


def outcomes(phase="primary", screening=SCREENING, **rows):
    rules = measure_rules(screening, 4, DEFINITIONS, phase)
    areas = child_outcomes(rules, enrolled_on=ENROLLED, **rows)
    return {m.measure.subject: m for area in areas for m in area.measures}, areas


def test_the_four_areas_in_order_with_their_measures():
    _, areas = outcomes()
    assert [(a.area.name, [m.measure.label for m in a.measures]) for a in areas] == [
        ("Emotional and mental wellbeing", ["SDQ emotional symptoms"]),
        ("Relationships", ["SDQ peer relationship problems"]),
        ("Confidence and aspiration", ["SCWBS wellbeing", "SDQ prosocial behaviour"]),
        ("Progress at school", ["Reading", "Maths", "School attendance"]),
    ]


def test_a_scale_counts_in_the_area_its_definition_names():
    moved = {
        **DEFINITIONS,
        "WEMWBS": {"scales": {"total": {"name": "Wellbeing", "outcome_area": "wellbeing"}}},
    }
    areas = outcome_areas(moved)
    assert [m.subject for m in areas[0].measures] == ["SDQ/emotional", "WEMWBS/total"]
    assert [m.subject for m in areas[2].measures] == ["SCWBS/total", "SDQ/prosocial"]
    # A scale without an outcome area counts in none; attainment and attendance always do.
    none = outcome_areas({"SDQ": {"scales": {"emotional": {"name": "Emotional"}}}})
    assert [len(area.measures) for area in none] == [0, 0, 0, 3]


def test_thresholds_come_from_the_screening_rules_else_the_definition():
    by, _ = outcomes()
    assert by["SDQ/emotional"].threshold == "at risk from 5 (SDQ definition)"
    assert by["SDQ/peer"].threshold == "at risk from 3 (screening rules v4)"
    assert by["SDQ/prosocial"].threshold == "at risk below 7 (SDQ definition)"
    assert by["SCWBS/total"].threshold == "no threshold"
    assert by["maths"].threshold == "at risk 2 or more below expected (screening rules v4)"
    assert by["school"].threshold == "at risk below 90% (screening rules v4)"
    secondary, _ = outcomes(phase="secondary", screening=None)
    assert secondary["SDQ/emotional"].threshold == "at risk from 6 (SDQ definition)"
    assert secondary["SDQ/peer"].threshold == "at risk from 4 (SDQ definition)"
    assert secondary["reading"].threshold == "at risk 1 or more below expected (default)"
    assert secondary["school"].threshold == "no threshold"


def test_reliable_change_boundary_on_sdq_emotional():
    # 1.96^2 x 2.1^2 x 2 x (1 - 0.66) = 3.8416 x 4.41 x 0.68 = 11.52019008: a change of 3
    # (9) is not reliable, a change of 4 (16) is; the threshold is 3.394...
    assert reliable_change_threshold_squared(Decimal("2.1"), Decimal("0.66")) == Decimal(
        "11.52019008"
    )
    three, _ = outcomes(
        scores=[sdq("emotional", "2024-09-05", 8), sdq("emotional", "2025-06-01", 5)]
    )
    four, _ = outcomes(
        scores=[sdq("emotional", "2024-09-05", 8), sdq("emotional", "2025-06-01", 4)]
    )
    assert three["SDQ/emotional"].reliable == "No (needs more than 3.39)"
    assert four["SDQ/emotional"].reliable == "Yes (needs more than 3.39)"


@pytest.mark.parametrize(
    ("baseline", "later", "verdict", "tone", "change", "baseline_text"),
    [
        (8, 4, "Crossed the threshold", "green", "4 better", "8, 5 Sep 2024, at risk"),
        (8, 5, "Improved, not across the threshold", "amber", "3 better", "8, 5 Sep 2024, at risk"),
        (3, 1, "Improved", "green", "2 better", "3, 5 Sep 2024, not at risk"),
        (6, 7, "Worse", "red", "1 worse", "6, 5 Sep 2024, at risk"),
        (6, 6, "No change", "grey", "No change", "6, 5 Sep 2024, at risk"),
    ],
    ids=["crossed", "improved not across", "not at risk at baseline", "worse", "same"],
)
def test_score_verdicts(baseline, later, verdict, tone, change, baseline_text):
    by, _ = outcomes(
        scores=[sdq("emotional", "2024-09-05", baseline), sdq("emotional", "2025-06-01", later)]
    )
    row = by["SDQ/emotional"]
    assert (row.verdict, row.tone, row.change, row.baseline) == (
        verdict,
        tone,
        change,
        baseline_text,
    )
    assert row.outcome.at_risk_at_baseline is (baseline >= 5)
    assert row.mid_point.startswith(f"{later}, 1 Jun 2025") and row.end_point == "—"


def test_mid_point_and_end_point_and_respondent_order():
    by, _ = outcomes(
        scores=[
            sdq("peer", "2024-09-05", 5, "parent"),
            sdq("peer", "2024-09-05", 4, "self"),  # the child's own comes first
            sdq("peer", "2025-07-01", 3),
            sdq("peer", "2026-07-01", 2),
            sdq("peer", "2026-10-01", 0),  # after year two: not counted
        ]
    )
    row = by["SDQ/peer"]
    assert row.baseline == "4, 5 Sep 2024, at risk"
    assert row.mid_point == "3, 1 Jul 2025, at risk"
    assert row.end_point == "2, 1 Jul 2026, not at risk"
    assert row.change == "2 better" and row.verdict == "Crossed the threshold"
    # 1.96^2 x 1.4^2 x 2 x 0.59 = 8.88473...; 2^2 = 4 is not reliable
    assert row.reliable == "No (needs more than 2.98)"


def test_no_threshold_still_shows_change_and_reliability():
    rows = [
        ScoreRow(D("2024-09-01"), "SCWBS", "total", "self", Decimal(40)),
        ScoreRow(D("2025-05-01"), "SCWBS", "total", "self", Decimal(49)),
    ]
    by, _ = outcomes(scores=rows)
    row = by["SCWBS/total"]
    # 1.96^2 x 7.5^2 x 2 x 0.15 = 64.827: the threshold is 8.05...; 9^2 = 81 passes
    assert row.outcome.at_risk_at_baseline is None and row.baseline == "40, 1 Sep 2024"
    assert (row.verdict, row.change, row.reliable) == (
        "Improved",
        "9 better",
        "Yes (needs more than 8.05)",
    )


def test_attainment_gap_closes():
    results = [
        AttainmentRow(D("2024-09-05"), "reading", Decimal(95), Decimal(100)),
        AttainmentRow(D("2025-06-01"), "reading", Decimal(101), Decimal(101)),
        AttainmentRow(D("2024-09-05"), "maths", Decimal(97), Decimal(100)),
        AttainmentRow(D("2025-06-01"), "maths", Decimal(100), Decimal(101)),
    ]
    by, _ = outcomes(attainment=results)
    reading, maths = by["reading"], by["maths"]
    assert reading.baseline == "95 (expected 100, gap -5), 5 Sep 2024, at risk"
    assert reading.mid_point == "101 (expected 101, gap 0), 1 Jun 2025, not at risk"
    assert (reading.change, reading.gap, reading.verdict) == (
        "5 better",
        "Closed",
        "Crossed the threshold",
    )
    # maths: at risk 2 or more below; -3 then -1: across the threshold, gap not closed
    assert (maths.change, maths.gap, maths.verdict) == (
        "2 better",
        "Not closed",
        "Crossed the threshold",
    )


def test_school_attendance_rate_against_the_threshold():
    periods = [
        AttendanceRow(D("2024-07-20"), 190, 170),  # 89.5%: below 90%
        AttendanceRow(D("2025-07-20"), 190, 171),  # exactly 90%: not below
    ]
    by, _ = outcomes(attendance=periods)
    row = by["school"]
    assert row.baseline == "89.5%, 20 Jul 2024, at risk"
    assert row.mid_point == "90%, 20 Jul 2025, not at risk"
    assert row.change == "0.5 points better" and row.verdict == "Crossed the threshold"


def test_no_data_and_no_baseline():
    by, _ = outcomes()
    row = by["SDQ/emotional"]
    assert not row.has_data
    assert (row.verdict, row.baseline, row.change, row.reliable) == ("No data yet", "—", "—", "—")
    late, _ = outcomes(scores=[sdq("emotional", "2025-06-01", 4)])  # nothing by 10 Oct 2024
    assert late["SDQ/emotional"].has_data and late["SDQ/emotional"].verdict == "No baseline"
