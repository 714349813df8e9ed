"""Reliable change (Jacobson & Truax 1991), decided exactly.

Change is reliable when |x2 - x1| > 1.96 x SD x sqrt(2 x (1 - r)). The square root is
irrational in general, so instead of rounding it we compare squares: for a difference
d >= 0, d > 1.96 x SD x sqrt(2(1 - r)) exactly when d^2 > 1.96^2 x SD^2 x 2 x (1 - r).
Both sides are products of short decimals, computed exactly with enough precision.
"""

from decimal import Decimal, localcontext
from functools import lru_cache

Z = Decimal("1.96")


@lru_cache(maxsize=64)
def reliable_change_threshold_squared(sd: Decimal, reliability: Decimal) -> Decimal:
    """(1.96 x SD x sqrt(2 x (1 - r)))^2, exact."""
    with localcontext() as ctx:
        ctx.prec = 100
        return Z * Z * sd * sd * 2 * (1 - reliability)


def is_reliable_change(difference: Decimal, sd: Decimal, reliability: Decimal) -> bool:
    """True when |difference| passes the reliable change threshold (strictly)."""
    with localcontext() as ctx:
        ctx.prec = 100
        return difference * difference > reliable_change_threshold_squared(sd, reliability)


def is_reliable_improvement(improvement: Decimal, sd: Decimal, reliability: Decimal) -> bool:
    """True when a change in the better direction (positive `improvement`) is reliable."""
    return improvement > 0 and is_reliable_change(improvement, sd, reliability)
