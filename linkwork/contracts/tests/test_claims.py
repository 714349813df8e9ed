"""The claims rules (caps, split, residual, adjustments, ordering), pure and table-driven,
and their invariants as properties."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkwork.contracts.achievements import Achievement
from linkwork.contracts.claims import compute_claim, split_amount, standing_claims

from .factories import ENGAGED, SIGNUP, WELLBEING, contract, trig

D = dt.date.fromisoformat


def ach(upn, trigger, day, instance="1"):
    return Achievement(upn, trigger, instance, D(day), ())


def portions(line):
    return {payer: str(value) for payer, value in line.portions}


SPLIT_CASES = [
    # (price, shares, expected portions)
    (
        "300.00",
        {"LA": "0.5", "FUND": "0.3", "PHIL": "0.2"},
        {"LA": "150.00", "FUND": "90.00", "PHIL": "60.00"},
    ),
    # both halves round up: residual -0.01 to the first listed of the largest shares
    ("100.01", {"LA": "0.5", "FUND": "0.5"}, {"LA": "50.00", "FUND": "50.01"}),
    # thirds round down: residual +0.01 to the largest share
    (
        "100.00",
        {"LA": "0.34", "FUND": "0.33", "PHIL": "0.33"},
        {"LA": "34.00", "FUND": "33.00", "PHIL": "33.00"},
    ),
    (
        "10.00",
        {"LA": "0.333", "FUND": "0.333", "PHIL": "0.334"},
        {"LA": "3.33", "FUND": "3.33", "PHIL": "3.34"},
    ),
    ("0.05", {"LA": "0.3", "FUND": "0.7"}, {"LA": "0.02", "FUND": "0.03"}),
    ("99.99", {"LA": "0.6", "PHIL": "0.4"}, {"LA": "59.99", "PHIL": "40.00"}),
]


@pytest.mark.parametrize(("price", "shares", "expected"), SPLIT_CASES)
def test_split_is_half_up_with_residual_to_the_largest_share(price, shares, expected):
    terms = contract(
        trig(SIGNUP, shares=shares, price=price),
        payers=[{"code": c, "name": c, "cap": None} for c in shares],
    )
    got = split_amount(terms.triggers[0], Decimal(price))
    assert {p: str(v) for p, v in got} == expected
    assert sum(v for _, v in got) == Decimal(price)


def test_lines_are_ordered_by_date_trigger_upn_instance():
    terms = contract(SIGNUP, trig(ENGAGED, max_per_child=3))
    achievements = [
        ach("B", "engaged", "2024-12-31", "P1"),
        ach("A", "engaged", "2024-12-31", "P1"),
        ach("B", "signup", "2024-12-31"),
        ach("C", "signup", "2024-09-10"),
    ]
    result = compute_claim(terms, "P1", achievements, [])
    assert [(ln.upn, ln.trigger) for ln in result.lines] == [
        ("C", "signup"),
        ("B", "signup"),
        ("A", "engaged"),
        ("B", "engaged"),
    ]


def test_only_achievements_up_to_the_period_end():
    terms = contract(SIGNUP)
    result = compute_claim(terms, "P1", [ach("A", "signup", "2025-01-01")], [])
    assert result.lines == ()
    assert result.total == 0 and result.payers == ()


CAP_CASES = [
    # (name, caps, payer caps, expected line amounts, expected portions of the last line)
    (
        "per-child cap reduces the third line",
        {"per_child": "650.00"},
        {},
        ["300.00", "300.00", "50.00"],
        {"LA": "25.00", "FUND": "25.00"},
    ),
    (
        "per-child cap reached: the line is left out",
        {"per_child": "600.00"},
        {},
        ["300.00", "300.00"],
        {"LA": "150.00", "FUND": "150.00"},
    ),
    (
        "contract cap",
        {"contract": "310.00"},
        {},
        ["300.00", "10.00"],
        {"LA": "5.00", "FUND": "5.00"},
    ),
    (
        "payer cap cuts that payer only; the cut is not moved",
        {},
        {"FUND": "160.00"},
        ["300.00", "160.00", "150.00"],
        {"LA": "150.00", "FUND": "0.00"},
    ),
]


@pytest.mark.parametrize(
    ("name", "caps", "payer_caps", "amounts", "last"), CAP_CASES, ids=[c[0] for c in CAP_CASES]
)
def test_caps(name, caps, payer_caps, amounts, last):
    terms = contract(
        SIGNUP, trig(ENGAGED, price="300.00", max_per_child=2), caps=caps, payer_caps=payer_caps
    )
    achievements = [
        ach("A", "signup", "2024-09-10"),
        ach("A", "engaged", "2024-10-31", "P1"),
        ach("A", "engaged", "2024-12-31", "P1b"),
    ]
    result = compute_claim(terms, "P1", achievements, [])
    assert [f"{ln.amount:.2f}" for ln in result.lines] == amounts
    assert portions(result.lines[-1]) == last


def test_payer_cap_line_with_nothing_left_for_anyone_is_left_out():
    terms = contract(trig(SIGNUP, shares={"FUND": "1"}), payer_caps={"FUND": "300.00"})
    result = compute_claim(
        terms, "P1", [ach("A", "signup", "2024-09-10"), ach("B", "signup", "2024-09-11")], []
    )
    assert [ln.upn for ln in result.lines] == ["A"]


def test_caps_count_submitted_claims_and_adjustments():
    terms = contract(SIGNUP, WELLBEING, caps={"per_child": "800.00"})
    first = compute_claim(terms, "P1", [ach("A", "signup", "2024-09-10")], [])
    # A's signup is no longer supported: reversed, which frees the child's cap again.
    second = compute_claim(terms, "P2", [ach("A", "wellbeing", "2025-03-01")], list(first.lines))
    assert [(ln.kind, f"{ln.amount:.2f}") for ln in second.lines] == [
        ("adjustment", "-300.00"),
        ("claim", "700.00"),
    ]


def test_supported_achievement_keeps_its_line_even_if_its_date_moved():
    terms = contract(SIGNUP)
    first = compute_claim(terms, "P1", [ach("A", "signup", "2024-09-10")], [])
    again = compute_claim(terms, "P2", [ach("A", "signup", "2024-11-01")], list(first.lines))
    assert again.lines == ()


def test_adjustment_reverses_exactly_and_frees_the_achievement():
    terms = contract(trig(ENGAGED, price="100.01", max_per_child=2))
    e = ach("A", "engaged", "2024-12-31", "P1")
    first = compute_claim(terms, "P1", [e], [])
    second = compute_claim(terms, "P2", [], list(first.lines))
    (adjustment,) = second.lines
    assert adjustment.kind == "adjustment" and adjustment.achieved_on is None
    assert portions(adjustment) == {"LA": "-50.00", "FUND": "-50.01"}
    history = list(first.lines) + list(second.lines)
    assert standing_claims(history) == {}
    third = compute_claim(terms, "P3", [e], history)
    assert [(ln.kind, portions(ln)) for ln in third.lines] == [
        ("claim", {"LA": "50.00", "FUND": "50.01"})
    ]


def test_adjustments_come_first_ordered_by_upn_trigger_instance():
    terms = contract(SIGNUP, trig(ENGAGED, max_per_child=2))
    claimed = [
        ach("B", "signup", "2024-09-10"),
        ach("A", "engaged", "2024-12-31", "P1"),
        ach("A", "signup", "2024-09-10"),
        ach("A", "engaged", "2025-04-30", "P2"),
    ]
    first = compute_claim(terms, "P2", claimed, [])
    second = compute_claim(terms, "P3", [ach("C", "signup", "2025-05-01")], list(first.lines))
    assert [(ln.kind, ln.upn, ln.trigger, ln.instance) for ln in second.lines] == [
        ("adjustment", "A", "signup", "1"),
        ("adjustment", "A", "engaged", "P1"),
        ("adjustment", "A", "engaged", "P2"),
        ("adjustment", "B", "signup", "1"),
        ("claim", "C", "signup", "1"),
    ]


# --- properties ----------------------------------------------------------------------

money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("2000"), places=2)
share_sets = st.sampled_from(
    [
        {"LA": "1"},
        {"LA": "0.5", "FUND": "0.5"},
        {"LA": "0.5", "FUND": "0.3", "PHIL": "0.2"},
        {"LA": "0.34", "FUND": "0.33", "PHIL": "0.33"},
        {"FUND": "0.7", "PHIL": "0.3"},
        {"LA": "0.333", "FUND": "0.333", "PHIL": "0.334"},
    ]
)
PAYERS = ["LA", "FUND", "PHIL"]


@st.composite
def scenarios(draw):
    prices = [draw(money) for _ in range(3)]
    shares = [draw(share_sets) for _ in range(3)]
    triggers = [
        trig(SIGNUP, price=str(prices[0]), shares=shares[0]),
        trig(ENGAGED, price=str(prices[1]), shares=shares[1], max_per_child=3),
        trig(WELLBEING, price=str(prices[2]), shares=shares[2]),
    ]
    caps = {
        "per_child": str(draw(st.one_of(st.none(), money))) if draw(st.booleans()) else None,
        "contract": str(draw(money) * 3) if draw(st.booleans()) else None,
    }
    payer_caps = {p: str(draw(money)) for p in PAYERS if draw(st.booleans())}
    terms = contract(
        *triggers,
        caps={k: v for k, v in caps.items() if v not in (None, "None")},
        payer_caps=payer_caps,
        payers=[{"code": p, "name": p, "cap": None} for p in PAYERS],
    )
    days = st.dates(min_value=dt.date(2024, 9, 1), max_value=dt.date(2025, 8, 31))
    pool = []
    for upn in ("A", "B", "C", "D"):
        if draw(st.booleans()):
            pool.append(Achievement(upn, "signup", "1", draw(days)))
        for period in ("P1", "P2", "P3"):
            if draw(st.booleans()):
                pool.append(Achievement(upn, "engaged", period, terms.period(period).ends_on))
        if draw(st.booleans()):
            pool.append(Achievement(upn, "wellbeing", "1", draw(days)))
    # what the data supports at each of the three runs: a random subset of the pool
    runs = [[a for a in pool if draw(st.booleans()) or i == 0] for i in range(3)]
    return terms, runs


def _run_all(terms, runs):
    history, results = [], []
    for period, achievements in zip(("P1", "P2", "P3"), runs, strict=True):
        result = compute_claim(terms, period, achievements, history)
        history.extend(result.lines)
        results.append(result)
    return history, results


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_caps_are_never_exceeded(scenario):
    terms, runs = scenario
    history, _ = _run_all(terms, runs)
    by_child, by_payer, total = {}, {}, Decimal(0)
    for line in history:
        by_child[line.upn] = by_child.get(line.upn, 0) + line.amount
        total += line.amount
        for payer, value in line.portions:
            by_payer[payer] = by_payer.get(payer, 0) + value
        if terms.cap_per_child is not None:
            assert all(v <= terms.cap_per_child for v in by_child.values())
        if terms.cap_contract is not None:
            assert total <= terms.cap_contract
        for payer in terms.payers:
            if payer.cap is not None:
                assert by_payer.get(payer.code, 0) <= payer.cap


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_portions_sum_to_the_line_and_are_pennies(scenario):
    terms, runs = scenario
    history, results = _run_all(terms, runs)
    for result in results:
        assert result.total == sum(ln.amount for ln in result.lines)
        assert sum(v for _, v in result.payers) == result.total
    for line in history:
        assert line.amount != 0
        assert line.amount == sum(v for _, v in line.portions)
        assert all(v == v.quantize(Decimal("0.01")) for _, v in line.portions)
        if line.kind == "claim":
            assert all(v >= 0 for _, v in line.portions)


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_rerun_of_a_draft_is_identical(scenario):
    terms, runs = scenario
    history = []
    for period, achievements in zip(("P1", "P2", "P3"), runs, strict=True):
        draft = compute_claim(terms, period, list(achievements), list(history))
        again = compute_claim(terms, period, list(reversed(achievements)), list(history))
        assert draft == again
        history.extend(draft.lines)


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_adjustments_net_a_reversed_achievement_to_zero(scenario):
    terms, runs = scenario
    history, _ = _run_all(terms, runs)
    lines_by_key = {}
    for line in history:
        lines_by_key.setdefault(line.key, []).append(line)
    for lines in lines_by_key.values():
        # claims and adjustments alternate, starting with a claim
        assert [ln.kind for ln in lines] == ["claim", "adjustment"] * (len(lines) // 2) + (
            ["claim"] if len(lines) % 2 else []
        )
        for claim, adjustment in zip(lines[::2], lines[1::2], strict=False):
            assert {p: v + dict(adjustment.portions)[p] for p, v in claim.portions} == {
                p: 0 for p, _ in claim.portions
            }
        if len(lines) % 2 == 0:
            assert sum(ln.amount for ln in lines) == 0


def test_an_adjustment_says_why_it_reverses_the_line():
    terms = contract(SIGNUP, trig(ENGAGED, max_per_child=2))
    first = compute_claim(
        terms,
        "P1",
        [ach("A", "signup", "2024-09-10"), ach("B", "engaged", "2024-12-31", "P1")],
        [],
    )
    reasons = {("A", "signup", "1"): "no evidence consent holds on the day it would be achieved"}
    second = compute_claim(terms, "P2", [], list(first.lines), reasons=reasons)
    assert [ln.evidence[:2] for ln in second.lines] == [
        (
            "no longer supported: no evidence consent holds on the day it would be achieved",
            "reverses the line claimed with",
        ),
        # a child not loaded at all is no longer in the contract's enrolments
        (
            "no longer supported: the child is no longer enrolled in a cohort of the contract "
            "inside its dates",
            "reverses the line claimed with",
        ),
    ]
    # the amounts are the spec's, reasons or not
    plain = compute_claim(terms, "P2", [], list(first.lines))
    assert [ln.portions for ln in second.lines] == [ln.portions for ln in plain.lines]
    assert plain.lines[0].evidence[0] == "reverses the line claimed with"
