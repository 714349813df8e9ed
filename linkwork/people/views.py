from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods

from linkwork.accounts.models import Role
from linkwork.accounts.navigation import child_links_for
from linkwork.audit.services import record_view
from linkwork.contracts.queries import evidence_past_keeping

from .erasure import evidence_years, plan_erasure
from .models import Erasure
from .queries import (
    Status,
    child_for,
    child_profile,
    child_rows,
    filter_choices,
    search_children,
    sees_children,
    sees_details,
)
from .retention import Schedule, due_sample, expired_uploads
from .services import erase_child, export_subject_access
from .subject_access import sections_for
from .tasks import apply_retention_task

PAGE_SIZE = 25


def _only_the_dpo(user) -> None:
    if user.role != Role.ADMIN:
        raise PermissionDenied("Only the data protection officer opens this page.")


class ChildSearchForm(forms.Form):
    """The child list's search and filters; every field optional."""

    q = forms.CharField(
        label="Name or UPN",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    school = forms.TypedChoiceField(label="School", required=False, coerce=int, empty_value=None)
    cohort = forms.TypedChoiceField(label="Cohort", required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *Status.CHOICES]
    )

    def __init__(self, *args, schools, cohorts, details=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school"].choices = [("", "All schools")] + [(s.pk, s.name) for s in schools]
        if details:
            self.fields["cohort"].choices = [("", "All cohorts")] + [
                (c.pk, str(c)) for c in cohorts
            ]
        else:
            # Partner staff search by name and school only.
            self.fields["q"].label = "Name"
            del self.fields["cohort"]
            del self.fields["status"]


@login_required
@require_GET
def child_list(request):
    """Children the user may see, searchable; htmx asks for the results partial only."""
    if not sees_children(request.user):
        raise Http404("Funders see no person-level pages.")
    today = timezone.localdate()
    details = sees_details(request.user)
    schools, cohorts = filter_choices(request.user)
    form = ChildSearchForm(request.GET, schools=schools, cohorts=cohorts, details=details)
    form.is_valid()  # an invalid filter is dropped (and shown); the others still apply
    filters = form.cleaned_data
    pupils = search_children(
        request.user,
        today=today,
        q=filters.get("q", ""),
        school=filters.get("school"),
        cohort=filters.get("cohort"),
        status=filters.get("status", ""),
    )
    page = Paginator(pupils, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": child_rows(page.object_list, today) if details else None,
        "details": details,
        "query": query.urlencode(),
    }
    template = "people/child_list.html"
    if request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request:
        template += "#results"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))  # the full page and the partial differ
    return response


@login_required
@require_GET
def child_detail(request, pk):
    """One child's record, as much of it as the user's role may see; every view audited."""
    pupil = child_for(request.user, pk)
    record_view(actor=request.user, pupil=pupil)
    profile = child_profile(request.user, pupil, today=timezone.localdate())
    return render(
        request,
        "people/child_detail.html",
        {
            "pupil": pupil,
            "details": sees_details(request.user),
            "child_links": child_links_for(request.user, pupil.pk),
            **profile,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def subject_access(request, pk):
    """The DPO's subject access export: what it covers (GET), the ZIP itself (POST)."""
    _only_the_dpo(request.user)
    pupil = child_for(request.user, pk)
    if request.method == "POST":
        archive = export_subject_access(actor=request.user, pupil=pupil)
        response = HttpResponse(archive, content_type="application/zip")
        filename = f"subject-access-{pupil.upn}-{timezone.localdate():%Y%m%d}.zip"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    sections = [(section.title, section.queryset.count()) for section in sections_for(pupil)]
    return render(request, "people/subject_access.html", {"pupil": pupil, "sections": sections})


class ErasureForm(forms.Form):
    reference = forms.CharField(
        label="Request reference",
        max_length=100,
        help_text="The erasure request's reference, kept with the record of the erasure. "
        "Not the child's name.",
    )
    confirm_upn = forms.CharField(
        label="The child's UPN, typed to confirm",
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, upn: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.upn = upn

    def clean_confirm_upn(self):
        typed = self.cleaned_data["confirm_upn"].strip().upper()
        if typed != self.upn:
            raise forms.ValidationError("This is not the child's UPN.")
        return typed


@login_required
@require_http_methods(["GET", "POST"])
def erase(request, pk):
    """The DPO's erasure of one child: what goes and what is kept (GET), then erasing
    (POST, with the request's reference and the UPN typed again)."""
    _only_the_dpo(request.user)
    pupil = child_for(request.user, pk)
    form = ErasureForm(request.POST or None, upn=pupil.upn)
    if request.method == "POST" and form.is_valid():
        erasure = erase_child(
            actor=request.user, pupil=pupil, reference=form.cleaned_data["reference"]
        )
        messages.success(
            request,
            f"Erased {sum(erasure.rows.values())} rows about the child with UPN {erasure.upn} "
            f"(reference {erasure.reference}).",
        )
        return redirect("people:erasures")
    plan = plan_erasure(pupil)
    return render(request, "people/erase.html", {"pupil": pupil, "plan": plan, "form": form})


DUE_SHOWN = 50


@login_required
@require_http_methods(["GET", "POST"])
def erasures(request):
    """The register of erasures, newest first, and who the retention schedule makes due
    (GET); applying the schedule in the background (POST)."""
    _only_the_dpo(request.user)
    today = timezone.localdate()
    if request.method == "POST":
        apply_retention_task.enqueue(today.isoformat())
        messages.success(
            request,
            "The retention schedule is being applied in the background; each child erased "
            "appears in the register below.",
        )
        return redirect("people:erasures")
    page = Paginator(Erasure.objects.all(), PAGE_SIZE).get_page(request.GET.get("page"))
    due_count, due = due_sample(today, DUE_SHOWN)
    return render(
        request,
        "people/erasures.html",
        {
            "page": page,
            "schedule": Schedule.from_settings(),
            "due": due,
            "due_count": due_count,
            "uploads_due": expired_uploads(today).count(),
            "contracts_due": evidence_past_keeping(today),
            "evidence_years": evidence_years(),
        },
    )
