"""The resources of a zone data package: their files, columns, keys and value rules.

Pure definitions: no queries (coded values are the models' choices). Each column's
parser takes the text of one cell and returns the value staged for loading (dates stay
ISO text, booleans become bool, lists become JSON text) or raises `Invalid` with a
message fit for a located error.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from linkwork.core.upn import upn_problem
from linkwork.measures.models import Respondent
from linkwork.people.models import SEN, GivenBy, Purpose, Sex, StatutoryStatus, Subject, YearGroup
from linkwork.schools.models import Phase
from linkwork.support.models import InteractionKind, OutcomeArea


class Invalid(ValueError):
    """A cell that breaks its column's rule; the message says which rule."""


@dataclass(frozen=True)
class Column:
    name: str
    parse: Callable[[str], object]
    kind: str = "text"  # staging type: text, date, bool, int, decimal, json
    required: bool = True  # a blank cell is an error
    blank: object = None  # the value staged for a blank cell when not required
    remember: bool = True  # cells checked once are remembered (they repeat: not names)


@dataclass(frozen=True)
class Resource:
    name: str
    filename: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")


def copy_text(value) -> str:
    """A staged value in PostgreSQL COPY's text format (None is \\N, booleans t and f)."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES) if _NEEDS_ESCAPE.search(value) else value
    return str(value)


# Cell parsers ---------------------------------------------------------------------------


def text(max_length: int) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > max_length:
            raise Invalid(f"longer than {max_length} characters")
        return value

    return parse


def choice(*values: str) -> Callable[[str], str]:
    allowed = frozenset(values)
    message = "one of " + ", ".join(values)

    def parse(value: str) -> str:
        if value not in allowed:
            raise Invalid(message)
        return value

    return parse


_YES_NO = {"Y": True, "N": False}


def yes_no(value: str) -> bool:
    try:
        return _YES_NO[value]
    except KeyError:
        raise Invalid("Y or N") from None


_DATE_FORM = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_valid_dates: dict[str, str] = {}  # dates repeat a lot in registers; remember good ones


def iso_date(value: str) -> str:
    if value in _valid_dates:
        return value
    if not _DATE_FORM.match(value):
        raise Invalid("not a date in YYYY-MM-DD form")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise Invalid("not a real date") from None
    if len(_valid_dates) < 100_000:
        _valid_dates[value] = value
    return value


_INTEGER_FORM = re.compile(r"-?[0-9]{1,10}\Z")


def integer(minimum: int, maximum: int = 2_147_483_647) -> Callable[[str], int]:
    def parse(value: str) -> int:
        if not _INTEGER_FORM.match(value):
            raise Invalid("not a whole number")
        number = int(value)
        if number < minimum:
            raise Invalid(f"less than {minimum}")
        if number > maximum:
            raise Invalid(f"more than {maximum}")
        return number

    return parse


_DECIMAL_FORM = re.compile(r"-?([0-9]+)(?:\.([0-9]+))?\Z")


def decimal(integer_digits: int = 6, places: int = 3) -> Callable[[str], str]:
    """A decimal number written plainly (no exponent); staged as its text, never a float."""

    def parse(value: str) -> str:
        match = _DECIMAL_FORM.match(value)
        if match is None:
            raise Invalid("not a decimal number")
        whole, fraction = match.groups()
        if fraction is not None and len(fraction) > places:
            raise Invalid(f"more than {places} decimal places")
        if len(whole.lstrip("0")) > integer_digits:
            raise Invalid(f"more than {integer_digits} digits before the point")
        return value

    return parse


def upn(value: str) -> str:
    problem = upn_problem(value)
    if problem:
        raise Invalid(problem)
    return value


_URN_FORM = re.compile(r"[0-9]{6}\Z")


def urn(value: str) -> str:
    if not _URN_FORM.match(value):
        raise Invalid("a URN has 6 digits")
    return value


def email(value: str) -> str:
    if len(value) > 254:
        raise Invalid("longer than 254 characters")
    try:
        validate_email(value)
    except ValidationError:
        raise Invalid("not an email address") from None
    return value.lower()


def separated(item: Callable[[str], str]) -> Callable[[str], str]:
    """A `;`-separated list, each part checked by `item`; staged as a JSON list."""

    def parse(value: str) -> str:
        parts = [part.strip() for part in value.split(";")]
        return json.dumps([item(part) for part in parts if part])

    return parse


def _required(name, parse, kind="text"):
    return Column(name, parse, kind)


def _optional(name, parse, kind="text", blank=None):
    return Column(name, parse, kind, required=False, blank=blank)


def _name(name, max_length, required=True):
    """Free text that seldom repeats (a name, a reason): checked each time, not remembered."""
    blank = None if required else ""
    return Column(name, text(max_length), required=required, blank=blank, remember=False)


CODE = text(40)
# The values each coded column takes are the models' own choices, so a new value is
# added in one place.
OUTCOME_AREAS = tuple(OutcomeArea.values)
YEAR_GROUPS = tuple(YearGroup.values)

# The resources in the order they are validated and written: each one's references
# point only at resources before it.
RESOURCES: tuple[Resource, ...] = (
    Resource(
        "schools",
        "schools.csv",
        (
            _required("urn", urn),
            _name("name", 200),
            _required("phase", choice(*Phase.values)),
            _required("local_authority", text(200)),
        ),
        key=("urn",),
    ),
    Resource(
        "pupils",
        "pupils.csv",
        (
            _required("upn", upn),
            _required("school_urn", urn),
            _name("given_name", 100),
            _name("family_name", 100),
            _optional("date_of_birth", iso_date, "date"),
            _required("year_group", choice(*YEAR_GROUPS)),
            _optional("sex", choice(*Sex.values), blank=""),
            _optional("fsm", yes_no, "bool"),
            _optional("sen", choice(*SEN.values), blank=""),
            _optional("eal", yes_no, "bool"),
            _optional("statutory_status", choice(*StatutoryStatus.values), blank="none"),
        ),
        key=("upn",),
    ),
    Resource(
        "partners",
        "partners.csv",
        (_required("code", CODE), _name("name", 200)),
        key=("code",),
    ),
    Resource(
        "services",
        "services.csv",
        (
            _required("code", CODE),
            _required("partner_code", CODE),
            _name("name", 200),
            _required("school_urn", urn),
            _optional("outcome_areas", separated(choice(*OUTCOME_AREAS)), "json", blank="[]"),
        ),
        key=("code",),
    ),
    Resource(
        "link_workers",
        "link_workers.csv",
        (
            _required("email", email),
            _name("name", 200, required=False),
            _optional("school_urns", separated(urn), "json", blank="[]"),
        ),
        key=("email",),
    ),
    Resource(
        "enrolments",
        "enrolments.csv",
        (
            _required("upn", upn),
            _required("cohort", CODE),
            _required("enrolled_on", iso_date, "date"),
            _optional("link_worker_email", email),
            _optional("ended_on", iso_date, "date"),
            _name("end_reason", 200, required=False),
        ),
        key=("upn", "cohort"),
    ),
    Resource(
        "consents",
        "consents.csv",
        (
            _required("upn", upn),
            _required("purpose", choice(*Purpose.values)),
            _required("given_by", choice(*GivenBy.values)),
            _required("given_on", iso_date, "date"),
            _optional("withdrawn_on", iso_date, "date"),
        ),
        key=("upn", "purpose", "given_on"),
    ),
    Resource(
        "allocations",
        "allocations.csv",
        (
            _required("upn", upn),
            _required("service_code", CODE),
            _required("start_date", iso_date, "date"),
            _optional("end_date", iso_date, "date"),
        ),
        key=("upn", "service_code", "start_date"),
    ),
    Resource(
        "registers",
        "registers.csv",
        (
            _required("service_code", CODE),
            _required("session_date", iso_date, "date"),
            _required("upn", upn),
            _required("attended", yes_no, "bool"),
            _optional("engaged", yes_no, "bool"),
        ),
        key=("service_code", "session_date", "upn"),
    ),
    Resource(
        "interactions",
        "interactions.csv",
        (
            _required("upn", upn),
            _required("occurred_on", iso_date, "date"),
            _optional("minutes", integer(0), "int"),
            _required("kind", choice(*InteractionKind.values)),
            _optional("topics", separated(text(100)), "json", blank="[]"),
        ),
        key=("upn", "occurred_on", "kind"),
    ),
    Resource(
        "school_attendance",
        "school_attendance.csv",
        (
            _required("upn", upn),
            _required("period_start", iso_date, "date"),
            _required("period_end", iso_date, "date"),
            _required("possible_sessions", integer(0), "int"),
            _required("present_sessions", integer(0), "int"),
        ),
        key=("upn", "period_start"),
    ),
    Resource(
        "attainment",
        "attainment.csv",
        (
            _required("upn", upn),
            _required("assessed_on", iso_date, "date"),
            _required("subject", choice(*Subject.values)),
            _required("value", decimal(), "decimal"),
            _required("expected", decimal(), "decimal"),
        ),
        key=("upn", "subject", "assessed_on"),
    ),
    Resource(
        "scores",
        "scores.csv",
        (
            _required("upn", upn),
            _required("administered_on", iso_date, "date"),
            _required("instrument", CODE),
            _required("scale", CODE),
            _required("respondent", choice(*Respondent.values)),
            _required("score", decimal(), "decimal"),
        ),
        key=("upn", "instrument", "scale", "administered_on", "respondent"),
    ),
    Resource(
        "responses",
        "responses.csv",
        (
            _required("upn", upn),
            _required("administered_on", iso_date, "date"),
            _required("instrument", CODE),
            _required("respondent", choice(*Respondent.values)),
            _required("item", CODE),
            _required("value", integer(-1000), "int"),
        ),
        key=("upn", "instrument", "item", "administered_on", "respondent"),
    ),
)

BY_FILENAME = {resource.filename: resource for resource in RESOURCES}
BY_NAME = {resource.name: resource for resource in RESOURCES}

# YAML documents: (kind, folder or None, file name pattern).
DOCUMENT_KINDS = ("instruments", "screening", "contracts")
