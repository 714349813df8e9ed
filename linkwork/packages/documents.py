"""The YAML documents of a package: instruments, screening rules and contracts.

Each kind is parsed and stored by the app that owns it, imported only when a package
carries such a document: `parse_<kind>(source, *, filename)` raises DocumentError with
located problems; `store_<kind>(*, actor, document, source)` stores a new version unless
the latest stored one has the same document.
"""

import importlib
import re
from dataclasses import dataclass
from pathlib import Path

from linkwork.core.documents import DocumentError


@dataclass(frozen=True)
class Kind:
    name: str
    folder: str | None  # None: a single file at the package's top level
    filename: str  # the single file's name, or unused
    parser: tuple[str, str]  # (module, function)
    store: tuple[str, str]
    model: str  # app_label.Model, to tell a stored version from a no-op


KINDS = (
    Kind(
        "instruments",
        "instruments",
        "",
        ("linkwork.measures.documents", "parse_instrument"),
        ("linkwork.measures.services", "store_instrument"),
        "measures.Instrument",
    ),
    Kind(
        "screening",
        None,
        "screening.yaml",
        ("linkwork.screening.documents", "parse_screening_rules"),
        ("linkwork.screening.services", "store_screening_rules"),
        "screening.ScreeningRules",
    ),
    Kind(
        "contracts",
        "contracts",
        "",
        ("linkwork.contracts.documents", "parse_contract"),
        ("linkwork.contracts.services", "store_contract"),
        "contracts.Contract",
    ),
)


@dataclass(frozen=True)
class Document:
    kind: Kind
    filename: str  # relative to the package, e.g. contracts/EX-1.yaml
    source: str
    document: dict


def document_files(root: Path) -> list[tuple[Kind, str]]:
    """The YAML documents present in a package, in a fixed order."""
    found = []
    for kind in KINDS:
        if kind.folder is None:
            if (root / kind.filename).is_file():
                found.append((kind, kind.filename))
        elif (root / kind.folder).is_dir():
            for path in sorted((root / kind.folder).iterdir()):
                if path.is_file() and path.suffix == ".yaml" and not path.name.startswith("."):
                    found.append((kind, f"{kind.folder}/{path.name}"))
    return found


class Unavailable(Exception):
    """The app owning a document kind does not provide its parser or store yet."""


def _function(kind: Kind, where: tuple[str, str]):
    module_name, name = where
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise Unavailable(
            f"{kind.name} documents cannot be loaded: {module_name} is missing"
        ) from None
    try:
        return getattr(module, name)
    except AttributeError:
        raise Unavailable(
            f"{kind.name} documents cannot be loaded: {module_name}.{name} is missing"
        ) from None


def read_document(
    root: Path, kind: Kind, filename: str, *, instruments: dict | None = None
) -> tuple[Document | None, list[str]]:
    """Parse one document; return it, or the located problems that refuse it.

    A contract is checked against `instruments` ({code: definition}: the database's and
    the package's own), so a score outcome naming no known instrument or scale is one of
    the package's problems."""
    try:
        raw = (root / filename).read_bytes()
    except OSError as exc:
        return None, [f"{filename}:1: cannot be read ({exc.strerror})"]
    try:
        source = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        try:
            raw.decode("cp1252")
        except UnicodeDecodeError:
            message = "not UTF-8; save as UTF-8"
        else:
            message = "file is Windows-1252; save as UTF-8"
        return None, [f"{filename}:{line}: {message} (byte 0x{raw[exc.start]:02X})"]
    try:
        parse = _function(kind, kind.parser)
        _function(kind, kind.store)
    except Unavailable as exc:
        return None, [f"{filename}:1: {exc}"]
    try:
        if kind.name == "contracts" and instruments is not None:
            document = parse(source, filename=filename, instruments=instruments)
        else:
            document = parse(source, filename=filename)
    except DocumentError as exc:
        return None, list(exc.errors) or [f"{filename}:1: not a valid {kind.name} document"]
    except Exception as exc:  # the owning app's parser must never turn into a traceback
        return None, [f"{filename}:1: could not be read ({type(exc).__name__}: {exc})"]
    return Document(kind, filename, source, document), []


def store_document(*, actor, document: Document) -> bool:
    """Store a document through its app's service; True if a new version was stored."""
    from django.apps import apps

    model = apps.get_model(document.kind.model)
    before = model.objects.count()
    store = _function(document.kind, document.kind.store)
    store(actor=actor, document=document.document, source=document.source)
    return model.objects.count() > before


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def latest_documents() -> list[tuple[str, str]]:
    """(relative file name, stored source) of the latest version of every document."""
    from linkwork.contracts.models import Contract
    from linkwork.measures.models import Instrument
    from linkwork.screening.models import ScreeningRules

    out = []
    seen = set()
    for instrument in Instrument.objects.order_by("code", "-version"):
        if instrument.code not in seen:
            seen.add(instrument.code)
            out.append(
                (f"instruments/{_SAFE_NAME.sub('_', instrument.code)}.yaml", instrument.source)
            )
    rules = ScreeningRules.objects.order_by("-version").first()
    if rules is not None:
        out.append(("screening.yaml", rules.source))
    seen = set()
    for contract in Contract.objects.order_by("code", "-version"):
        if contract.code not in seen:
            seen.add(contract.code)
            out.append((f"contracts/{_SAFE_NAME.sub('_', contract.code)}.yaml", contract.source))
    return out
