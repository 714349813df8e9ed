"""The instrument definitions shipped with Linkwork (`instruments/*.yaml`)."""

from pathlib import Path

from .documents import parse_instrument

FOLDER = Path(__file__).resolve().parent / "instruments"


def shipped_instruments() -> list[tuple[dict, str]]:
    """(document, source) for every shipped definition, by file name."""
    found = []
    for path in sorted(FOLDER.glob("*.yaml")):
        source = path.read_text(encoding="utf-8")
        found.append((parse_instrument(source, filename=f"instruments/{path.name}"), source))
    return found
