"""Money: exact decimal pounds, rounded half-up to the penny in this one place."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

PENNY = Decimal("0.01")


def to_pennies(value: Decimal) -> Decimal:
    """Round an exact amount half-up to the penny."""
    return value.quantize(PENNY, rounding=ROUND_HALF_UP)


def parse_money(text: str) -> Decimal:
    """Parse a decimal number of pounds with at most two decimal places.

    Raises ValueError with a message fit for a located error.
    """
    text = text.strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError("not a decimal number of pounds") from None
    if not value.is_finite():
        raise ValueError("not a decimal number of pounds")
    if value.as_tuple().exponent < -2:
        raise ValueError("more than 2 decimal places")
    return value


def format_money(value: Decimal) -> str:
    """Two decimals, as the claim JSON and statements print money."""
    return f"{to_pennies(value):.2f}"
