from decimal import Decimal
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from linkwork.accounts.models import Role
from linkwork.core.documents import DocumentError
from linkwork.people.queries import child_for

from . import queries, statements
from .documents import parse_contract
from .forecast import forecast_claims
from .forms import ContractUploadForm, LineFilterForm, PriceChangeForm
from .models import ClaimStatus
from .services import ClaimError, mark_claim_paid, run_claim, store_contract, submit_claim

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


@login_required
@require_GET
def contract_detail(request, code):
    _require(request.user, READERS)
    contract = _contract_for(request.user, code)
    terms = queries.contract_terms(contract)
    inputs = queries.forecast_inputs(code)
    form = PriceChangeForm(request.GET or None, triggers=[t.code for t in terms.triggers])
    current = forecast_claims(terms, **inputs)
    changed = None
    if form.is_valid():
        prices = {form.cleaned_data["trigger"]: form.cleaned_data["price"]}
        changed = forecast_claims(terms, **inputs, prices=prices)
    claims = queries.claims_visible_to(request.user, code)
    periods = {c.period_code: c for c in claims}
    removed = queries.evidence_removed_on(code)
    return render(
        request,
        "contracts/contract_detail.html",
        {
            "contract": contract,
            "terms": terms,
            "usage": queries.cap_usage(contract),
            "periods": [(p, periods.get(p.code)) for p in terms.periods],
            "is_funder": request.user.role == Role.FUNDER,
            "can_run": request.user.role == Role.MANAGER and removed is None,
            "evidence_removed": removed,
            "forecast": current,
            "changed": changed,
            "difference": (changed.total - current.total) if changed else None,
            "form": form,
        },
    )


@login_required
@require_GET
def claim_detail(request, code, period):
    _require(request.user, READERS)
    contract, claim = _claim_for(request.user, code, period)
    is_funder = request.user.role == Role.FUNDER
    payer_codes = [request.user.payer_code] if is_funder else list(claim.payer_totals)
    context = {
        "contract": contract,
        "claim": claim,
        "is_funder": is_funder,
        "can_submit": request.user.role == Role.MANAGER and claim.status == ClaimStatus.DRAFT,
        "can_mark_paid": (
            request.user.role == Role.MANAGER and claim.status == ClaimStatus.SUBMITTED
        ),
        "payer_codes": payer_codes,
    }
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
        messages.error(request, str(exc))
        return redirect("contracts:contract_detail", code=code)
    messages.success(request, f"Draft claim for {period} computed.")
    return redirect("contracts:claim_detail", code=code, period=period)


@login_required
@role_required({Role.MANAGER})
@require_POST
def claim_submit(request, code, period):
    _contract_for(request.user, code)
    try:
        submit_claim(actor=request.user, contract_code=code, period_code=period)
    except ClaimError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Claim for {period} submitted.")
    return redirect("contracts:claim_detail", code=code, period=period)


@login_required
@role_required({Role.MANAGER})
@require_POST
def claim_paid(request, code, period):
    _contract_for(request.user, code)
    try:
        mark_claim_paid(actor=request.user, contract_code=code, period_code=period)
    except ClaimError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Claim for {period} marked paid.")
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
    name = f"claim-{code}-{period}-{payer}.{fmt}"
    if fmt == "xlsx":
        body = statements.statement_xlsx(claim, payer)
        kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body = statements.statement_pdf(claim, payer)
        kind = "application/pdf"
    response = HttpResponse(body, content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_GET
def claim_evidence(request, code, period):
    _require(request.user, STAFF)
    _, claim = _claim_for(request.user, code, period)
    response = HttpResponse(statements.evidence_csv(claim), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="evidence-{code}-{period}.csv"'
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
            document = parse_contract(source, filename=upload.name)
        except DocumentError as exc:
            errors = exc.errors
        else:
            text = source.decode("utf-8-sig")
            contract = store_contract(actor=request.user, document=document, source=text)
            messages.success(request, f"Contract {contract.code} is at version {contract.version}.")
            return redirect("contracts:contract_detail", code=contract.code)
    return render(request, "contracts/contract_upload.html", {"form": form, "errors": errors})


@login_required
@require_GET
def child_achievements(request, pk):
    _require(request.user, STAFF)
    pupil = child_for(request.user, pk)
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
