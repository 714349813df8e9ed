import datetime as dt
from decimal import Decimal

import pytest

from linkwork.core.spreadsheets import safe_cell, safe_row


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("Amara Example", "Amara Example"),
        ("a=b", "a=b"),
        ("", ""),
        (Decimal("-50.01"), Decimal("-50.01")),
        (3, 3),
        (None, None),
        (dt.date(2025, 1, 1), dt.date(2025, 1, 1)),
    ],
)
def test_formula_starts_are_escaped_only_in_text(value, expected):
    assert safe_cell(value) == expected


def test_safe_row():
    assert safe_row(["=1", "ok", Decimal(1)]) == ["'=1", "ok", Decimal(1)]
