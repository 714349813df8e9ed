"""Reading YAML documents (contracts, screening rules, instruments) with located errors."""

import yaml


class DocumentError(Exception):
    """A document that breaks its rules; `errors` are complete `file:line: key: message`."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping."""


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Dates stay text so each document's own validator decides their format.
_UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_yaml(source: str | bytes, *, filename: str):
    """Parse one YAML document; malformed YAML raises DocumentError with the line.

    Floats are kept as their text (parse_float) so money and shares stay exact: callers
    convert with Decimal(str(value)) and never see a binary float.
    """
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DocumentError([f"{filename}:1: not UTF-8 (byte {exc.start})"]) from None
    if "\x00" in source:
        line = source[: source.index("\x00")].count("\n") + 1
        raise DocumentError([f"{filename}:{line}: contains a NUL byte"])
    try:
        return yaml.load(source, Loader=_DecimalLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise DocumentError([f"{filename}:{line}: invalid YAML: {problem}"]) from None


class _DecimalLoader(_UniqueKeyLoader):
    """Floats become decimal.Decimal from their exact text."""


def _construct_decimal(loader, node):
    from decimal import Decimal

    text = loader.construct_scalar(node).replace("_", "")
    return Decimal(text)


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def key_line(source: str, key: str, *, after_line: int = 0) -> int:
    """Best-effort line number of the first `key:` at or after `after_line` (1-based)."""
    for number, line in enumerate(source.splitlines(), start=1):
        if number < after_line:
            continue
        stripped = line.lstrip(" -{")
        if stripped.startswith(f"{key}:") or f" {key}:" in line or f"{{{key}:" in line:
            return number
    return 1
