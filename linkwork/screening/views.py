from functools import wraps
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from linkwork.accounts.models import Role
from linkwork.core.documents import DocumentError
from linkwork.people.forms import ConsentForm, EnrolmentForm
from linkwork.people.models import Consent, Pupil
from linkwork.people.queries import child_for
from linkwork.people.services import enrol_child, record_consent, withdraw_consent

from .documents import parse_screening_rules
from .explanations import excluded_in_words
from .forms import (
    BACKDATED,
    DeleteRoundForm,
    ReviewForm,
    RulesForm,
    RunForm,
    ShortlistFilterForm,
    UploadForm,
    WithdrawalForm,
)
from .models import Decision, Upload
from .queries import (
    at_or_after,
    excluded_from,
    latest_rules,
    may_review,
    open_enrolments,
    others_for,
    place_on_shortlist,
    round_for,
    rounds_visible_to,
    shortlist_counts,
    shortlist_for,
    shortlist_rows,
)
from .services import (
    delete_screening_round,
    receive_upload,
    review_shortlist,
    run_screening,
    start_upload_load,
    store_screening_rules,
)
from .uploads import UploadError, preview

SCREENING_ROLES = {Role.MANAGER, Role.ADMIN, Role.LINK_WORKER, Role.SCHOOL_STAFF}
REVIEW_ROLES = {Role.MANAGER, Role.LINK_WORKER, Role.SCHOOL_STAFF}
CONSENT_ROLES = {Role.MANAGER, Role.ADMIN, Role.LINK_WORKER}
ENROL_ROLES = {Role.MANAGER, Role.LINK_WORKER}
# Each page of a shortlist carries a decision form per child: a phone loads it quickly.
SHORTLIST_PAGE_SIZE = 25
DECIDED = {
    Decision.ACCEPT: "accepted",
    Decision.DECLINE: "declined",
    Decision.ADD: "added to the shortlist",
}


def role_required(roles):
    """403 unless the signed-in user has one of `roles` (checked before the method)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.user.role not in roles:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


@role_required(SCREENING_ROLES)
@require_GET
def round_list(request):
    rounds = rounds_visible_to(request.user).select_related("school", "rules")[:100]
    run_form = RunForm() if request.user.role == Role.MANAGER else None
    return render(
        request,
        "screening/round_list.html",
        {
            "rounds": rounds,
            "run_form": run_form,
            "rules": latest_rules(),
        },
    )


@role_required({Role.MANAGER})
@require_POST
def run(request):
    form = RunForm(request.POST)
    already = None
    if form.is_valid():
        school, on = form.cleaned_data["school"], form.cleaned_data["on"]
        try:
            screening_round = run_screening(actor=request.user, school=school, on=on)
        except ValidationError as exc:
            form.add_error(None, exc)
            already = rounds_visible_to(request.user).filter(school=school, on=on).first()
        else:
            return redirect("screening:round_detail", pk=screening_round.pk)
    rounds = rounds_visible_to(request.user).select_related("school", "rules")[:100]
    return render(
        request,
        "screening/round_list.html",
        {
            "rounds": rounds,
            "run_form": form,
            "rules": latest_rules(),
            "already": already,
        },
        status=400,
    )


@role_required({Role.MANAGER})
@require_http_methods(["GET", "POST"])
def rules(request):
    current = latest_rules()
    form = RulesForm(request.POST or None, request.FILES or None)
    problems = []
    if request.method == "POST" and form.is_valid():
        source = form.cleaned_data["source"]
        try:
            document = parse_screening_rules(source, filename="screening.yaml")
            if isinstance(source, bytes):
                source = source.decode("utf-8-sig")
            stored = store_screening_rules(actor=request.user, document=document, source=source)
        except DocumentError as exc:
            problems = exc.errors
        else:
            messages.success(request, f"Screening rules version {stored.version} in use.")
            return redirect("screening:rules")
    return render(
        request,
        "screening/rules.html",
        {
            "current": current,
            "form": form,
            "problems": problems,
        },
    )


def _shortlist(request, screening_round, today):
    """The shortlist as the page lists it (its filter in the query), and the filter."""
    filters = ShortlistFilterForm(request.GET)
    filters.is_valid()  # an unknown choice is dropped: everyone is listed
    to_review = filters.cleaned_data.get("show") == ShortlistFilterForm.TO_REVIEW
    return shortlist_for(screening_round, today=today, to_review=to_review), filters


def _page_of(shortlist, profile) -> int:
    return place_on_shortlist(shortlist, profile) // SHORTLIST_PAGE_SIZE + 1


def _round_page(request, screening_round, *, pupil=None, review_form=None, status=200):
    """The round's page. `review_form` is a decision on `pupil` that was not recorded:
    shown again, as typed, on the page holding the child."""
    today = timezone.localdate()
    shortlist, filters = _shortlist(request, screening_round, today)
    adding = review_form is not None and review_form.data.get("decision") == Decision.ADD
    number = request.GET.get("page")
    failed = None
    if pupil is not None and not adding:
        failed = shortlist.filter(pupil=pupil).first()
    if failed is not None:
        number = _page_of(shortlist, failed)
    page = Paginator(shortlist, SHORTLIST_PAGE_SIZE).get_page(number)
    query = request.GET.copy()
    query.pop("page", None)
    here = query.copy()
    here["page"] = page.number
    can_review = may_review(request.user, screening_round.school)
    history = list(screening_round.decisions.select_related("pupil", "decided_by"))
    return render(
        request,
        "screening/round_detail.html",
        {
            "round": screening_round,
            "filters": filters,
            "page": page,
            "rows": shortlist_rows(
                page.object_list,
                screening_round,
                failed=None if adding or pupil is None else (pupil.pk, review_form),
            ),
            "counts": shortlist_counts(screening_round, today=today),
            "query": query.urlencode(),
            "here": here.urlencode(),
            "excluded": [
                (profile, excluded_in_words(profile.excluded_reason))
                for profile in excluded_from(screening_round)
            ],
            "others": others_for(screening_round, today=today) if can_review else [],
            "can_review": can_review,
            "can_consent": request.user.role in CONSENT_ROLES,
            "decisions": [(Decision.ACCEPT, "Accept"), (Decision.DECLINE, "Decline")],
            "reason_max_length": ReviewForm.base_fields["reason"].max_length,
            "review_form": review_form,
            "failed_pupil": pupil,
            "failed_row": failed is not None,
            "add_form": review_form if adding else None,
            "history": history,
            # a round run by mistake goes while nothing is decided on it
            "can_delete": request.user.role == Role.MANAGER and not history,
        },
        status=status,
    )


@role_required(SCREENING_ROLES)
@require_GET
def round_detail(request, pk):
    return _round_page(request, round_for(request.user, pk))


@role_required({Role.MANAGER})
@require_POST
def round_delete(request, pk):
    screening_round = round_for(request.user, pk)
    if not DeleteRoundForm(request.POST).is_valid():
        messages.error(request, "Not deleted: tick the box to confirm the deletion.")
        return redirect("screening:round_detail", pk=screening_round.pk)
    try:
        delete_screening_round(actor=request.user, screening_round=screening_round)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("screening:round_detail", pk=screening_round.pk)
    messages.success(
        request,
        f"The round of {screening_round.school.name} on {screening_round.on:%-d %B %Y} is deleted.",
    )
    return redirect("screening:round_list")


def _back_to(request, screening_round, pupil) -> str:
    """The shortlist page a decision came from, its filter kept, at the child decided;
    once they leave a filtered list, at the next child on it."""
    shortlist, _ = _shortlist(request, screening_round, timezone.localdate())
    decided = screening_round.profiles.select_related("pupil").get(pupil=pupil)
    anchor = at_or_after(shortlist, decided)
    query = request.GET.copy()
    fragment = ""
    if anchor is not None:
        query["page"] = _page_of(shortlist, anchor)
        fragment = f"#pupil-{anchor.pupil_id}"
    url = reverse("screening:round_detail", args=[screening_round.pk])
    return f"{url}?{query.urlencode()}{fragment}" if query else f"{url}{fragment}"


@role_required(REVIEW_ROLES)
@require_POST
def review(request, pk):
    """Record one decision, then back to where the reviewer was on the shortlist."""
    screening_round = round_for(request.user, pk)
    form = ReviewForm(request.POST)
    form.is_valid()
    pupil = None
    if form.cleaned_data.get("pupil") is not None:
        pupil = get_object_or_404(
            Pupil.objects.visible_to(request.user).filter(school=screening_round.school),
            pk=form.cleaned_data["pupil"],
        )
    if pupil is not None and not form.errors:
        decision = form.cleaned_data["decision"]
        try:
            review_shortlist(
                actor=request.user,
                screening_round=screening_round,
                pupil=pupil,
                decision=decision,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{pupil.name}: {DECIDED[decision]}.")
            return redirect(_back_to(request, screening_round, pupil))
    return _round_page(request, screening_round, pupil=pupil, review_form=form, status=400)


def _enrolment_in_force(pupil, today):
    """The child's open enrolment (not ended before today), if any: while it lasts there
    is nobody to enrol."""
    return (
        open_enrolments(today)
        .filter(pupil=pupil)
        .select_related("cohort", "link_worker")
        .order_by("enrolled_on")
        .first()
    )


def _consent_page(request, pupil, form=None, *, withdrawing=None, status=200):
    """The consent page. `withdrawing` is (consent id, form) of a withdrawal not recorded,
    shown again, as typed, by that consent."""
    today = timezone.localdate()
    failed_pk, failed_form = withdrawing or (None, None)
    consents = [
        {
            "consent": consent,
            "withdraw_form": failed_form
            if consent.pk == failed_pk
            else WithdrawalForm(today=today, auto_id=f"withdraw-{consent.pk}-%s"),
        }
        for consent in pupil.consents.order_by("purpose", "-given_on")
    ]
    return render(
        request,
        "screening/consent.html",
        {
            "pupil": pupil,
            "consents": consents,
            "form": form or ConsentForm(),
            "withdraw_form": failed_form,
            "enrolments": pupil.enrolments.select_related("cohort", "link_worker"),
            "in_force": _enrolment_in_force(pupil, today),
            "backdated": BACKDATED,
            "can_enrol": request.user.role in ENROL_ROLES,
        },
        status=status,
    )


@role_required(CONSENT_ROLES)
@require_http_methods(["GET", "POST"])
def consent(request, pk):
    pupil = child_for(request.user, pk)
    if request.method == "GET":
        return _consent_page(request, pupil)
    form = ConsentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                for purpose in data["purposes"]:
                    record_consent(
                        actor=request.user,
                        pupil=pupil,
                        purpose=purpose,
                        given_by=data["given_by"],
                        given_on=data["given_on"],
                        child_assent=data["child_assent"],
                    )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, "Consent recorded.")
            return redirect("screening:consent", pk=pupil.pk)
    return _consent_page(request, pupil, form=form, status=400)


@role_required(CONSENT_ROLES)
@require_POST
def withdraw(request, pk):
    """Record a withdrawal; one dated before today only once confirmed, as it reverses
    payments already claimed for the child after that date."""
    visible = Pupil.objects.visible_to(request.user)
    record = get_object_or_404(
        Consent.objects.filter(pupil__in=visible).select_related("pupil__school"), pk=pk
    )
    today = timezone.localdate()
    form = WithdrawalForm(request.POST, today=today, auto_id=f"withdraw-{record.pk}-%s")
    if form.is_valid():
        withdrawn_on = form.cleaned_data["withdrawn_on"]
        try:
            withdraw_consent(actor=request.user, consent=record, withdrawn_on=withdrawn_on)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            done = f"Withdrawal recorded from {withdrawn_on:%-d %B %Y}."
            if withdrawn_on < today:
                done = f"{done} {BACKDATED}"
            messages.success(request, done)
            return redirect("screening:consent", pk=record.pupil_id)
    return _consent_page(request, record.pupil, withdrawing=(record.pk, form), status=400)


@role_required(ENROL_ROLES)
@require_http_methods(["GET", "POST"])
def enrol(request, pk):
    pupil = child_for(request.user, pk)
    in_force = _enrolment_in_force(pupil, timezone.localdate())
    if in_force is not None:
        # one enrolment at a time: nothing to enrol while this one lasts
        status = 400 if request.method == "POST" else 200
        return render(
            request, "screening/enrol.html", {"pupil": pupil, "in_force": in_force}, status=status
        )
    form = EnrolmentForm(request.POST or None, school=pupil.school)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                enrol_child(actor=request.user, pupil=pupil, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f"{pupil.name} is enrolled.")
                return redirect("screening:consent", pk=pupil.pk)
    return render(request, "screening/enrol.html", {"pupil": pupil, "form": form}, status=status)


@role_required({Role.MANAGER})
@require_http_methods(["GET", "POST"])
def upload(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            made = receive_upload(
                actor=request.user,
                resource=data["resource"],
                original_name=data["file"].name,
                data=data["file"].read(),
            )
        except (UploadError, ValidationError) as exc:
            form.add_error("file", str(exc) if isinstance(exc, UploadError) else exc.messages)
        else:
            return redirect("screening:upload_detail", pk=made.pk)
    uploads = Upload.objects.select_related("uploaded_by")[:20]
    return render(
        request,
        "screening/upload.html",
        {"form": form, "uploads": uploads},
        status=400 if form.errors else 200,
    )


def _upload_for(user, pk) -> Upload:
    # uploads are a manager's tool; any manager may follow any upload
    return get_object_or_404(Upload.objects.select_related("uploaded_by"), pk=pk)


@role_required({Role.MANAGER})
@require_GET
def upload_detail(request, pk):
    made = _upload_for(request.user, pk)
    from linkwork.packages.resources import BY_FILENAME

    filename = next((f for f, r in BY_FILENAME.items() if r.name == made.resource), "")
    return render(
        request,
        "screening/upload_detail.html",
        {
            "upload": made,
            "preview": preview(Path(made.folder), filename),
        },
    )


@role_required({Role.MANAGER})
@require_GET
def upload_status(request, pk):
    """The status block alone; htmx polls it until the upload is finished."""
    return render(
        request, "screening/upload_detail.html#status", {"upload": _upload_for(request.user, pk)}
    )


@role_required({Role.MANAGER})
@require_POST
def upload_load(request, pk):
    made = _upload_for(request.user, pk)
    try:
        start_upload_load(actor=request.user, upload=made)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("screening:upload_detail", pk=made.pk)
