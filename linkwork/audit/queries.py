import datetime as dt

from django.db.models import Q
from django.utils import timezone

from .models import AuditEntry


def history_for_pupil(pupil, limit: int = 50):
    """The latest audit entries about one child, newest first."""
    return AuditEntry.objects.filter(pupil=pupil).select_related("actor")[:limit]


def search_entries(
    *, q: str = "", action: str = "", pupil_id: int | None = None, since=None, until=None
):
    """Audit entries matching who/what text, an action, a child and a range of days (local
    time, both ends included), newest first."""
    entries = AuditEntry.objects.all()
    if since:
        entries = entries.filter(at__gte=_start_of(since))
    if until:
        entries = entries.filter(at__lt=_start_of(until + dt.timedelta(days=1)))
    for word in q.split():
        entries = entries.filter(
            Q(actor_label__icontains=word) | Q(summary__icontains=word) | Q(object_id=word)
        )
    if action:
        entries = entries.filter(action=action)
    if pupil_id:
        entries = entries.filter(pupil_id=pupil_id)
    return entries


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
