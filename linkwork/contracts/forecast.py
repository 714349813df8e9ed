"""What the remaining periods may bring if current rates hold, and what a price change
would do to that. Pure.

The rate of each trigger is the number of achievements claimed per claimed period so
far (net of adjustments). Each remaining period is projected to bring that many, paid
at the trigger's price (or a changed price) and split by its shares; each payer's
projection stops at its cap, and the total at the contract's cap.
"""

from dataclasses import dataclass
from decimal import Decimal

from linkwork.core.money import to_pennies

from .terms import ContractTerms

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ForecastRow:
    period: str
    trigger: str
    achievements: Decimal  # projected count, to one decimal place
    amount: Decimal


@dataclass(frozen=True)
class Forecast:
    rows: tuple[ForecastRow, ...]
    payers: tuple[tuple[str, Decimal], ...]  # projected payments in the remaining periods
    total: Decimal


def forecast_claims(
    terms: ContractTerms,
    *,
    claimed_periods: list[str],
    counts: dict[str, int],
    paid_so_far: dict[str, Decimal],
    prices: dict[str, Decimal] | None = None,
) -> Forecast:
    """Project the periods after `claimed_periods` from `counts` (net achievements per
    trigger so far) and `paid_so_far` (per payer, to respect caps)."""
    prices = prices or {}
    remaining = [p for p in terms.periods if p.code not in claimed_periods]
    elapsed = len(claimed_periods)
    used = {payer.code: paid_so_far.get(payer.code, ZERO) for payer in terms.payers}
    caps = {payer.code: payer.cap for payer in terms.payers}
    contract_used = sum(used.values(), ZERO)
    projected = dict.fromkeys(used, ZERO)
    rows = []
    for period in remaining:
        for trigger in terms.triggers:
            rate = Decimal(counts.get(trigger.code, 0)) / elapsed if elapsed else Decimal(0)
            rate = rate.quantize(Decimal("0.1"))
            price = prices.get(trigger.code, trigger.price)
            amount = ZERO
            for payer, share in trigger.shares:
                value = to_pennies(rate * price * share)
                if caps.get(payer) is not None:
                    value = max(min(value, caps[payer] - used[payer]), ZERO)
                if terms.cap_contract is not None:
                    value = max(min(value, terms.cap_contract - contract_used), ZERO)
                used[payer] += value
                contract_used += value
                projected[payer] += value
                amount += value
            rows.append(ForecastRow(period.code, trigger.code, rate, amount))
    payers = tuple((code, value) for code, value in projected.items())
    return Forecast(tuple(rows), payers, sum((v for _, v in payers), ZERO))
