from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from linkwork.accounts.models import Role

from .queries import search_entries

PAGE_SIZE = 50


class AuditSearchForm(forms.Form):
    q = forms.CharField(label="Who or what", required=False, max_length=100)
    action = forms.CharField(label="Action", required=False, max_length=60)
    pupil = forms.IntegerField(label="Child record number", required=False, min_value=1)


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
        q=filters.get("q", ""), action=filters.get("action", ""), pupil_id=filters.get("pupil")
    )
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "audit/entry_list.html", {"form": form, "page": page, "query": query.urlencode()}
    )
