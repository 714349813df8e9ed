"""What the periods after the latest claim may bring if the rates so far hold, and what a
price change would do to that. Pure.

Counted so far, per trigger: the achievements standing in the submitted claims (net of
adjustments) and the lines of the latest draft that is not out of date (what the data
supports now that no submitted claim holds yet). Those cover the submitted periods and,
with a draft, every period up to the draft's: the trigger's rate is its count per period
covered. Each later period is projected to bring that many, in whole achievements (the
running total rounded half-up, so k periods bring round(k × rate) in all), and never more
than are left to achieve: a trigger paid once per child (enrolment, outcome) at most once
more for each child of the contract not yet counted for it, an engagement trigger at most
`max_per_child` per child in all and once per child in a period. Each achievement is paid
at the trigger's price (or a changed price), and each period's amount per trigger is priced
as a claim line is (`claims.price_line`): reduced first to the contract's cap and to what
the per-child cap leaves for the contract's children (children × cap − what is counted so
far), then split by the trigger's shares, then each portion cut to its payer's cap (what
is cut is not moved to another payer).
"""

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from .claims import price_line
from .terms import ContractTerms

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ForecastRow:
    period: str
    trigger: str
    achievements: int  # projected count, whole
    amount: Decimal
    portions: tuple[tuple[str, Decimal], ...] = ()  # per payer, in the trigger's order

    def portion(self, payer: str) -> Decimal:
        return dict(self.portions).get(payer, ZERO)


@dataclass(frozen=True)
class Forecast:
    rows: tuple[ForecastRow, ...]
    payers: tuple[tuple[str, Decimal], ...]  # projected payments in `periods`
    total: Decimal
    periods: tuple[str, ...] = ()  # the periods projected, in order
    rates: tuple[tuple[str, Fraction], ...] = ()  # per trigger, achievements per period


def _room(cap: Decimal | None, used: Decimal) -> Decimal | None:
    return None if cap is None else cap - used


def _whole(value: Fraction) -> int:
    """A count of achievements, rounded half-up (counts are never negative)."""
    return math.floor(value + Fraction(1, 2))


def forecast_claims(
    terms: ContractTerms,
    *,
    covered: list[str],
    counts: dict[str, int],
    paid_so_far: dict[str, Decimal],
    children: int,
    prices: dict[str, Decimal] | None = None,
) -> Forecast:
    """Project the periods after the last of `covered` (the periods the counts cover) from
    `counts` (net achievements per trigger so far), for a contract of `children` children;
    `paid_so_far` (per payer: submitted claims and the draft) keeps the caps."""
    prices = prices or {}
    order = terms.period_order()
    last = max((order[code] for code in covered if code in order), default=-1)
    remaining = terms.periods[last + 1 :] if covered else ()
    elapsed = last + 1
    used = {payer.code: paid_so_far.get(payer.code, ZERO) for payer in terms.payers}
    caps = {payer.code: payer.cap for payer in terms.payers}
    contract_used = sum(used.values(), ZERO)
    child_room = None
    if terms.cap_per_child is not None:
        child_room = max(terms.cap_per_child * children - contract_used, ZERO)
    rates = {
        t.code: Fraction(max(counts.get(t.code, 0), 0), elapsed) if elapsed else Fraction(0)
        for t in terms.triggers
    }
    left = {
        t.code: max(children * t.max_per_child - max(counts.get(t.code, 0), 0), 0)
        for t in terms.triggers
    }
    projected = dict.fromkeys(used, ZERO)
    rows = []
    for step, period in enumerate(remaining, start=1):
        for trigger in terms.triggers:
            rate = rates[trigger.code]
            count = _whole(rate * step) - _whole(rate * (step - 1))
            count = min(count, left[trigger.code], children)
            left[trigger.code] -= count
            price = prices.get(trigger.code, trigger.price)
            # As a claim line is priced: the caps of the whole first, then the shares,
            # then each payer's own cap.
            priced = dict(
                price_line(
                    trigger,
                    count * price,
                    child_room=child_room,
                    contract_room=_room(terms.cap_contract, contract_used),
                    payer_room={code: _room(caps[code], used[code]) for code in caps},
                )
            )
            portions = tuple((payer, priced.get(payer, ZERO)) for payer, _ in trigger.shares)
            amount = sum((value for _, value in portions), ZERO)
            for payer, value in portions:
                used[payer] += value
                projected[payer] += value
            contract_used += amount
            if child_room is not None:
                child_room -= amount
            rows.append(ForecastRow(period.code, trigger.code, count, amount, portions))
    payers = tuple((code, value) for code, value in projected.items())
    return Forecast(
        tuple(rows),
        payers,
        sum((v for _, v in payers), ZERO),
        tuple(p.code for p in remaining),
        tuple(rates.items()),
    )
