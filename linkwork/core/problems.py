"""Located problems (`file:line: column: message (value)`) as a person reads them."""


def line_of(problem: str) -> int | None:
    """The line a `file:line: …` problem names, or None."""
    parts = problem.split(":", 2)
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else None


def by_line(problems) -> list[str]:
    """The problems by line (those on one line in the order found), then those that name
    no line; each once."""
    unique = list(dict.fromkeys(problems))
    located = [p for p in unique if line_of(p) is not None]
    return sorted(located, key=line_of) + [p for p in unique if line_of(p) is None]
