import csv

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from linkwork.accounts.models import Role
from linkwork.core.spreadsheets import safe_row
from linkwork.people.models import Cohort

from .queries import cohort_outcome_rows
from .report import cohort_report, published_rows, published_tables

# Aggregates only: no person-level data on this page, so funders may read it.
READERS = {Role.MANAGER, Role.ADMIN, Role.FUNDER}

CSV_COLUMNS = [
    ("area", "Area"),
    ("measure", "Measure"),
    ("with_baseline", "Children with a baseline"),
    ("at_risk", "At risk at baseline"),
    *(
        (f"{wave}_{name}", f"{label}: {title}")
        for wave, label in (("mid", "Mid-point"), ("end", "End point"))
        for name, title in (
            ("followed_up", "followed up"),
            ("crossed", "crossed the threshold"),
            ("improved_not_across", "improved, not across"),
            ("reliable", "reliable change"),
        )
    ),
]


class CohortForm(forms.Form):
    cohort = forms.ModelChoiceField(queryset=Cohort.objects.all(), empty_label=None)


@login_required
@require_GET
def report(request):
    """A cohort's outcomes per measure, small numbers suppressed; `?format=csv` downloads."""
    if request.user.role not in READERS:
        raise PermissionDenied("The outcomes report is for managers, funders and administrators.")
    form = CohortForm(request.GET or None)
    cohort = form.cleaned_data["cohort"] if form.is_valid() else Cohort.objects.last()
    if cohort is not None and not form.is_bound:
        form = CohortForm(initial={"cohort": cohort})
    minimum = settings.LINKWORK_SUPPRESS_BELOW
    counts, rules_version, children = (), None, 0
    if cohort is not None:
        rules_by_phase, child_rows, rules_version = cohort_outcome_rows(cohort)
        children = len(child_rows)
        counts = cohort_report(child_rows, rules_by_phase)
    if request.GET.get("format") == "csv" and cohort is not None:
        rows = published_rows(counts, minimum)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="outcomes-{cohort.code}.csv"'
        writer = csv.writer(response)
        writer.writerow([title for _, title in CSV_COLUMNS])
        for row in rows:
            writer.writerow(safe_row([row[key] for key, _ in CSV_COLUMNS]))
        return response
    return render(
        request,
        "outcomes/report.html",
        {
            "form": form,
            "cohort": cohort,
            "children": children,
            "tables": published_tables(counts, minimum),
            "minimum": minimum,
            "rules_version": rules_version,
        },
    )
