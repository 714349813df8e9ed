"""Writes for contracts and claims. Each is one transaction with one audit entry."""

import json

from django.db import connection, transaction
from django.utils import timezone

from linkwork.audit.services import record

from .claims import ClaimResult, compute_claim
from .models import Claim, ClaimedAchievement, ClaimLine, ClaimLineKind, ClaimStatus, Contract
from .queries import (
    REGISTERS_TEXT,
    UNLISTED,
    contract_terms,
    submitted_lines,
    supported_achievements,
)
from .terms import ContractTerms


class ClaimError(Exception):
    """A claim operation refused, with a message fit for the person who asked."""


@transaction.atomic
def store_contract(*, actor, document: dict, source: str) -> Contract:
    """Store a parsed contract document as the contract's next version; storing the same
    document again changes nothing and returns the latest version."""
    latest = Contract.objects.filter(code=document["code"]).order_by("-version").first()
    if latest is not None and latest.document == document:
        return latest
    contract = Contract.objects.create(
        code=document["code"],
        version=(latest.version + 1) if latest else 1,
        name=document["name"],
        starts_on=document["starts_on"],
        ends_on=document["ends_on"],
        document=document,
        source=source,
    )
    record(
        actor=actor,
        action="contract.stored",
        obj=contract,
        summary=f"Contract {contract.code} version {contract.version} stored",
        changes={"version": contract.version},
    )
    return contract


def _locked_contract(contract_code: str) -> Contract:
    # Locking the latest version serialises runs and submits of one contract.
    contract = (
        Contract.objects.select_for_update().filter(code=contract_code).order_by("-version").first()
    )
    if contract is None:
        raise ClaimError(f"no contract with code {contract_code!r}")
    return contract


def _period_or_error(terms: ContractTerms, period_code: str):
    try:
        return terms.period(period_code)
    except KeyError:
        codes = ", ".join(p.code for p in terms.periods)
        raise ClaimError(
            f"contract {terms.code} has no period {period_code!r} (periods: {codes})"
        ) from None


def compute_for(terms: ContractTerms, period_code: str) -> ClaimResult:
    """The claim the current data supports for a period (reads only)."""
    achievements, _ = supported_achievements(terms)
    return compute_claim(terms, period_code, achievements, submitted_lines(terms.code))


def _store_draft(contract: Contract, terms: ContractTerms, period_code: str) -> Claim:
    claim = (
        Claim.objects.select_for_update()
        .filter(contract_code=terms.code, period_code=period_code)
        .first()
    )
    if claim is not None and claim.status != ClaimStatus.DRAFT:
        when = timezone.localtime(claim.submitted_at).strftime("%Y-%m-%d %H:%M")
        raise ClaimError(f"the claim for {terms.code} {period_code} was submitted on {when}")
    # On PostgreSQL the register rows of engagement lines are listed by the database as
    # the lines are written (_insert_lines), never passing through Python.
    in_database = connection.vendor == "postgresql"
    achievements, unlisted = supported_achievements(terms, list_rows=not in_database)
    result = compute_claim(terms, period_code, achievements, submitted_lines(terms.code))
    fields = {
        "contract": contract,
        "computed_at": timezone.now(),
        "total": result.total,
        "payer_totals": {payer: f"{value:.2f}" for payer, value in result.payers},
    }
    if claim is None:
        claim = Claim.objects.create(contract_code=terms.code, period_code=period_code, **fields)
    else:
        for name, value in fields.items():
            setattr(claim, name, value)
        claim.save()
        # A draft's lines are referenced by nothing (only submitted lines are claimed), so
        # they go in one statement rather than through Django's collector.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM contracts_claimline WHERE claim_id = %s", [claim.pk])
    _insert_lines(claim, result.lines, unlisted)
    return claim


LINE_COLUMNS = (
    "claim_id",
    "position",
    "kind",
    "upn",
    "trigger",
    "instance",
    "achieved_on",
    "amount",
    "portions",
    "evidence",
)

# The lines as copied, plus where an engagement line's register rows are (the child,
# first and last day) and which evidence item lists them (`slot`, counted from 0).
STAGED_LINES = """
CREATE TEMPORARY TABLE contracts_staged_line (
    claim_id bigint, position integer, kind text, upn text, trigger text, instance text,
    achieved_on date, amount numeric, portions jsonb, evidence jsonb,
    pupil_id bigint, first_day date, last_day date, slot integer
) ON COMMIT DROP
"""

# The staged lines into the claim, each engagement line's rows listed into its slot.
INSERT_STAGED = f"""
INSERT INTO contracts_claimline ({", ".join(LINE_COLUMNS)})
SELECT k.claim_id, k.position, k.kind, k.upn, k.trigger, k.instance, k.achieved_on, k.amount,
       k.portions,
       CASE WHEN k.slot IS NULL THEN k.evidence
            ELSE jsonb_set(k.evidence, ARRAY[k.slot::text],
                           to_jsonb(%s || coalesce(x.text, '')))
       END
FROM contracts_staged_line k
LEFT JOIN LATERAL ({REGISTERS_TEXT}) AS x ON k.slot IS NOT NULL
ORDER BY k.position
"""  # noqa: S608 - constant text


def _unlisted_slot(line, unlisted: dict):
    """(pupil id, first day, last day, slot) for a claim line whose rows are unlisted."""
    if line.kind != ClaimLineKind.CLAIM or UNLISTED not in line.evidence:
        return (None, None, None, None)
    key = unlisted.get((line.upn, line.instance))
    if key is None:
        return (None, None, None, None)
    return (*key, line.evidence.index(UNLISTED))


def _insert_lines(claim: Claim, lines, unlisted: dict | None = None) -> None:
    """Write the claim's lines: on PostgreSQL COPY into a staging table, then one INSERT
    that lists the register rows of engagement lines (`unlisted`, from
    queries.listing_keys) into their evidence; bulk INSERT elsewhere."""
    unlisted = unlisted or {}
    rows = [
        (
            claim.pk,
            position,
            line.kind,
            line.upn,
            line.trigger,
            line.instance,
            line.achieved_on,
            line.amount,
            {payer: f"{value:.2f}" for payer, value in line.portions},
            list(line.evidence),
        )
        for position, line in enumerate(lines, start=1)
    ]
    if connection.vendor == "postgresql":
        columns = ", ".join(f'"{name}"' for name in LINE_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(STAGED_LINES)
            copy_sql = (
                f"COPY contracts_staged_line ({columns}, pupil_id, first_day, last_day, slot) "
                "FROM STDIN"
            )
            with cursor.cursor.copy(copy_sql) as copy:
                for row, line in zip(rows, lines, strict=True):
                    copy.write_row(
                        (
                            *row[:8],
                            json.dumps(row[8]),
                            json.dumps(row[9]),
                            *_unlisted_slot(line, unlisted),
                        )
                    )
            cursor.execute(INSERT_STAGED, [UNLISTED])
            cursor.execute("DROP TABLE contracts_staged_line")
        return
    ClaimLine.objects.bulk_create(
        [ClaimLine(**dict(zip(LINE_COLUMNS, row, strict=True))) for row in rows],
        batch_size=2000,
    )


@transaction.atomic
def run_claim(*, actor, contract_code: str, period_code: str) -> Claim:
    """Compute the period's claim from the current data and store it as the draft
    (replacing any earlier draft), with the contract version used."""
    contract = _locked_contract(contract_code)
    terms = contract_terms(contract)
    _period_or_error(terms, period_code)
    claim = _store_draft(contract, terms, period_code)
    record(
        actor=actor,
        action="claim.computed",
        obj=claim,
        summary=f"Draft claim {contract_code} {period_code}: £{claim.total:.2f}",
        changes={"total": claim.total, "lines": claim.lines.count(), "version": contract.version},
    )
    return claim


@transaction.atomic
def submit_claim(*, actor, contract_code: str, period_code: str) -> Claim:
    """Recompute the period's claim from the current data and freeze it. Periods are
    submitted in order; a period is submitted once. The database then refuses any change."""
    contract = _locked_contract(contract_code)
    terms = contract_terms(contract)
    period = _period_or_error(terms, period_code)
    earlier = [p.code for p in terms.periods[: terms.periods.index(period)]]
    done = set(
        Claim.objects.filter(contract_code=contract_code, period_code__in=earlier)
        .exclude(status=ClaimStatus.DRAFT)
        .values_list("period_code", flat=True)
    )
    missing = [code for code in earlier if code not in done]
    if missing:
        raise ClaimError(
            f"submit the claims for {', '.join(missing)} before {period_code} "
            "(periods are claimed in order)"
        )
    claim = _store_draft(contract, terms, period_code)
    claim.status = ClaimStatus.SUBMITTED
    claim.submitted_at = timezone.now()
    claim.submitted_by = actor if getattr(actor, "pk", None) else None
    claim.save()
    for line in claim.lines.order_by("position"):
        if line.kind == ClaimLineKind.CLAIM:
            ClaimedAchievement.objects.create(
                contract_code=contract_code,
                upn=line.upn,
                trigger=line.trigger,
                instance=line.instance,
                line=line,
            )
        else:
            released = ClaimedAchievement.objects.filter(
                contract_code=contract_code,
                upn=line.upn,
                trigger=line.trigger,
                instance=line.instance,
                released_by__isnull=True,
            ).update(released_by=line)
            if released != 1:
                raise ClaimError(
                    f"adjustment for {line.upn} {line.trigger} {line.instance} reverses "
                    "nothing standing"
                )
    record(
        actor=actor,
        action="claim.submitted",
        obj=claim,
        summary=f"Claim {contract_code} {period_code} submitted: £{claim.total:.2f}",
        changes={"total": claim.total, "payers": claim.payer_totals, "version": contract.version},
    )
    return claim


@transaction.atomic
def mark_claim_paid(*, actor, contract_code: str, period_code: str) -> Claim:
    """Record that a submitted claim has been paid (its only permitted change)."""
    claim = (
        Claim.objects.select_for_update()
        .filter(contract_code=contract_code, period_code=period_code)
        .first()
    )
    if claim is None or claim.status != ClaimStatus.SUBMITTED:
        raise ClaimError(f"no submitted claim for {contract_code} {period_code}")
    claim.status = ClaimStatus.PAID
    claim.save(update_fields=["status"])
    record(
        actor=actor,
        action="claim.paid",
        obj=claim,
        summary=f"Claim {contract_code} {period_code} marked paid",
    )
    return claim
