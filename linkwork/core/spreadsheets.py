"""Safe cells for spreadsheet exports (XLSX and CSV).

A text cell that begins with `=`, `+`, `-` or `@` (or a tab or carriage return, which
some spreadsheet programs skip before reading a formula) would be run as a formula when
opened; it is written with a leading single quote instead. Numbers (int, Decimal) and
dates are data, not formulas, and are written as they are.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """The value to write into a spreadsheet cell."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values) -> list:
    return [safe_cell(value) for value in values]
