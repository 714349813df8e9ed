from decimal import Decimal
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from linkwork.accounts.models import Role
from linkwork.audit.services import record_view
from linkwork.core.documents import DocumentError
from linkwork.measures.queries import current_definitions
from linkwork.people.queries import child_for

from . import queries, statements
from .documents import parse_contract
from .forecast import forecast_claims
from .forms import ConfirmForm, ContractUploadForm, LineFilterForm, PaymentForm, PriceChangeForm
from .models import ClaimStatus
from .services import (
    ClaimError,
    export_evidence,
    export_statement,
    record_payment,
    run_claim,
    store_contract,
    submit_claim,
)

READERS = {Role.MANAGER, Role.ADMIN, Role.FUNDER}
LINES_PER_PAGE = 100
STAFF = {Role.MANAGER, Role.ADMIN}


def _require(user, roles):
    if user.role not in roles:
        raise PermissionDenied


def role_required(roles):
    """Refuse other roles before anything else (so a GET of a POST-only page is a 403)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            _require(request.user, roles)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _contract_for(user, code):
    for contract in queries.contracts_visible_to(user):
        if contract.code == code:
            return contract
    raise Http404


def _claim_for(user, code, period):
    contract = _contract_for(user, code)
    for claim in queries.claims_visible_to(user, code):
        if claim.period_code == period:
            return contract, claim
    raise Http404


@login_required
@require_GET
def contract_list(request):
    _require(request.user, READERS)
    contracts = queries.contracts_visible_to(request.user)
    return render(
        request,
        "contracts/contract_list.html",
        {
            "contracts": contracts,
            "can_upload": request.user.role == Role.MANAGER,
        },
    )


def _period_rows(terms, claims, payer=None) -> list[dict]:
    """The contract's periods with their claim (if any), its total (a funder's: their
    payer's), whether the period has started and is open (started, not ended), and why a
    draft is out of date. A period not started has no draft to compute."""
    by_period = {c.period_code: c for c in claims}
    today = timezone.localdate()
    received = queries.received_by_claim([c for c in claims if c.status == ClaimStatus.SUBMITTED])
    rows = []
    for period in terms.periods:
        claim = by_period.get(period.code)
        total = None
        if claim is not None:
            total = Decimal(claim.payer_totals.get(payer, "0")) if payer else claim.total
        started = period.starts_on <= today
        rows.append(
            {
                "period": period,
                "claim": claim,
                "total": total,
                "started": started,
                "open": started and period.ends_on >= today,
                "out_of_date": claim
                and queries.out_of_date(claim, claims=claims, version=terms.version),
                "payment": _payment_state(claim, received, payer),
            }
        )
    return rows


def _payment_state(claim, received: dict, payer) -> str:
    """Where a submitted claim's payments stand, in words (a funder: their payer's); ""
    for any other claim."""
    if claim is None or claim.status != ClaimStatus.SUBMITTED:
        return ""
    paid_by = received.get(claim.pk, {})
    codes = [payer] if payer else list(claim.payer_totals)
    due = sum((abs(Decimal(claim.payer_totals.get(c, "0"))) for c in codes), Decimal("0.00"))
    paid = sum((abs(paid_by.get(c, Decimal("0.00"))) for c in codes), Decimal("0.00"))
    return queries.payment_state(due, paid)


def _for_payer(forecast, payer):
    """A forecast as shown: a funder sees their payer's portions only."""
    rows = [
        {"row": row, "amount": row.portion(payer) if payer else row.amount} for row in forecast.rows
    ]
    payers = [(code, value) for code, value in forecast.payers if payer in (None, code)]
    return {
        "rows": rows,
        "payers": payers,
        "total": sum((value for _, value in payers), Decimal("0.00")),
        "periods": forecast.periods,
        "rates": forecast.rates,
    }


@login_required
@require_GET
def contract_detail(request, code):
    _require(request.user, READERS)
    contract = _contract_for(request.user, code)
    is_funder = request.user.role == Role.FUNDER
    payer = request.user.payer_code if is_funder else None
    terms = queries.contract_terms(contract)
    claims = queries.claims_visible_to(request.user, code)
    # A funder's forecast counts the submitted claims only: drafts are not theirs to see.
    basis = list(queries.claims_for_contract(code)) if is_funder else claims
    draft = None if is_funder else queries.forecast_draft(terms, claims)
    inputs = queries.forecast_inputs(terms, basis, draft)
    form = PriceChangeForm(request.GET or None, triggers=[t.code for t in terms.triggers])
    current = _for_payer(forecast_claims(terms, **inputs), payer)
    changed = None
    if form.is_valid():
        prices = {form.cleaned_data["trigger"]: form.cleaned_data["price"]}
        changed = _for_payer(forecast_claims(terms, **inputs, prices=prices), payer)
    removed = queries.evidence_removed_on(code)
    periods = _period_rows(terms, claims, payer)
    return render(
        request,
        "contracts/contract_detail.html",
        {
            "contract": contract,
            "terms": terms,
            "usage": queries.cap_usage(contract, payer=payer),
            "periods": periods,
            "uncounted": [r["period"].code for r in periods if r["out_of_date"]],
            "is_funder": is_funder,
            "can_run": request.user.role == Role.MANAGER and removed is None,
            "evidence_removed": removed,
            "missing_cohorts": [] if is_funder else queries.missing_cohorts(terms),
            "forecast": current,
            "draft": draft,
            "draft_open": draft is not None
            and terms.period(draft.period_code).ends_on >= timezone.localdate(),
            "children": inputs["children"],
            "changed": changed,
            "difference": (changed["total"] - current["total"]) if changed else None,
            "form": form,
        },
    )


SUBMIT_CONFIRM = "I have checked the lines: submit this claim. It cannot be changed afterwards."


def _payments(claim, payer_codes, *, can_record: bool, today) -> dict:
    """Each shown payer's due, payments and what it still owes, where the claim stands
    (for a funder: their payer), and for a manager a form per payer still owing,
    filled in with what it owes and today."""
    rows = queries.payments_due(claim, payer_codes)
    submitted_on = timezone.localdate(claim.submitted_at)
    for row in rows:
        row["form"] = None
        if can_record and row["owed"] != 0:
            row["form"] = PaymentForm(
                prefix="paid",
                auto_id=f"id_{row['payer']}_%s",
                initial={"payer": row["payer"], "amount": row["owed"], "paid_on": today},
                owed=row["owed"],
                first_day=submitted_on,
                last_day=today,
            )
    # The claim as a whole: credits settled count as settled, not against the payments.
    due = sum((abs(row["due"]) for row in rows), Decimal("0.00"))
    paid = sum((abs(row["paid"]) for row in rows), Decimal("0.00"))
    return {"payments": rows, "payment_state": queries.payment_state(due, paid)}


@login_required
@require_GET
def claim_detail(request, code, period):
    _require(request.user, READERS)
    contract, claim = _claim_for(request.user, code, period)
    is_funder = request.user.role == Role.FUNDER
    is_manager = request.user.role == Role.MANAGER
    payer_codes = [request.user.payer_code] if is_funder else list(claim.payer_totals)
    terms = queries.contract_terms(contract)
    dates = terms.period(claim.period_code)
    today = timezone.localdate()
    is_draft = claim.status == ClaimStatus.DRAFT
    not_submitted = None
    if is_manager and is_draft:
        claims = queries.claim_states(code)
        not_submitted = queries.why_not_submitted(terms, dates, claims, today)
    context = {
        "contract": contract,
        "claim": claim,
        "dates": dates,
        "is_funder": is_funder,
        "period_open": is_draft and dates.ends_on >= today,
        "period_started": dates.starts_on <= today,
        "out_of_date": queries.out_of_date(claim, version=contract.version),
        "can_submit": is_manager and is_draft and not_submitted is None,
        "not_submitted": not_submitted,
        "can_record": is_manager,
        "submit_form": ConfirmForm(label=SUBMIT_CONFIRM, prefix="submit"),
        "payer_codes": payer_codes,
    }
    if not is_draft:
        context.update(_payments(claim, payer_codes, can_record=is_manager, today=today))
    lines = claim.lines.order_by("position")
    triggers = sorted(set(lines.order_by().values_list("trigger", flat=True).distinct()))
    form = LineFilterForm(
        request.GET or None,
        triggers=triggers,
        child_label="Child reference" if is_funder else "UPN",
    )
    filters = form.cleaned_data if form.is_valid() else {}
    if filters.get("trigger"):
        lines = lines.filter(trigger=filters["trigger"])
    if filters.get("kind"):
        lines = lines.filter(kind=filters["kind"])
    child = (filters.get("q") or "").strip().upper()
    if is_funder:
        payer = request.user.payer_code
        lines = lines.filter(portions__has_key=payer)
        if child:
            upns = lines.order_by().values_list("upn", flat=True).distinct()
            match = [u for u in upns if statements.child_reference(code, u) == child]
            lines = lines.filter(upn__in=match)
        context["payer_total"] = Decimal(claim.payer_totals.get(payer, "0"))
    elif child:
        lines = lines.filter(upn__icontains=child)
    page = Paginator(lines, LINES_PER_PAGE).get_page(request.GET.get("page"))
    if is_funder:
        context["statement"] = statements.statement_lines(claim, payer, lines=page.object_list)
    else:
        shown = list(page.object_list)
        changed = queries.list_draft_registers(shown) if is_draft else 0
        if changed and not context["out_of_date"]:
            context["out_of_date"] = (
                f"computed before the register rows of {changed} of the lines shown changed"
            )
        reversed_ = statements.reversals(claim, shown)
        context["rows"] = [(line, reversed_.get(line.pk)) for line in shown]
    query = request.GET.copy()
    query.pop("page", None)
    context.update(form=form, page=page, query=query.urlencode(), narrowed=bool(filters))
    return render(request, "contracts/claim_detail.html", context)


@login_required
@role_required({Role.MANAGER})
@require_POST
def claim_run(request, code, period):
    _contract_for(request.user, code)
    try:
        run_claim(actor=request.user, contract_code=code, period_code=period)
    except ClaimError as exc:
        messages.error(request, f"Not computed: {exc}")
        return redirect("contracts:contract_detail", code=code)
    messages.success(request, f"Draft claim for {period} computed.")
    return redirect("contracts:claim_detail", code=code, period=period)


@login_required
@role_required({Role.MANAGER})
@require_POST
def claim_submit(request, code, period):
    _contract_for(request.user, code)
    if not ConfirmForm(request.POST, prefix="submit").is_valid():
        messages.error(request, "Not submitted: tick the box to confirm the submission.")
    else:
        try:
            submit_claim(actor=request.user, contract_code=code, period_code=period)
        except ClaimError as exc:
            messages.error(request, f"Not submitted: {exc}")
        else:
            messages.success(request, f"Claim for {period} recomputed and submitted.")
    return redirect("contracts:claim_detail", code=code, period=period)


@login_required
@role_required({Role.MANAGER})
@require_POST
def claim_paid(request, code, period):
    _claim_for(request.user, code, period)
    form = PaymentForm(request.POST, prefix="paid")
    if not form.is_valid():
        problems = "; ".join(
            f"{form.fields[name].label or name}: {' '.join(errors)}"
            for name, errors in form.errors.items()
        )
        messages.error(request, f"The payment was not recorded. {problems}")
        return redirect("contracts:claim_detail", code=code, period=period)
    data = form.cleaned_data
    try:
        payment = record_payment(
            actor=request.user,
            contract_code=code,
            period_code=period,
            payer=data["payer"],
            amount=data["amount"],
            paid_on=data["paid_on"],
            reference=data["reference"],
        )
    except ClaimError as exc:
        messages.error(request, f"The payment was not recorded: {exc}")
    else:
        messages.success(
            request,
            f"{payment.payer_code}'s payment of {queries.pounds(payment.amount)} for {period} "
            "recorded.",
        )
    return redirect("contracts:claim_detail", code=code, period=period)


@login_required
@require_GET
def claim_statement(request, code, period, payer, fmt):
    _require(request.user, READERS)
    if request.user.role == Role.FUNDER and payer != request.user.payer_code:
        raise Http404
    _, claim = _claim_for(request.user, code, period)
    if payer not in claim.payer_totals or fmt not in ("xlsx", "pdf"):
        raise Http404
    try:
        body = export_statement(actor=request.user, claim=claim, payer=payer, fmt=fmt)
    except ClaimError as exc:
        messages.error(request, f"Not downloaded: {exc}")
        return redirect("contracts:claim_detail", code=code, period=period)
    name = statements.file_name(claim, f"claim-{code}-{period}-{payer}", fmt)
    if fmt == "xlsx":
        kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        kind = "application/pdf"
    response = HttpResponse(body, content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_GET
def claim_evidence(request, code, period):
    _require(request.user, STAFF)
    _, claim = _claim_for(request.user, code, period)
    try:
        body = export_evidence(actor=request.user, claim=claim)
    except ClaimError as exc:
        messages.error(request, f"Not downloaded: {exc}")
        return redirect("contracts:claim_detail", code=code, period=period)
    name = statements.file_name(claim, f"evidence-{code}-{period}", "csv")
    response = StreamingHttpResponse(body, content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@role_required({Role.MANAGER})
@require_http_methods(["GET", "POST"])
def contract_upload(request):
    form = ContractUploadForm(request.POST or None, request.FILES or None)
    errors = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        source = upload.read()
        try:
            document = parse_contract(
                source, filename=upload.name, instruments=current_definitions()
            )
            contract = store_contract(
                actor=request.user,
                document=document,
                source=source.decode("utf-8-sig"),
                filename=upload.name,
            )
        except DocumentError as exc:
            errors = exc.errors
        else:
            messages.success(request, f"Contract {contract.code} is at version {contract.version}.")
            return redirect("contracts:contract_detail", code=contract.code)
    return render(request, "contracts/contract_upload.html", {"form": form, "errors": errors})


@login_required
@require_GET
def child_achievements(request, pk):
    _require(request.user, STAFF)
    pupil = child_for(request.user, pk)
    record_view(actor=request.user, pupil=pupil, what="achievements")
    sections = []
    for contract in queries.latest_contracts():
        terms = queries.contract_terms(contract)
        found = []
        for children in queries.load_children(terms, pupil_id=pupil.pk):
            found.extend(queries.achievements_for(terms, children))
        lines = queries.claim_lines_for_child(contract.code, pupil.upn)
        if found or lines:
            sections.append({"contract": contract, "achievements": found, "lines": lines})
    return render(
        request, "contracts/child_achievements.html", {"pupil": pupil, "sections": sections}
    )
