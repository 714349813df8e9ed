from decimal import Decimal

from linkwork.contracts.forecast import forecast_claims

from .factories import ENGAGED, SIGNUP, contract


def test_rates_hold_for_the_remaining_periods():
    terms = contract(SIGNUP, ENGAGED)
    out = forecast_claims(
        terms,
        claimed_periods=["P1"],
        counts={"signup": 3, "engaged": 2},
        paid_so_far={"LA": Decimal("550"), "FUND": Decimal("550")},
    )
    assert [(r.period, r.trigger, str(r.achievements), str(r.amount)) for r in out.rows] == [
        ("P2", "signup", "3.0", "900.00"),
        ("P2", "engaged", "2.0", "200.00"),
        ("P3", "signup", "3.0", "900.00"),
        ("P3", "engaged", "2.0", "200.00"),
    ]
    assert out.total == Decimal("2200.00")


def test_a_changed_price_moves_the_totals_and_caps_still_hold():
    terms = contract(SIGNUP, ENGAGED, payer_caps={"FUND": "1000.00"})
    base = forecast_claims(
        terms,
        claimed_periods=["P1"],
        counts={"signup": 3},
        paid_so_far={"LA": Decimal("450"), "FUND": Decimal("450")},
    )
    dearer = forecast_claims(
        terms,
        claimed_periods=["P1"],
        counts={"signup": 3},
        paid_so_far={"LA": Decimal("450"), "FUND": Decimal("450")},
        prices={"signup": Decimal("400.00")},
    )
    assert dict(base.payers) == {"LA": Decimal("900.00"), "FUND": Decimal("550.00")}
    assert dict(dearer.payers) == {"LA": Decimal("1200.00"), "FUND": Decimal("550.00")}


def test_nothing_claimed_yet_projects_nothing():
    out = forecast_claims(contract(SIGNUP), claimed_periods=[], counts={}, paid_so_far={})
    assert out.total == 0
