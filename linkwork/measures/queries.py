"""Reads for instruments."""

from .models import Instrument


def current_definitions() -> dict[str, dict]:
    """The latest definition of every instrument, by code (one query)."""
    definitions: dict[str, dict] = {}
    for code, definition in Instrument.objects.order_by("code", "-version").values_list(
        "code", "definition"
    ):
        definitions.setdefault(code, definition)
    return definitions
