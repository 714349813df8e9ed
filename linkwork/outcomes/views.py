import csv

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from linkwork.accounts.models import Role
from linkwork.core.spreadsheets import safe_row
from linkwork.people.models import Cohort
from linkwork.schools.models import School

from .queries import cohort_outcome_rows
from .report import cohort_report, published_rows, published_tables

# Aggregates only: no person-level data on this page, so funders may read it (the whole
# cohort). School staff and Link Workers read it for their own schools' children: their
# pupils' progress summary; managers and administrators may narrow it to one school.
READERS = {Role.MANAGER, Role.ADMIN, Role.FUNDER, Role.SCHOOL_STAFF, Role.LINK_WORKER}
SCHOOL_SCOPED = {Role.SCHOOL_STAFF, Role.LINK_WORKER}

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
    school = forms.ModelChoiceField(queryset=School.objects.none(), required=False)

    def __init__(self, *args, schools, everyone: bool, **kwargs):
        """`schools` are the ones the reader may choose from; `everyone` adds "All schools"
        (the whole cohort). With neither, there is no school to choose."""
        super().__init__(*args, **kwargs)
        field = self.fields["school"]
        field.queryset = schools
        if everyone:
            field.empty_label = "All schools"
        else:
            field.required, field.empty_label = True, None


@login_required
@require_GET
def report(request):
    """A cohort's outcomes per measure, small numbers suppressed; `?format=csv` downloads
    the same cells."""
    user = request.user
    if user.role not in READERS:
        raise PermissionDenied("The outcomes report is not open to partner staff.")
    if user.role in SCHOOL_SCOPED:
        schools, everyone = user.schools.order_by("name"), False
        if not schools.exists():
            raise PermissionDenied("You have no school to report on.")
    elif user.role == Role.FUNDER:
        schools, everyone = School.objects.none(), True
    else:
        schools, everyone = School.objects.order_by("name"), True
    form = CohortForm(request.GET or None, schools=schools, everyone=everyone)
    if form.is_valid():
        cohort, school = form.cleaned_data["cohort"], form.cleaned_data["school"]
    else:
        cohort, school = Cohort.objects.last(), None if everyone else schools.first()
        form = CohortForm(
            initial={"cohort": cohort, "school": school}, schools=schools, everyone=everyone
        )
    if user.role == Role.FUNDER:
        del form.fields["school"]
    minimum = settings.LINKWORK_SUPPRESS_BELOW
    counts, rules_version, children = (), None, 0
    if cohort is not None:
        rules_by_phase, child_rows, rules_version = cohort_outcome_rows(cohort, school=school)
        children = len(child_rows)
        counts = cohort_report(child_rows, rules_by_phase, today=timezone.localdate())
    if request.GET.get("format") == "csv" and cohort is not None:
        rows = published_rows(counts, minimum)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        name = f"{cohort.code}-{school.urn}" if school else cohort.code
        response["Content-Disposition"] = f'attachment; filename="outcomes-{name}.csv"'
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
            "school": school,
            "children": children,
            "tables": published_tables(counts, minimum),
            "minimum": minimum,
            "rules_version": rules_version,
        },
    )
