from .models import AuditEntry


def history_for_pupil(pupil, limit: int = 50):
    """The latest audit entries about one child, newest first."""
    return AuditEntry.objects.filter(pupil=pupil).select_related("actor")[:limit]
