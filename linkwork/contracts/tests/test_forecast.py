from decimal import Decimal
from fractions import Fraction

import pytest

from linkwork.contracts.forecast import forecast_claims

from .factories import ENGAGED, SIGNUP, WELLBEING, contract, trig


def _rows(out):
    return [(r.period, r.trigger, r.achievements, str(r.amount)) for r in out.rows]


def test_rates_hold_for_the_remaining_periods():
    terms = contract(SIGNUP, trig(ENGAGED, max_per_child=3))
    out = forecast_claims(
        terms,
        covered=["P1"],
        counts={"signup": 3, "engaged": 2},
        paid_so_far={"LA": Decimal("550"), "FUND": Decimal("550")},
        children=100,
    )
    assert _rows(out) == [
        ("P2", "signup", 3, "900.00"),
        ("P2", "engaged", 2, "200.00"),
        ("P3", "signup", 3, "900.00"),
        ("P3", "engaged", 2, "200.00"),
    ]
    assert out.total == Decimal("2200.00") and out.periods == ("P2", "P3")


def test_a_trigger_paid_once_per_child_stops_when_every_child_has_it():
    """131 sign-ups in the first period of a zone of 300 children: 131 more, then the 38
    left, then none; each child engages at most once here."""
    terms = contract(SIGNUP, ENGAGED, periods=_periods(5))
    out = forecast_claims(
        terms,
        covered=["Q1"],
        counts={"signup": 131, "engaged": 250},
        paid_so_far={},
        children=300,
    )
    signups = [r.achievements for r in out.rows if r.trigger == "signup"]
    engaged = [r.achievements for r in out.rows if r.trigger == "engaged"]
    assert signups == [131, 38, 0, 0]
    assert engaged == [50, 0, 0, 0]


def test_counts_are_whole_and_add_up_to_the_rate():
    terms = contract(trig(ENGAGED, max_per_child=9), periods=_periods(5))
    out = forecast_claims(
        terms, covered=["Q1", "Q2"], counts={"engaged": 3}, paid_so_far={}, children=50
    )
    assert [r.achievements for r in out.rows] == [2, 1, 2]  # 1.5 a period: 2, 3, 5 in all
    assert dict(out.rates) == {"engaged": Fraction(3, 2)}


def test_the_drafts_outcomes_count():
    """Outcome lines of the current draft are counted with the submitted claims: their
    periods are covered, and their rate carries on."""
    terms = contract(SIGNUP, WELLBEING)
    out = forecast_claims(
        terms,
        covered=["P1", "P2"],
        counts={"signup": 10, "wellbeing": 4},
        paid_so_far={},
        children=10,
    )
    assert _rows(out) == [("P3", "signup", 0, "0.00"), ("P3", "wellbeing", 2, "1400.00")]


def test_a_changed_price_moves_the_totals_and_caps_still_hold():
    terms = contract(SIGNUP, ENGAGED, payer_caps={"FUND": "1000.00"})
    inputs = {
        "covered": ["P1"],
        "counts": {"signup": 3},
        "paid_so_far": {"LA": Decimal("450"), "FUND": Decimal("450")},
        "children": 100,
    }
    base = forecast_claims(terms, **inputs)
    dearer = forecast_claims(terms, **inputs, prices={"signup": Decimal("400.00")})
    assert dict(base.payers) == {"LA": Decimal("900.00"), "FUND": Decimal("550.00")}
    assert dict(dearer.payers) == {"LA": Decimal("1200.00"), "FUND": Decimal("550.00")}
    assert [dict(r.portions) for r in base.rows if r.trigger == "signup"][0] == {
        "LA": Decimal("450.00"),
        "FUND": Decimal("450.00"),
    }


def test_the_per_child_cap_bounds_the_whole():
    terms = contract(SIGNUP, caps={"per_child": "400.00"})
    out = forecast_claims(
        terms,
        covered=["P1"],
        counts={"signup": 1},
        paid_so_far={"LA": Decimal("150"), "FUND": Decimal("150")},
        children=2,
    )
    # two children may bring 800.00 in all; 300.00 is counted, 300.00 is one more sign-up
    assert out.total == Decimal("300.00")


def test_nothing_counted_yet_projects_nothing():
    out = forecast_claims(contract(SIGNUP), covered=[], counts={}, paid_so_far={}, children=5)
    assert out.total == 0 and out.rows == () and out.periods == ()


def _periods(n):
    return [
        {"code": f"Q{i}", "starts_on": f"{2023 + i}-09-01", "ends_on": f"{2024 + i}-08-31"}
        for i in range(1, n + 1)
    ]


THREE_PAYERS = [
    {"code": "LA", "name": "Local authority", "cap": None},
    {"code": "FUND", "name": "Fund", "cap": None},
    {"code": "PHIL", "name": "Philanthropy", "cap": None},
]
SHARED = trig(SIGNUP, price="1000.00", shares={"LA": "0.5", "FUND": "0.3", "PHIL": "0.2"})

# (name, contract cap, payer caps, paid so far, changed price, expected P2 and P3 portions)
CAPPED_CASES = [
    (
        "the contract cap binds: what is left is split by the shares",
        "1000000.00",
        {},
        {"LA": "390200.00", "FUND": "234120.00", "PHIL": "156080.00"},  # 219,600 left
        None,
        [
            {"LA": "109800.00", "FUND": "65880.00", "PHIL": "43920.00"},
            {"LA": "0.00", "FUND": "0.00", "PHIL": "0.00"},
        ],
    ),
    (
        "a changed price is held to the contract cap the same way",
        "1000000.00",
        {},
        {"LA": "390200.00", "FUND": "234120.00", "PHIL": "156080.00"},
        "2000.00",
        [
            {"LA": "109800.00", "FUND": "65880.00", "PHIL": "43920.00"},
            {"LA": "0.00", "FUND": "0.00", "PHIL": "0.00"},
        ],
    ),
    (
        "under the contract cap every payer has its share",
        "1000000.00",
        {},
        {},
        None,
        [
            {"LA": "150000.00", "FUND": "90000.00", "PHIL": "60000.00"},
            {"LA": "150000.00", "FUND": "90000.00", "PHIL": "60000.00"},
        ],
    ),
    (
        "a payer's cap cuts that payer only, after the contract cap",
        "1000000.00",
        {"FUND": "250000.00"},
        {"LA": "390200.00", "FUND": "234120.00", "PHIL": "156080.00"},
        None,
        [
            {"LA": "109800.00", "FUND": "15880.00", "PHIL": "43920.00"},
            # 50,000 left under the contract cap, but FUND's cap is reached
            {"LA": "25000.00", "FUND": "0.00", "PHIL": "10000.00"},
        ],
    ),
    (
        "an odd remainder leaves the rounding residual with the largest share",
        "300.01",
        {},
        {},
        None,
        [
            {"LA": "150.01", "FUND": "90.00", "PHIL": "60.00"},
            {"LA": "0.00", "FUND": "0.00", "PHIL": "0.00"},
        ],
    ),
]


@pytest.mark.parametrize(
    ("name", "cap", "payer_caps", "paid", "price", "expected"),
    CAPPED_CASES,
    ids=[c[0] for c in CAPPED_CASES],
)
def test_the_caps_are_applied_as_a_claim_line_is(name, cap, payer_caps, paid, price, expected):
    """The amount first reduced to the contract's cap, then split by shares, then each
    portion cut to its payer's cap: never the whole remainder to the first payer."""
    terms = contract(SHARED, payers=THREE_PAYERS, caps={"contract": cap}, payer_caps=payer_caps)
    out = forecast_claims(
        terms,
        covered=["P1"],
        counts={"signup": 300},
        paid_so_far={payer: Decimal(value) for payer, value in paid.items()},
        children=1000,
        prices={"signup": Decimal(price)} if price else None,
    )
    got = [{payer: str(value) for payer, value in row.portions} for row in out.rows]
    assert got == expected
    assert out.total == sum((row.amount for row in out.rows), Decimal("0.00"))


def test_the_per_child_cap_is_applied_before_the_split():
    often = trig(ENGAGED, price="1000.00", max_per_child=5, shares=SHARED["shares"])
    terms = contract(often, payers=THREE_PAYERS, caps={"per_child": "1500.00"})
    out = forecast_claims(
        terms,
        covered=["P1"],
        counts={"engaged": 1},
        paid_so_far={"LA": Decimal("500"), "FUND": Decimal("300"), "PHIL": Decimal("200")},
        children=1,
    )
    # one child may bring 1,500 in all and 1,000 is counted: 500 left, split by the shares
    assert [{payer: str(value) for payer, value in row.portions} for row in out.rows] == [
        {"LA": "250.00", "FUND": "150.00", "PHIL": "100.00"},
        {"LA": "0.00", "FUND": "0.00", "PHIL": "0.00"},
    ]
