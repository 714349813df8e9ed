"""The claim for one period: adjustments, new lines, caps and payer portions.

Pure and exact (spec/contracts.md, "Claims"). Inputs: the contract's terms, the period,
every achievement the current data supports, and every line of the contract's earlier
submitted claims in the order they were submitted. Output: the lines of the claim.

For a finance officer, in order:
1. Each achievement still standing from a submitted claim that the data no longer
   supports is reversed exactly (every portion negated).
2. Each achievement dated by the period's end and not standing in a submitted claim
   gets a line: the price, reduced to stay within the per-child and contract caps; split
   by shares, each portion rounded half-up to the penny, the rounding residual to the
   largest share (first listed among equals); each portion then cut to the payer's cap.
"""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from linkwork.core.money import to_pennies

from .achievements import UNSUPPORTED, Achievement, ChildFacts, why_unsupported
from .terms import ContractTerms, Trigger

ZERO = Decimal("0.00")
CLAIM = "claim"
ADJUSTMENT = "adjustment"


@dataclass(frozen=True)
class Line:
    kind: str  # "claim" or "adjustment"
    upn: str
    trigger: str
    instance: str
    achieved_on: dt.date | None
    portions: tuple[tuple[str, Decimal], ...]
    evidence: tuple[str, ...] = field(default=())

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.upn, self.trigger, self.instance)

    @property
    def amount(self) -> Decimal:
        return sum((value for _, value in self.portions), ZERO)

    def portion(self, payer: str) -> Decimal:
        return dict(self.portions).get(payer, ZERO)


@dataclass(frozen=True)
class ClaimResult:
    contract: str
    period: str
    lines: tuple[Line, ...]
    total: Decimal
    payers: tuple[tuple[str, Decimal], ...]  # contract payer order, payers with a portion


@dataclass
class _Totals:
    contract: Decimal = ZERO
    per_child: dict = field(default_factory=dict)
    per_payer: dict = field(default_factory=dict)

    def add(self, line: Line, amount: Decimal | None = None):
        if amount is None:
            amount = line.amount
        self.contract += amount
        per_child, per_payer = self.per_child, self.per_payer
        per_child[line.upn] = per_child.get(line.upn, ZERO) + amount
        for payer, value in line.portions:
            per_payer[payer] = per_payer.get(payer, ZERO) + value


def standing_claims(submitted_lines) -> dict[tuple, Line]:
    """Achievements whose latest submitted line is a claim (not reversed since)."""
    standing: dict[tuple, Line] = {}
    for line in submitted_lines:
        if line.kind == CLAIM:
            standing[line.key] = line
        else:
            standing.pop(line.key, None)
    return standing


def unsupported_reasons(
    contract: ContractTerms,
    children: list[ChildFacts],
    supported: set[tuple],
    standing_by_upn: dict[str, list[tuple]],
) -> dict[tuple, str]:
    """{achievement key: why} for the standing achievements of these children that the
    data (`supported`, their achievements' keys) no longer supports."""
    reasons = {}
    for child in children:
        for key in standing_by_upn.get(child.upn, ()):
            if key not in supported:
                reasons[key] = why_unsupported(contract, child, key[1], key[2])
    return reasons


def split_amount(trigger: Trigger, amount: Decimal) -> list[tuple[str, Decimal]]:
    """Portions of `amount` by the trigger's shares, half-up to the penny; the residual
    (positive or negative) goes to the largest share, the first listed among equals."""
    portions = [[payer, to_pennies(amount * share)] for payer, share in trigger.shares]
    residual = amount - sum(value for _, value in portions)
    if residual:
        largest = max(share for _, share in trigger.shares)
        index = next(i for i, (_, share) in enumerate(trigger.shares) if share == largest)
        portions[index][1] += residual
    return [(payer, value) for payer, value in portions]


def within_caps(amount: Decimal, *rooms: Decimal | None) -> Decimal:
    """`amount` reduced so that it passes none of `rooms` (what is left under a cap;
    None for a cap not set). The result may be zero or less: nothing fits."""
    for room in rooms:
        if room is not None:
            amount = min(amount, room)
    return amount


def cut_to_payer_caps(
    split: list[tuple[str, Decimal]], room: dict[str, Decimal | None]
) -> tuple[tuple[str, Decimal], ...]:
    """Each portion of a split cut so the payer's total does not pass its cap (`room`:
    what is left under each payer's cap, None or absent for no cap). What is cut is not
    moved to another payer; a portion cut to nothing stays as 0.00."""
    portions = []
    for payer, value in split:
        left = room.get(payer)
        if left is not None:
            value = min(value, max(left, ZERO))
        portions.append((payer, value))
    return tuple(portions)


def price_line(
    trigger: Trigger,
    amount: Decimal,
    *,
    child_room: Decimal | None,
    contract_room: Decimal | None,
    payer_room: dict[str, Decimal | None],
    split=split_amount,
) -> tuple[tuple[str, Decimal], ...]:
    """The payer portions of a line worth `amount` before the caps, in the spec's order:
    the amount reduced to the per-child and contract caps first, then split by the
    trigger's shares, then each portion cut to its payer's cap. Empty when nothing fits
    under the per-child or contract cap. `split` may be a cached `split_amount`."""
    amount = within_caps(amount, child_room, contract_room)
    if amount <= 0:
        return ()
    return cut_to_payer_caps(split(trigger, amount), payer_room)


def _instance_key(order: dict[str, int], instance: str):
    return (order.get(instance, -1), instance)


def compute_claim(
    contract: ContractTerms,
    period_code: str,
    achievements: list[Achievement],
    submitted_lines: list[Line],
    erased: frozenset[str] = frozenset(),
    reasons: dict[tuple, str] | None = None,
) -> ClaimResult:
    """The claim for `period_code` as the spec defines it, to the penny.

    `erased` holds the UPNs of children whose data was erased: their submitted lines
    stand as the payment evidence kept, and are never reversed for want of the data.
    `reasons` ({achievement key: why}, see `unsupported_reasons`) puts into each
    adjustment's evidence why the data no longer supports what it reverses; a key
    without one is a child no longer loaded (not in the contract's enrolments)."""
    lines = tuple(
        claim_lines(contract, period_code, achievements, submitted_lines, erased, reasons)
    )
    return claim_of(contract, period_code, lines)


def claim_of(contract: ContractTerms, period_code: str, lines) -> ClaimResult:
    """The claim made of these lines (claim_lines'), with its total and payers' totals."""
    by_payer: dict[str, Decimal] = {}
    total = ZERO
    for line in lines:
        for payer, value in line.portions:
            by_payer[payer] = by_payer.get(payer, ZERO) + value
            total += value
    payers = tuple((p.code, by_payer[p.code]) for p in contract.payers if p.code in by_payer)
    return ClaimResult(
        contract.code, contract.period(period_code).code, tuple(lines), total, payers
    )


def claim_lines(
    contract: ContractTerms,
    period_code: str,
    achievements: list[Achievement],
    submitted_lines: list[Line],
    erased: frozenset[str] = frozenset(),
    reasons: dict[tuple, str] | None = None,
) -> Iterator[Line]:
    """The lines of the claim for `period_code` (see compute_claim), in order, each as
    soon as it is priced: the adjustments, then the new lines."""

    period = contract.period(period_code)
    triggers = {t.code: t for t in contract.triggers}
    trigger_order = contract.trigger_order()
    period_order = contract.period_order()
    payer_caps = [(p.code, p.cap) for p in contract.payers if p.cap is not None]

    totals = _Totals()
    for line in submitted_lines:
        totals.add(line)
    standing = standing_claims(submitted_lines)
    supported = {a.key for a in achievements}

    reversals = [
        line for key, line in standing.items() if key not in supported and line.upn not in erased
    ]
    reversals.sort(
        key=lambda ln: (
            ln.upn,
            trigger_order.get(ln.trigger, 99),
            _instance_key(period_order, ln.instance),
        )
    )
    for claimed in reversals:
        why = ()
        if reasons is not None:
            reason = reasons.get(claimed.key) or why_unsupported(
                contract, None, claimed.trigger, claimed.instance
            )
            why = (UNSUPPORTED + reason,)
        line = Line(
            ADJUSTMENT,
            claimed.upn,
            claimed.trigger,
            claimed.instance,
            None,
            tuple((payer, -value) for payer, value in claimed.portions),
            why + ("reverses the line claimed with",) + tuple(claimed.evidence),
        )
        totals.add(line)
        yield line

    due = [
        a
        for a in achievements
        if a.achieved_on <= period.ends_on and a.key not in standing and a.trigger in triggers
    ]
    due.sort(
        key=lambda a: (
            a.achieved_on,
            trigger_order[a.trigger],
            a.upn,
            _instance_key(period_order, a.instance),
        )
    )
    splits: dict[tuple[str, Decimal], list] = {}

    def split(trigger: Trigger, amount: Decimal) -> list:
        # the same amount splits the same way on every line
        key = (trigger.code, amount)
        if key not in splits:
            splits[key] = split_amount(trigger, amount)
        return splits[key]

    per_child, per_payer = totals.per_child, totals.per_payer
    cap_per_child, cap_contract = contract.cap_per_child, contract.cap_contract
    for achievement in due:
        trigger = triggers[achievement.trigger]
        portions = price_line(
            trigger,
            trigger.price,
            child_room=_room(cap_per_child, per_child.get(achievement.upn)),
            contract_room=_room(cap_contract, totals.contract),
            payer_room={payer: _room(cap, per_payer.get(payer)) for payer, cap in payer_caps},
            split=split,
        )
        line_amount = sum((value for _, value in portions), ZERO)
        if line_amount == 0:
            continue
        line = Line(
            CLAIM,
            achievement.upn,
            achievement.trigger,
            achievement.instance,
            achievement.achieved_on,
            portions,
            tuple(achievement.evidence),
        )
        totals.add(line, line_amount)
        yield line


def _room(cap: Decimal | None, used: Decimal | None) -> Decimal | None:
    """What is left under a cap (None: no cap)."""
    return None if cap is None else cap - (used or ZERO)


def _money(value: Decimal) -> str:
    return f"{to_pennies(value):.2f}"


def line_as_json(line: Line, *, evidence: bool = True) -> dict:
    """One line in the spec's JSON shape (amounts as strings with two decimals)."""
    item = {
        "kind": line.kind,
        "upn": line.upn,
        "trigger": line.trigger,
        "instance": line.instance,
        "achieved_on": line.achieved_on.isoformat() if line.achieved_on else None,
        "amount": _money(line.amount),
        "portions": {payer: _money(value) for payer, value in line.portions},
    }
    if evidence:
        item["evidence"] = list(line.evidence)
    return item


def claim_heading_as_json(result: ClaimResult, *, status: str) -> dict:
    """The claim in the spec's JSON shape without its lines."""
    return {
        "contract": result.contract,
        "period": result.period,
        "status": status,
        "total": _money(result.total),
        "payers": {payer: _money(value) for payer, value in result.payers},
    }


def claim_as_json(result: ClaimResult, *, status: str, evidence: bool = True) -> dict:
    """The claim in the spec's JSON shape (amounts as strings with two decimals)."""
    return {
        **claim_heading_as_json(result, status=status),
        "lines": [line_as_json(line, evidence=evidence) for line in result.lines],
    }
