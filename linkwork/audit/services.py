"""Writing the audit trail. Every service that writes calls `record` once."""

from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from .models import AuditEntry


def _plain(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def changes_between(before: dict | None, after: dict | None) -> dict:
    """The fields that differ between two snapshots, as {field: [old, new]}."""
    before = before or {}
    after = after or {}
    return {
        key: [_plain(before.get(key)), _plain(after.get(key))]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def record(*, actor, action: str, obj=None, pupil=None, summary: str = "", changes=None):
    """Append one audit entry: who (`actor`, None for the system), did what, to what."""
    entry = _entry(
        actor=actor, action=action, obj=obj, pupil=pupil, summary=summary, changes=changes
    )
    entry.save()
    return entry


def record_each(*, actor, entries) -> None:
    """Append many audit entries in one statement (a load that changes many children):
    `entries` are dicts of `record`'s other arguments."""
    AuditEntry.objects.bulk_create(
        [_entry(actor=actor, **entry) for entry in entries], batch_size=1000
    )


def _entry(*, actor, action: str, obj=None, pupil=None, summary: str = "", changes=None):
    label = "system"
    if actor is not None:
        label = getattr(actor, "email", "") or str(actor)
    return AuditEntry(
        at=timezone.now(),
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        actor_label=label,
        action=action,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        pupil=pupil,
        summary=summary[:300],
        changes={k: _plain(v) for k, v in (changes or {}).items()},
    )


def record_view(*, actor, pupil, what: str = "profile"):
    """Record that `actor` looked at a child's record."""
    return record(actor=actor, action="child.viewed", pupil=pupil, obj=pupil, summary=what)
