from django.db.models import Q

from .models import AuditEntry


def history_for_pupil(pupil, limit: int = 50):
    """The latest audit entries about one child, newest first."""
    return AuditEntry.objects.filter(pupil=pupil).select_related("actor")[:limit]


def search_entries(*, q: str = "", action: str = "", pupil_id: int | None = None):
    """Audit entries matching who/what text, an action and a child, newest first."""
    entries = AuditEntry.objects.all()
    for word in q.split():
        entries = entries.filter(
            Q(actor_label__icontains=word) | Q(summary__icontains=word) | Q(object_id=word)
        )
    if action:
        entries = entries.filter(action=action)
    if pupil_id:
        entries = entries.filter(pupil_id=pupil_id)
    return entries
