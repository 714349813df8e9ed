"""Background work for engagement: thin tasks that call services."""

import datetime as dt

from django_tasks import task

from .services import refresh_all_flags, send_daily_digests


@task()
def send_daily_digests_task(on: str | None = None) -> int:
    """Send the daily digests (for the given ISO date, else today); returns how many."""
    today = dt.date.fromisoformat(on) if on else None
    return send_daily_digests(actor=None, today=today).sent


@task()
def refresh_all_flags_task() -> dict:
    """Bring every enrolled child's flags up to date (after a package load, say)."""
    changes = refresh_all_flags(actor=None)
    return {
        "raised": len(changes.raised),
        "cleared": len(changes.cleared),
        "updated": len(changes.updated),
    }
