"""Per-child outcomes on hand-worked cases (the worked example's children)."""

import datetime as dt
from decimal import Decimal

import pytest

from linkwork.outcomes.change import is_reliable_change, reliable_change_threshold_squared
from linkwork.outcomes.progress import AreaRule, Observation, area_outcome

D = dt.date.fromisoformat
SDQ = AreaRule(
    "wellbeing", "score", at_risk_from=Decimal(5), sd=Decimal("2.0"), reliability=Decimal("0.8")
)
MATHS = AreaRule("school", "attainment", below_expected_by=Decimal(1))


def obs(*rows):
    return [
        Observation(D(day), Decimal(v), Decimal(e) if e is not None else None) for day, v, e in rows
    ]


def test_threshold_is_compared_exactly():
    # 1.96 x 2 x sqrt(0.4) = 2.47916...; squared 6.146560 exactly
    assert reliable_change_threshold_squared(Decimal("2.0"), Decimal("0.8")) == Decimal("6.14656")
    assert not is_reliable_change(Decimal("2.479"), Decimal("2.0"), Decimal("0.8"))
    assert is_reliable_change(Decimal("2.48"), Decimal("2.0"), Decimal("0.8"))


def test_child_crosses_the_threshold_with_reliable_change():
    # Amara: 7 at baseline, 3 at the mid-point, 4 at the end point.
    scores = obs(
        ("2024-09-05", 7, None),
        ("2025-03-01", 3, None),
        ("2025-06-20", 4, None),
        ("2025-10-01", 4, None),
    )
    out = area_outcome(SDQ, scores, D("2024-09-10"))
    assert out.baseline.value == 7 and out.mid_point.date == D("2025-06-20")
    assert out.end_point.date == D("2025-10-01")
    assert out.at_risk_at_baseline and out.at_risk_now is False
    assert out.change == 3 and out.improved and out.crossed_threshold and out.reliable_change


@pytest.mark.parametrize(
    ("rows", "at_risk", "improved", "crossed", "reliable"),
    [
        ([("2024-09-01", 4, None), ("2025-06-10", 1, None)], False, True, False, True),
        ([("2024-09-01", 8, None), ("2025-06-10", 6, None)], True, True, False, False),
        ([("2024-09-01", 8, None), ("2025-06-10", 9, None)], True, False, False, False),
        ([("2024-09-01", 8, None)], True, False, False, None),
    ],
    ids=["not at risk at baseline", "improved, not across", "worse", "no follow-up"],
)
def test_score_cases(rows, at_risk, improved, crossed, reliable):
    out = area_outcome(SDQ, obs(*rows), D("2024-09-10"))
    assert (out.at_risk_at_baseline, out.improved, out.crossed_threshold, out.reliable_change) == (
        at_risk,
        improved,
        crossed,
        reliable,
    )


def test_attainment_gap_to_expected():
    out = area_outcome(
        MATHS, obs(("2024-09-05", 95, 100), ("2025-06-01", 99, 101)), D("2024-09-10")
    )
    assert out.at_risk_at_baseline and out.change == 3 and out.improved
    assert out.at_risk_now is True and out.gap_closed is False
    closed = area_outcome(
        MATHS, obs(("2024-09-05", 95, 100), ("2025-06-01", 102, 101)), D("2024-09-10")
    )
    assert closed.crossed_threshold and closed.gap_closed


def test_more_is_better_scales():
    rule = AreaRule("confidence", "score", at_risk_below=Decimal(40))
    out = area_outcome(
        rule, obs(("2024-09-01", 35, None), ("2025-05-01", 44, None)), D("2024-09-10")
    )
    assert out.at_risk_at_baseline and out.change == 9 and out.crossed_threshold
    assert out.reliable_change is None
