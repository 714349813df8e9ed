import datetime as dt
import uuid
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from linkwork.accounts.models import Role, User
from linkwork.people.models import Pupil
from linkwork.people.queries import child_for
from linkwork.schools.models import School

from . import forms, services
from .models import Allocation, FollowUp, Goal, Partner, RegisterEntry, SupportPlan
from .queries import (
    ABSENT,
    caseload_enrolments,
    caseload_rows,
    child_support_context,
    places_used,
    prefill_needs,
    register_rows,
    register_services_for,
    service_for,
    services_for,
    session_dates,
    session_on,
    sessions_this_week,
)
from .registers import RegisterUploadInvalid, upload_registers
from .registers import register_sheet as sheet_for

STAFF = {Role.LINK_WORKER, Role.MANAGER, Role.ADMIN}
MANAGERS = {Role.MANAGER, Role.ADMIN}
REGISTER_TAKERS = {Role.PARTNER, Role.MANAGER, Role.ADMIN}


def roles(allowed):
    """Only these roles may open the page; others get a 404, as if it were not there."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.user.role not in allowed:
                raise Http404("Not a page for this role.")
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


def _staff_for(user):
    """Staff a follow-up can be given to: Link Workers of the user's schools, managers."""
    if user.sees_everyone:
        return User.objects.filter(role__in=[Role.LINK_WORKER, Role.MANAGER], is_active=True)
    return User.objects.filter(
        role=Role.LINK_WORKER, schools__in=user.schools.all(), is_active=True
    ).distinct()


def _follow_up_for(user, pk) -> FollowUp:
    visible = Pupil.objects.visible_to(user)
    return get_object_or_404(FollowUp.objects.select_related("pupil"), pk=pk, pupil__in=visible)


# --- the Link Worker's day ---------------------------------------------------------


@roles(STAFF)
@require_GET
def caseload(request):
    """The Link Worker's children, who needs attention first."""
    today = timezone.localdate()
    rows = caseload_rows(caseload_enrolments(request.user, today), today)
    return render(request, "support/caseload.html", {"rows": rows, "today": today})


@roles(STAFF)
@require_GET
def child_support(request, pk):
    pupil = child_for(request.user, pk)
    today = timezone.localdate()
    context = child_support_context(request.user, pupil, today)
    context["staff"] = list(_staff_for(request.user).order_by("name", "email"))
    context["allocate_form"] = forms.AllocateForm(
        services=services_for(request.user).filter(school=pupil.school)
    )
    return render(request, "support/child.html", context)


@roles(STAFF)
@require_http_methods(["GET", "POST"])
def interaction_new(request, pk):
    pupil = child_for(request.user, pk)
    # Back where the form was opened from: the child's support page, or the caseload.
    from_child = request.GET.get("back") == "child"
    back = redirect("support:child", pk=pupil.pk) if from_child else redirect("support:caseload")
    form = forms.InteractionForm(request.POST or None, initial={"token": uuid.uuid4().hex})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        sent = request.session.get(SENT_INTERACTIONS, [])
        if data["token"] and data["token"] in sent:
            messages.info(request, f"That interaction with {pupil.name} was already saved.")
            return back
        interaction = services.record_interaction(
            actor=request.user,
            pupil=pupil,
            occurred_on=data["occurred_on"],
            kind=data["kind"],
            minutes=data["minutes"],
            topics=data["topics"],
            note=data["note"],
        )
        if data["token"]:
            request.session[SENT_INTERACTIONS] = [*sent, data["token"]][-SENT_KEPT:]
        if getattr(interaction, "added_to", False):
            minutes = f", now {interaction.minutes} minutes" if interaction.minutes else ""
            messages.success(
                request,
                f"Added to the {interaction.get_kind_display().lower()} with {pupil.name} "
                f"already logged for {interaction.occurred_on:%-d %b}{minutes}.",
            )
        else:
            messages.success(request, f"Interaction with {pupil.name} logged.")
        return back
    return render(request, "support/interaction_form.html", {"pupil": pupil, "form": form})


# The tokens of the interaction forms this session has saved, the latest SENT_KEPT.
SENT_INTERACTIONS = "sent_interactions"
SENT_KEPT = 50


FOLLOW_UPS_PER_PAGE = 50


@roles(STAFF)
@require_GET
def follow_ups(request):
    today = timezone.localdate()
    visible = Pupil.objects.visible_to(request.user)
    open_items = (
        FollowUp.objects.filter(completed_at__isnull=True, pupil__in=visible)
        .select_related("pupil", "assigned_to")
        .order_by(F("due_on").asc(nulls_last=True), "opened_at")
    )
    if not request.user.sees_everyone:
        open_items = open_items.filter(assigned_to=request.user)
    page = Paginator(open_items, FOLLOW_UPS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "support/follow_ups.html", {"page": page, "today": today})


@roles(STAFF)
@require_http_methods(["GET", "POST"])
def follow_up_new(request, pk):
    pupil = child_for(request.user, pk)
    form = forms.FollowUpForm(request.POST or None, staff=_staff_for(request.user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.open_follow_up(
            actor=request.user,
            pupil=pupil,
            reason=data["reason"],
            due_on=data["due_on"],
            assigned_to=data["assigned_to"],
        )
        messages.success(request, "Follow-up opened.")
        return redirect("support:child", pk=pupil.pk)
    return render(request, "support/follow_up_form.html", {"pupil": pupil, "form": form})


@roles(STAFF)
@require_POST
def follow_up_complete(request, pk):
    follow_up = _follow_up_for(request.user, pk)
    form = forms.CompleteForm(request.POST)
    if form.is_valid():
        services.complete_follow_up(
            actor=request.user, follow_up=follow_up, outcome=form.cleaned_data["outcome"]
        )
        messages.success(request, f"Follow-up for {follow_up.pupil.name} completed.")
    else:
        messages.error(
            request,
            f"Say what came of the follow-up for {follow_up.pupil.name} "
            "(at most 2,000 characters); it is still open.",
        )
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = "support:follow_ups"
    return redirect(back)


@roles(STAFF)
@require_POST
def follow_up_assign(request, pk):
    follow_up = _follow_up_for(request.user, pk)
    form = forms.AssignForm(request.POST, staff=_staff_for(request.user))
    if form.is_valid():
        services.assign_follow_up(
            actor=request.user, follow_up=follow_up, assigned_to=form.cleaned_data["assigned_to"]
        )
        messages.success(request, f"Follow-up given to {form.cleaned_data['assigned_to']}.")
    else:
        messages.error(request, "Choose someone to give the follow-up to.")
    return redirect("support:child", pk=follow_up.pupil_id)


# --- support plans -------------------------------------------------------------------


@roles(STAFF)
@require_http_methods(["GET", "POST"])
def plan_edit(request, pk):
    pupil = child_for(request.user, pk)
    plan = SupportPlan.objects.filter(pupil=pupil).first()
    initial = forms.PlanForm.initial_from(plan, {} if plan else prefill_needs(pupil))
    form = forms.PlanForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.save_support_plan(actor=request.user, pupil=pupil, **form.plan_fields())
        messages.success(request, "Support plan saved.")
        return redirect("support:child", pk=pupil.pk)
    return render(
        request,
        "support/plan_form.html",
        {"pupil": pupil, "plan": plan, "form": form, "prefilled": plan is None},
    )


@roles(STAFF)
@require_GET
def plan_history(request, pk):
    pupil = child_for(request.user, pk)
    plan = get_object_or_404(SupportPlan, pupil=pupil)
    versions = plan.versions.select_related("saved_by").order_by("-number")
    reviews = plan.reviews.select_related("recorded_by")
    return render(
        request,
        "support/plan_history.html",
        {"pupil": pupil, "plan": plan, "versions": versions, "reviews": reviews},
    )


@roles(STAFF)
@require_POST
def goal_add(request, pk):
    pupil = child_for(request.user, pk)
    plan = get_object_or_404(SupportPlan, pupil=pupil)
    form = forms.GoalForm(request.POST)
    if form.is_valid():
        services.add_goal(actor=request.user, plan=plan, **form.cleaned_data)
        messages.success(request, "Goal added.")
    else:
        messages.error(request, "A goal needs an area and the child's words.")
    return redirect("support:child", pk=pupil.pk)


@roles(STAFF)
@require_POST
def goal_update(request, pk):
    visible = Pupil.objects.visible_to(request.user)
    goal = get_object_or_404(Goal.objects.select_related("plan"), pk=pk, plan__pupil__in=visible)
    form = forms.GoalUpdateForm(request.POST)
    if form.is_valid():
        text, target = form.cleaned_data["text"].strip(), form.cleaned_data["target_date"]
        if text and (text != goal.text or target != goal.target_date):
            services.reword_goal(actor=request.user, goal=goal, text=text, target_date=target)
        if form.cleaned_data["status"] != goal.status:
            services.set_goal_status(
                actor=request.user, goal=goal, status=form.cleaned_data["status"]
            )
        if form.cleaned_data["note"].strip():
            services.add_goal_note(
                actor=request.user,
                goal=goal,
                written_on=timezone.localdate(),
                text=form.cleaned_data["note"],
            )
        messages.success(request, "Goal updated.")
    return redirect("support:child", pk=goal.plan.pupil_id)


@roles(STAFF)
@require_http_methods(["GET", "POST"])
def review_record(request, pk):
    pupil = child_for(request.user, pk)
    plan = get_object_or_404(SupportPlan, pupil=pupil)
    form = forms.ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.record_review(actor=request.user, plan=plan, **form.cleaned_data)
        messages.success(request, "Review recorded.")
        return redirect("support:child", pk=pupil.pk)
    return render(request, "support/review_form.html", {"pupil": pupil, "plan": plan, "form": form})


# --- partners, services, allocations -----------------------------------------------


@roles(STAFF | {Role.PARTNER})
@require_GET
def catalogue(request):
    today = timezone.localdate()
    rows = list(services_for(request.user).order_by("partner__name", "school__name", "weekday"))
    used = places_used(rows, today)
    items = [
        {
            "service": s,
            "used": used.get(s.pk, 0),
            "full": s.capacity is not None and used.get(s.pk, 0) >= s.capacity,
            "over": max(0, used.get(s.pk, 0) - s.capacity) if s.capacity is not None else 0,
        }
        for s in rows
    ]
    may_change = request.user.role in REGISTER_TAKERS
    return render(
        request,
        "support/catalogue.html",
        {
            "items": items,
            "today": today,
            "may_change": may_change,
            "manages": request.user.role in MANAGERS,
        },
    )


@roles(STAFF)
@require_POST
def allocate(request, pk):
    pupil = child_for(request.user, pk)
    form = forms.AllocateForm(
        request.POST, services=services_for(request.user).filter(school=pupil.school)
    )
    if form.is_valid():
        try:
            services.allocate_child(actor=request.user, pupil=pupil, **form.cleaned_data)
        except services.Refused as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, f"Allocated to {form.cleaned_data['service'].name}.")
    else:
        messages.error(request, f"Not allocated. {_problems(form)}")
    return redirect("support:child", pk=pupil.pk)


def _problems(form) -> str:
    """A bound form's problems as one sentence per field, for a message."""
    return " ".join(
        f"{form.fields[name].label if name in form.fields else ''}: {' '.join(errors)}".lstrip(": ")
        for name, errors in form.errors.items()
    )


@roles(STAFF)
@require_POST
def allocation_end(request, pk):
    visible = Pupil.objects.visible_to(request.user)
    allocation = get_object_or_404(
        Allocation.objects.select_related("service", "pupil"), pk=pk, pupil__in=visible
    )
    form = forms.EndAllocationForm(request.POST)
    if form.is_valid():
        try:
            services.end_allocation(
                actor=request.user, allocation=allocation, end_date=form.cleaned_data["end_date"]
            )
        except services.Refused as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, "Allocation ended.")
    else:
        messages.error(request, f"The allocation was not ended. {_problems(form)}")
    return redirect("support:child", pk=allocation.pupil_id)


@roles(STAFF)
@require_POST
def allocation_cancel(request, pk):
    visible = Pupil.objects.visible_to(request.user)
    allocation = get_object_or_404(
        Allocation.objects.select_related("service", "pupil"), pk=pk, pupil__in=visible
    )
    try:
        services.cancel_allocation(
            actor=request.user, allocation=allocation, today=timezone.localdate()
        )
    except services.Refused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"Allocation to {allocation.service.name} cancelled.")
    return redirect("support:child", pk=allocation.pupil_id)


# --- the partner's register ----------------------------------------------------------


@roles(REGISTER_TAKERS)
@require_GET
def sessions(request):
    """The week's sessions from each service's weekday, and a form to open the register
    of any service on any day up to today (a service with no regular day, a session
    moved): with `service` and `date` in the query it goes to that register."""
    today = timezone.localdate()
    days = sessions_this_week(request.user, today)
    choices = register_services_for(request.user).select_related("school").order_by("name")
    form = forms.OpenRegisterForm(
        request.GET if "service" in request.GET else None, services=choices
    )
    if form.is_valid():
        service, day = form.cleaned_data["service"], form.cleaned_data["date"]
        return redirect("support:register", service.pk, day.isoformat())
    return render(
        request,
        "support/sessions.html",
        {"days": days, "today": today, "form": form if choices.exists() else None},
    )


SHEET_DEFAULT_WEEKS = 6  # the days a sheet of several sessions offers first


def _register_context(service, on, today):
    session = session_on(service, on)
    return {
        "service": service,
        "date": on,
        "rows": register_rows(service, on),
        "session": session,
        "cancelled": bool(session and session.cancelled),
        "future": on > today,
        # A register not yet taken on a day the service does not meet is usually the wrong
        # day chosen (one already taken is not questioned: its day may have changed since).
        "off_day": service.weekday is not None
        and on.weekday() != service.weekday
        and not RegisterEntry.objects.filter(service=service, session_date=on).exists(),
        "cancel_form": forms.CancelSessionForm(),
        "sheet_form": forms.SheetRangeForm(
            initial={"start": on, "end": on + dt.timedelta(days=7 * SHEET_DEFAULT_WEEKS - 1)}
        ),
        "sheet_weeks": forms.SHEET_WEEKS,
    }


def _nobody_marked(marks) -> bool:
    """A whole register saved with every child absent and none of them marked before:
    the page asks before saving it (a register taken on the wrong day would flag every
    child on it)."""
    return bool(marks) and all(m.state == ABSENT and not m.seen for m in marks)


@roles(REGISTER_TAKERS)
@require_http_methods(["GET", "POST"])
def register(request, service_pk, date):
    """Take a session's register: a tap saves one child's next mark; submitting saves all.

    With htmx a tap swaps just that child's row; without it the form posts and the
    page comes back.
    """
    service = service_for(request.user, service_pk, register=True)
    on = _date_or_404(date)
    today = timezone.localdate()
    if request.method == "POST":
        try:
            marks, pupil_id = forms.register_marks(request.POST)
            if pupil_id is None and _nobody_marked(marks) and "all_absent" not in request.POST:
                context = _register_context(service, on, today)
                return render(request, "support/register.html", context | {"confirm": True})
            result = services.record_register(
                actor=request.user, service=service, session_date=on, marks=marks
            )
        except (services.Refused, ValueError) as refused:
            messages.error(request, str(refused))
            if request.htmx:
                # The register changed under the page (e.g. an allocation ended): reload it.
                return HttpResponse(status=204, headers={"HX-Refresh": "true"})
            return redirect("support:register", service_pk=service.pk, date=on.isoformat())
        if request.htmx and pupil_id is not None:
            row = next(r for r in register_rows(service, on) if r.pupil.pk == pupil_id)
            # The row (its button keeps its id, so focus stays on it) and, out of band, the
            # status line a screen reader announces.
            context = {"row": row, "service": service, "date": on}
            return HttpResponse(
                render_to_string("support/register.html#row", context, request)
                + render_to_string("support/register.html#status", context, request)
            )
        if pupil_id is None:
            note = f" {result.kept} marks a colleague made were kept." if result.kept else ""
            messages.success(request, f"Register saved.{note}")
        return redirect("support:register", service_pk=service.pk, date=on.isoformat())
    return render(request, "support/register.html", _register_context(service, on, today))


@roles(REGISTER_TAKERS)
@require_GET
def register_sheet(request, service_pk, date):
    """A session's register as an XLSX sheet, to mark offline and upload afterwards."""
    service = service_for(request.user, service_pk, register=True)
    on = _date_or_404(date)
    return _sheet(sheet_for(service, [on]), f"register-{service.code}-{on.isoformat()}.xlsx")


@roles(REGISTER_TAKERS)
@require_GET
def register_sheets(request, service_pk):
    """The registers of a service's sessions over several weeks (`start` to `end`) as one
    XLSX sheet: a term's sessions marked on paper or offline, uploaded afterwards."""
    service = service_for(request.user, service_pk, register=True)
    form = forms.SheetRangeForm(request.GET)
    if form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        days = session_dates(service, start, end)
        if days:
            name = f"registers-{service.code}-{start}-to-{end}.xlsx"
            return _sheet(sheet_for(service, days), name)
        form.add_error(
            None,
            f"{service.name} has no sessions from {start:%-d %b %Y} to {end:%-d %b %Y}"
            + ("" if service.weekday is not None else ": it has no regular day")
            + ".",
        )
    # The register page the form is on, with the form as it was sent and what is wrong.
    today = timezone.localdate()
    on = form.cleaned_data.get("start") or today
    context = _register_context(service, on, today)
    context["sheet_form"] = form
    return render(request, "support/register.html", context, status=400)


def _sheet(body: bytes, name: str) -> HttpResponse:
    """An XLSX workbook to download as `name`."""
    response = HttpResponse(
        body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@roles(REGISTER_TAKERS)
@require_POST
def register_cancel(request, service_pk, date):
    service = service_for(request.user, service_pk, register=True)
    on = _date_or_404(date)
    form = forms.CancelSessionForm(request.POST)
    if form.is_valid():
        services.cancel_session(
            actor=request.user, service=service, session_date=on, reason=form.cleaned_data["reason"]
        )
        messages.success(request, "Session recorded as cancelled.")
    else:
        messages.error(request, "Say why the session was cancelled.")
    return redirect("support:register", service_pk=service.pk, date=on.isoformat())


@roles(REGISTER_TAKERS)
@require_http_methods(["GET", "POST"])
def service_edit(request, pk):
    """When one of the user's services meets and its places (partner staff: their own);
    a manager also changes its name and outcome areas."""
    service = service_for(request.user, pk, register=True)
    initial = {
        "name": service.name,
        "outcome_areas": service.outcome_areas,
        "weekday": service.weekday,
        "starts_at": service.starts_at,
        "capacity": service.capacity,
    }
    manages = request.user.role in MANAGERS
    form_class = forms.ServiceDetailsForm if manages else forms.ServiceScheduleForm
    form = form_class(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.change_service(actor=request.user, service=service, **form.cleaned_data)
        except services.Refused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, f"{form.cleaned_data.get('name', service.name)} saved.")
            return redirect("support:catalogue")
    used = places_used([service], timezone.localdate()).get(service.pk, 0)
    return render(
        request, "support/service_form.html", {"form": form, "service": service, "used": used}
    )


@roles(MANAGERS)
@require_http_methods(["GET", "POST"])
def partner_new(request):
    """A new delivery partner (its staff's logins are made in the administration)."""
    form = forms.PartnerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            partner = services.add_partner(actor=request.user, **form.cleaned_data)
        except services.Refused as refused:
            form.add_error("code", str(refused))
        else:
            messages.success(request, f"{partner.name} added. Now add its services.")
            return redirect(f"{reverse('support:service_new')}?partner={partner.pk}")
    return render(request, "support/partner_form.html", {"form": form})


@roles(MANAGERS)
@require_http_methods(["GET", "POST"])
def service_new(request):
    """A new service: a partner's regular session in one school."""
    form = forms.NewServiceForm(
        request.POST or None,
        initial={"partner": request.GET.get("partner")},
        partners=Partner.objects.order_by("name"),
        schools=School.objects.order_by("name"),
    )
    if request.method == "POST" and form.is_valid():
        try:
            service = services.add_service(actor=request.user, **form.cleaned_data)
        except services.Refused as refused:
            form.add_error("code", str(refused))
        else:
            messages.success(request, f"{service.name} added.")
            return redirect("support:catalogue")
    return render(request, "support/service_new.html", {"form": form})


@roles(REGISTER_TAKERS)
@require_http_methods(["GET", "POST"])
def register_upload(request):
    form = forms.RegisterUploadForm(request.POST or None, request.FILES or None)
    errors = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = upload_registers(
                actor=request.user,
                name=upload.name,
                content=upload.read(),
                today=timezone.localdate(),
            )
        except RegisterUploadInvalid as invalid:
            errors = invalid.errors
        else:
            messages.success(request, f"Registers uploaded: {result}.")
            return redirect("support:sessions")
    return render(request, "support/register_upload.html", {"form": form, "errors": errors})


def _date_or_404(text) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise Http404("Not a date.") from None
