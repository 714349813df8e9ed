"""Everything Linkwork holds about one child, for a subject access request.

The rows are found by following every relation that leads back to the pupil — the
school data, consents, enrolments, screening, support, registers, scores, flags — so a
table added later is included without a change here; claim lines and claimed
achievements (kept by UPN) and the child's audit trail (who did and looked at what) are
added by name, a draft claim's lines with their register rows listed as its page lists
them. Each table becomes one CSV file, cells made safe for spreadsheets.
"""

import csv
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.apps import apps
from django.db import models
from django.db.models import F

from linkwork.core.spreadsheets import safe_row

from .models import Pupil


@dataclass(frozen=True)
class Section:
    """One table's rows about the child."""

    label: str  # app_label.ModelName
    title: str
    queryset: models.QuerySet
    # Fills in, in memory, what some rows hold only once read (a draft claim line's
    # register rows): given the section's rows whole, before they are written.
    fill: Callable[[list], object] | None = None

    @property
    def filename(self) -> str:
        return f"{self.label}.csv"


def pupil_paths() -> list[tuple[type[models.Model], str]]:
    """Every model that leads back to the pupil by keys, with the lookup from its rows to
    the pupil's id (e.g. `administration__pupil` for a score): reverse relations followed
    outward from the pupil, breadth first, each model once, by the first path found."""
    paths = []
    seen = {Pupil}
    frontier: list[tuple[type[models.Model], str]] = [(Pupil, "")]
    while frontier:
        model, path = frontier.pop(0)
        for relation in model._meta.related_objects:
            related = relation.related_model
            if related in seen or related._meta.app_label == "audit":
                continue
            seen.add(related)
            lookup = f"{relation.field.name}__{path}" if path else relation.field.name
            paths.append((related, lookup))
            frontier.append((related, lookup))
    return paths


def _related_sections(pupil: Pupil) -> list[Section]:
    return [
        _section(model, model._default_manager.filter(**{lookup: pupil.pk}))
        for model, lookup in pupil_paths()
    ]


def title_of(model) -> str:
    return str(model._meta.verbose_name_plural).capitalize()


def _section(model, queryset, fill=None) -> Section:
    return Section(
        label=model._meta.label,
        title=title_of(model),
        queryset=queryset.order_by("pk"),
        fill=fill,
    )


def keyed_sections(pupil: Pupil) -> list[Section]:
    """The pupil's own row and every table that leads back to it by a key: what goes
    with the pupil's row when it is deleted."""
    return [_section(Pupil, Pupil.objects.filter(pk=pupil.pk)), *_related_sections(pupil)]


def sections_for(pupil: Pupil) -> list[Section]:
    """Every table holding data about `pupil`, the pupil's own row first: the keyed
    ones, then those that name the child by UPN or id without a key."""
    claim_line = apps.get_model("contracts", "ClaimLine")
    claimed = apps.get_model("contracts", "ClaimedAchievement")
    audit_entry = apps.get_model("audit", "AuditEntry")
    lines = claim_line.objects.filter(upn=pupil.upn).annotate(claim_status=F("claim__status"))
    return [
        *keyed_sections(pupil),
        _section(claim_line, lines, fill=_list_draft_registers),
        _section(claimed, claimed.objects.filter(upn=pupil.upn)),
        _section(audit_entry, audit_entry.objects.filter(pupil=pupil)),
    ]


def _list_draft_registers(lines) -> None:
    """A draft claim's lines list their register rows as its page does (or say they
    changed); a submitted claim's lines hold them already."""
    from linkwork.contracts.models import ClaimStatus
    from linkwork.contracts.queries import list_draft_registers

    list_draft_registers([line for line in lines if line.claim_status == ClaimStatus.DRAFT])


def _plain(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | int):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def write_csv(section: Section, out) -> int:
    """Write one section as CSV (a header of column names, then its rows); rows written."""
    names = [f.attname for f in section.queryset.model._meta.concrete_fields]
    writer = csv.writer(out)
    writer.writerow(names)
    if section.fill is None:
        rows = section.queryset.values_list(*names).iterator(2000)
    else:
        whole = list(section.queryset)
        section.fill(whole)
        rows = ([getattr(row, name) for name in names] for row in whole)
    count = 0
    for row in rows:
        writer.writerow(safe_row([_plain(v) for v in row]))
        count += 1
    return count


def build_archive(pupil: Pupil, *, generated_at: datetime, generated_by: str) -> tuple[bytes, dict]:
    """A ZIP of one CSV per section and a summary; returns it with the row counts."""
    counts = {}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for section in sections_for(pupil):
            text = io.StringIO()
            counts[section.label] = write_csv(section, text)
            archive.writestr(section.filename, text.getvalue())
        summary = [
            f"Subject access export for the pupil with UPN {pupil.upn}",
            f"Generated {generated_at.isoformat(timespec='seconds')} by {generated_by}",
            "",
            "One CSV file per table; each lists every row held about this child.",
            "Review before sending: the audit trail names the staff who acted.",
            "",
            *(f"{label}: {count} row(s)" for label, count in counts.items()),
        ]
        archive.writestr("README.txt", "\n".join(summary) + "\n")
    return buffer.getvalue(), counts
