import csv
import json

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from linkwork.accounts.models import Role
from linkwork.core.spreadsheets import safe_row

from .queries import search_entries
from .services import record

PAGE_SIZE = 50


DAY = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
CSV_COLUMNS = ["When", "Who", "Action", "Object type", "Object", "Child record", "Summary",
               "Changes", "Cleared on"]  # fmt: skip


class AuditSearchForm(forms.Form):
    q = forms.CharField(label="Who or what", required=False, max_length=100)
    action = forms.CharField(label="Action", required=False, max_length=60)
    pupil = forms.IntegerField(label="Child record number", required=False, min_value=1)
    since = forms.DateField(label="From", required=False, widget=DAY)
    until = forms.DateField(label="To", required=False, widget=DAY)


@login_required
@require_GET
def entry_list(request):
    """The audit trail for the administrator (data protection officer), newest first."""
    if request.user.role != Role.ADMIN:
        raise PermissionDenied("Only administrators read the whole audit trail.")
    form = AuditSearchForm(request.GET)
    form.is_valid()  # an invalid filter is dropped (and shown); the others still apply
    filters = form.cleaned_data
    entries = search_entries(
        q=filters.get("q", ""),
        action=filters.get("action", ""),
        pupil_id=filters.get("pupil"),
        since=filters.get("since"),
        until=filters.get("until"),
    )
    if request.GET.get("format") == "csv":
        return _download(request, entries, filters)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "audit/entry_list.html", {"form": form, "page": page, "query": query.urlencode()}
    )


def _download(request, entries, filters) -> StreamingHttpResponse:
    """The entries found, oldest first, as CSV streamed a batch at a time; the download is
    itself audited, with the search it took."""
    shown = {key: str(value) for key, value in filters.items() if value not in ("", None)}
    record(
        actor=request.user,
        action="audit.exported",
        summary="Audit trail downloaded as CSV",
        changes={"search": shown},
    )
    rows = entries.order_by("at", "id").values_list(
        "at", "actor_label", "action", "object_type", "object_id", "pupil_id", "summary",
        "changes", "redacted_at",
    )  # fmt: skip
    buffer = _Echo()
    writer = csv.writer(buffer)

    def lines():
        yield writer.writerow(CSV_COLUMNS)
        for at, *middle, changes, redacted_at in rows.iterator(chunk_size=2000):
            yield writer.writerow(
                safe_row(
                    [
                        timezone.localtime(at).isoformat(timespec="seconds"),
                        *("" if value is None else value for value in middle),
                        json.dumps(changes, sort_keys=True) if changes else "",
                        timezone.localtime(redacted_at).date().isoformat() if redacted_at else "",
                    ]
                )
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit-trail.csv"'
    return response


class _Echo:
    """A file-like object whose write returns what it is given: csv.writer's rows as text."""

    def write(self, value):
        return value
