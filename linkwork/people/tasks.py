"""Background work for people: thin tasks that call services."""

import datetime as dt

from django_tasks import task

from .services import apply_retention


@task()
def apply_retention_task(on: str) -> int:
    """Apply the retention schedule as on `on` (ISO date); returns the children erased."""
    return len(apply_retention(actor=None, today=dt.date.fromisoformat(on)).erased)
