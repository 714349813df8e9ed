"""Writes for contracts and claims. Each is one transaction with one audit entry."""

import datetime as dt
import json
from collections import defaultdict
from dataclasses import replace
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from linkwork.audit.services import record
from linkwork.core.bulk import collector_paused
from linkwork.core.documents import DocumentError
from linkwork.core.threads import CopyInBatches, export_snapshot, owns_transaction
from linkwork.measures.queries import current_definitions

from . import statements
from .achievements import find_achievements
from .claims import (
    ClaimResult,
    claim_lines,
    claim_of,
    compute_claim,
    standing_claims,
    unsupported_reasons,
)
from .documents import check_scores
from .models import (
    Claim,
    ClaimedAchievement,
    ClaimLine,
    ClaimLineKind,
    ClaimStatus,
    Contract,
    Payment,
)
from .queries import (
    ISO_DATES,
    REGISTERS,
    REGISTERS_TEXT,
    achievements_for,
    claim_states,
    contract_terms,
    day,
    draft_registers_changed,
    erased_upns,
    evidence_removed_on,
    listing_keys,
    load_children,
    no_jit,
    out_of_date,
    pounds,
    received,
    standing_evidence,
    submitted_lines,
    why_not_computed,
    why_not_submitted,
)
from .terms import ContractTerms


class ClaimError(Exception):
    """A claim operation refused, with a message fit for the person who asked."""


@transaction.atomic
def store_contract(*, actor, document: dict, source: str, filename: str = "") -> Contract:
    """Store a parsed contract document as the contract's next version; storing the same
    document again changes nothing and returns the latest version. A score outcome must
    name an instrument, scale and respondent defined in the database (a package's own
    instruments are stored before its contracts): else DocumentError, located."""
    problems = check_scores(
        document,
        source,
        filename=filename or f"contracts/{document['code']}.yaml",
        instruments=current_definitions(),
    )
    if problems:
        raise DocumentError(problems)
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
        raise ClaimError(f"There is no contract with code {contract_code!r}.")
    return contract


def _evidence_kept(contract_code: str) -> None:
    removed = evidence_removed_on(contract_code)
    if removed is not None:
        raise ClaimError(
            f"The payment evidence of contract {contract_code} was removed on "
            f"{day(timezone.localtime(removed))}, at the end of its audit period: no claim "
            "can be computed or submitted any more."
        )


def _period_or_error(terms: ContractTerms, period_code: str):
    try:
        return terms.period(period_code)
    except KeyError:
        codes = ", ".join(p.code for p in terms.periods)
        raise ClaimError(
            f"Contract {terms.code} has no period {period_code!r} (periods: {codes})."
        ) from None


def _standing_by_upn(standing: dict) -> dict[str, list[tuple]]:
    by_upn = defaultdict(list)
    for key in standing:
        by_upn[key[0]].append(key)
    return by_upn


def compute_for(terms: ContractTerms, period_code: str) -> ClaimResult:
    """The claim the current data supports for a period (reads only)."""
    submitted = submitted_lines(terms.code)
    standing = _standing_by_upn(standing_claims(submitted))
    achievements = []
    reasons = {}
    for children in load_children(terms):
        found = achievements_for(terms, children)
        achievements.extend(found)
        reasons.update(unsupported_reasons(terms, children, {a.key for a in found}, standing))
    return compute_claim(terms, period_code, achievements, submitted, erased_upns(), reasons)


# The evidence of engagement achievements counted by the database, with their register
# rows listed: one row per achievement the claim may take, `id` as numbered by
# _compute_listing.
LISTED = """
CREATE TEMPORARY TABLE contracts_listed (id integer, evidence jsonb {compression})
ON COMMIT DROP
"""

# Each achievement's evidence (JSON) with the rows of its child-period written into the
# item at `slot` (counted from 0).
LIST_ROWS = f"""
INSERT INTO contracts_listed (id, evidence)
SELECT k.id, jsonb_set(k.evidence::jsonb, ARRAY[k.slot::text], to_jsonb(%s || coalesce(x.text, '')))
FROM unnest(%s::integer[], %s::bigint[], %s::date[], %s::date[], %s::integer[], %s::text[])
     AS k(id, pupil_id, first_day, last_day, slot, evidence)
LEFT JOIN LATERAL ({REGISTERS_TEXT}) AS x ON true
"""  # noqa: S608 - constant text


def _start_run(*, listing: bool) -> None:
    """Set the run's transaction up for its statements (PostgreSQL), and make
    contracts_listed when the rows are listed."""
    no_jit()
    if not listing:
        return
    with connection.cursor() as cursor:
        # lz4 where the server has it: several times faster than the default to compress
        cursor.execute(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        (lz4,) = cursor.fetchone() or (False,)
        cursor.execute(LISTED.format(compression="COMPRESSION lz4" if lz4 else ""))
        cursor.execute(ISO_DATES)


def _listing_params(batch) -> list:
    """LIST_ROWS's parameters for a batch of (id, pupil id, first day, last day, slot,
    evidence)."""
    columns = list(zip(*batch, strict=True))
    return [
        REGISTERS,
        *("{" + ",".join(str(v) for v in column) + "}" for column in columns[:5]),
        [json.dumps(evidence) for evidence in columns[5]],
    ]


def _list_rows(params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(LIST_ROWS, params)


def _store_draft(
    contract: Contract,
    terms: ContractTerms,
    period_code: str,
    *,
    list_registers: bool,
    ahead: bool = False,
) -> Claim:
    """Compute the period's claim and store it as its draft, replacing the lines of an
    earlier draft. With `list_registers` (a claim being submitted) each engagement line's
    register rows are copied into its evidence; a draft's lines carry their counts and
    days, and its rows are listed when it is read (queries.list_draft_registers). With
    `ahead` (the transaction is the run's own, on PostgreSQL) a draft's inputs are read
    ahead on other connections, on this transaction's snapshot."""
    claim = (
        Claim.objects.select_for_update()
        .filter(contract_code=terms.code, period_code=period_code)
        .first()
    )
    if claim is not None and claim.status != ClaimStatus.DRAFT:
        when = timezone.localtime(claim.submitted_at)
        raise ClaimError(
            f"The claim for {terms.code} {period_code} was submitted on {day(when)} at "
            f"{when:%H:%M}: a submitted claim never changes."
        )
    lines, listed, encoded = _compute_listing(
        terms, period_code, list_registers=list_registers, ahead=ahead
    )
    fields = {"contract": contract, "computed_at": timezone.now()}
    if claim is None:
        claim = Claim.objects.create(
            contract_code=terms.code, period_code=period_code, total=0, **fields
        )
    else:
        for name, value in fields.items():
            setattr(claim, name, value)
        # A draft's lines are referenced by nothing (only submitted lines are claimed), so
        # they go in one statement rather than through Django's collector.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM contracts_claimline WHERE claim_id = %s", [claim.pk])
    # each line is written as soon as it is priced; the totals are the lines'
    written = _insert_lines(claim, lines, listed, encoded, listing=list_registers)
    result = claim_of(terms, period_code, written)
    claim.total = result.total
    claim.payer_totals = {payer: f"{value:.2f}" for payer, value in result.payers}
    claim.save()
    return claim


def _compute_listing(
    terms: ContractTerms, period_code: str, *, list_registers: bool, ahead: bool = False
) -> tuple:
    """The lines of the claim the data supports (claims.claim_lines: priced as they are
    taken), {achievement key: id in contracts_listed}, and {achievement key: its
    evidence as JSON} for those the claim may take, written while the next chunk is read.

    The inputs are loaded a chunk of children at a time. With `list_registers`, on
    PostgreSQL the register rows of each chunk's engagement achievements that may be
    claimed (due by the period's end, not standing in a submitted claim) are listed by the
    database into contracts_listed; the text never passes through Python. Elsewhere the
    rows come with the inputs. Without it, no line lists its rows. Of the submitted lines,
    only those the claim reverses are read with their evidence."""
    in_database = connection.vendor == "postgresql" and list_registers
    period_ends_on = terms.period(period_code).ends_on
    submitted = submitted_lines(terms.code, evidence=False)
    standing = standing_claims(submitted)
    standing_by_upn = _standing_by_upn(standing)
    achievements = []
    reasons = {}
    listed = {}
    snapshot = None
    if connection.vendor == "postgresql":
        _start_run(listing=in_database)
        if ahead and not list_registers:
            snapshot = export_snapshot()
    encoded = {}
    for children in load_children(terms, snapshot=snapshot):
        found = find_achievements(terms, children)
        if not list_registers and children and children[0].tallies is None:
            found = [_unlisted(a) for a in found]  # listed in Python from the rows read
        achievements.extend(found)
        supported_here = {a.key for a in found}
        reasons.update(unsupported_reasons(terms, children, supported_here, standing_by_upn))
        claimable = [a for a in found if a.achieved_on <= period_ends_on and a.key not in standing]
        if not in_database:
            if connection.vendor == "postgresql":  # (elsewhere the lines are not copied)
                encoded.update((a.key, json.dumps(a.evidence)) for a in claimable)
            continue
        keys = listing_keys(terms, children, claimable)
        batch = []
        for achievement in claimable:
            key = keys.get((achievement.upn, achievement.instance))
            if key is None or REGISTERS not in achievement.evidence:
                continue
            listed[achievement.key] = len(listed) + 1
            slot = achievement.evidence.index(REGISTERS)
            batch.append((len(listed), *key, slot, achievement.evidence))
        if batch:
            _list_rows(_listing_params(batch))
    supported = {a.key for a in achievements}
    erased = erased_upns()
    reversed_keys = [key for key in standing if key not in supported and key[0] not in erased]
    if reversed_keys:
        evidence = standing_evidence(terms.code, reversed_keys)
        submitted = [
            replace(line, evidence=evidence[line.key])
            if line.key in evidence and standing[line.key] is line
            else line
            for line in submitted
        ]
    lines = claim_lines(terms, period_code, achievements, submitted, erased, reasons)
    return lines, listed, encoded


def _unlisted(achievement):
    """The achievement with its register rows (if its evidence lists any) left out."""
    evidence = achievement.evidence
    for slot, item in enumerate(evidence):
        if item.startswith(REGISTERS) and item != REGISTERS:
            evidence = (*evidence[:slot], REGISTERS, *evidence[slot + 1 :])
            return replace(achievement, evidence=evidence)
    return achievement


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

# The lines as copied, plus for a line whose evidence was listed its id in
# contracts_listed (and no evidence of its own).
STAGED_LINES = """
CREATE TEMPORARY TABLE contracts_staged_line (
    claim_id bigint, position integer, kind text, upn text, trigger text, instance text,
    achieved_on date, amount numeric, portions jsonb, evidence jsonb, listed integer
) ON COMMIT DROP
"""

# The staged lines into the claim (in no particular order: readers order by position).
INSERT_STAGED = f"""
INSERT INTO contracts_claimline ({", ".join(LINE_COLUMNS)})
SELECT k.claim_id, k.position, k.kind, k.upn, k.trigger, k.instance, k.achieved_on, k.amount,
       k.portions, coalesce(x.evidence, k.evidence)
FROM contracts_staged_line k
LEFT JOIN contracts_listed x ON x.id = k.listed
"""  # noqa: S608 - constant text


def _claim_key(cursor) -> str:
    """The name of the foreign key from a claim line to its claim."""
    cursor.execute(
        "SELECT conname FROM pg_constraint WHERE contype = 'f' "
        "AND conrelid = 'contracts_claimline'::regclass "
        "AND confrelid = 'contracts_claim'::regclass"
    )
    (name,) = cursor.fetchone()
    return name


def _insert_lines(claim: Claim, lines, listed: dict, encoded: dict, *, listing: bool) -> list:
    """Write the claim's lines (from an iterator, each written as it comes) and return
    them: on PostgreSQL by COPY, a claimed line's evidence as `encoded` holds it if it
    does; when their rows were `listing`, into a staging table, then one INSERT that takes
    the evidence of lines listed by _compute_listing from contracts_listed (dropped
    after). Bulk INSERT elsewhere."""
    written = []
    if connection.vendor != "postgresql":
        written.extend(lines)
        ClaimLine.objects.bulk_create(
            [
                ClaimLine(
                    claim_id=claim.pk,
                    position=position,
                    kind=line.kind,
                    upn=line.upn,
                    trigger=line.trigger,
                    instance=line.instance,
                    achieved_on=line.achieved_on,
                    amount=line.amount,
                    portions={payer: f"{value:.2f}" for payer, value in line.portions},
                    evidence=list(line.evidence),
                )
                for position, line in enumerate(written, start=1)
            ],
            batch_size=2000,
        )
        return written
    columns = ", ".join(f'"{name}"' for name in LINE_COLUMNS)
    dumps = json.dumps
    portions = {}  # most lines share their portions: written once each
    with connection.cursor() as cursor:
        if listed:
            cursor.execute(STAGED_LINES)
            copying = cursor.cursor.copy(
                f"COPY contracts_staged_line ({columns}, listed) FROM STDIN"
            )
        else:
            # sent in batches by another thread, each batch's lines checked against
            # their claim as it goes, while the next lines are priced here
            copying = CopyInBatches(
                f"COPY contracts_claimline ({columns}) FROM STDIN",
                immediate=(_claim_key(cursor),),
            )
        claim_id = claim.pk
        with copying as copy:
            for position, line in enumerate(lines, start=1):
                written.append(line)
                claimed = line.kind == ClaimLineKind.CLAIM
                listed_id = listed.get(line.key) if claimed else None
                evidence = None
                if not listed_id:
                    evidence = (claimed and encoded.get(line.key)) or dumps(line.evidence)
                shares = portions.get(line.portions)
                if shares is None:
                    shares = portions[line.portions] = (
                        line.amount,
                        dumps({payer: f"{value:.2f}" for payer, value in line.portions}),
                    )
                row = (
                    claim_id,
                    position,
                    line.kind,
                    line.upn,
                    line.trigger,
                    line.instance,
                    line.achieved_on,
                    *shares,  # the amount, the portions
                    evidence,
                )
                copy.write_row((*row, listed_id) if listed else row)
        if listed:
            cursor.execute(INSERT_STAGED)
            cursor.execute("DROP TABLE contracts_staged_line")
        if listing:
            cursor.execute("DROP TABLE contracts_listed")
    return written


def run_claim(*, actor, contract_code: str, period_code: str) -> Claim:
    """Compute the period's claim from the current data and store it as the draft
    (replacing any earlier draft), with the contract version used. Refused for a period
    that has not started: its draft would only repeat what earlier periods hold."""
    ahead = owns_transaction()
    with collector_paused(), transaction.atomic():
        return _run_claim(actor, contract_code, period_code, ahead=ahead)


def _run_claim(actor, contract_code: str, period_code: str, *, ahead: bool) -> Claim:
    contract = _locked_contract(contract_code)
    _evidence_kept(contract_code)
    terms = contract_terms(contract)
    refusal = why_not_computed(_period_or_error(terms, period_code), timezone.localdate())
    if refusal:
        raise ClaimError(refusal)
    claim = _store_draft(contract, terms, period_code, list_registers=False, ahead=ahead)
    record(
        actor=actor,
        action="claim.computed",
        obj=claim,
        summary=f"Draft claim {contract_code} {period_code}: £{claim.total:.2f}",
        changes={"total": claim.total, "lines": claim.lines.count(), "version": contract.version},
    )
    return claim


@collector_paused()
@transaction.atomic
def submit_claim(*, actor, contract_code: str, period_code: str) -> Claim:
    """Recompute the period's claim from the current data and freeze it. Periods are
    submitted in order, once each, and not before their last day (what is achieved by a
    period's end is not known before then). The database then refuses any change."""
    contract = _locked_contract(contract_code)
    _evidence_kept(contract_code)
    terms = contract_terms(contract)
    period = _period_or_error(terms, period_code)
    refusal = why_not_submitted(terms, period, claim_states(contract_code), timezone.localdate())
    if refusal:
        raise ClaimError(refusal)
    draft = (
        Claim.objects.filter(contract_code=contract_code, period_code=period_code)
        .values("total", "computed_at")
        .first()
    )
    claim = _store_draft(contract, terms, period_code, list_registers=True)
    claim.status = ClaimStatus.SUBMITTED
    claim.submitted_at = timezone.now()
    claim.submitted_by = actor if getattr(actor, "pk", None) else None
    claim.save()
    # Adjustments come first in a claim and release what they reverse; a claim never
    # both reverses and claims the same achievement, so the claimed rows go in at once.
    claimed = []
    released_count = 0
    lines = claim.lines.order_by("position").values_list("id", "kind", "upn", "trigger", "instance")
    for line_id, kind, upn, trigger, instance in lines:
        key = {"contract_code": contract_code, "upn": upn, "trigger": trigger, "instance": instance}
        if kind == ClaimLineKind.CLAIM:
            claimed.append(ClaimedAchievement(line_id=line_id, **key))
            continue
        released = ClaimedAchievement.objects.filter(released_by__isnull=True, **key).update(
            released_by_id=line_id
        )
        if released != 1:
            raise ClaimError(
                f"The adjustment for {upn} {trigger} {instance} reverses nothing standing: "
                "nothing was submitted."
            )
        released_count += 1
    ClaimedAchievement.objects.bulk_create(claimed, batch_size=2000)
    # The recompute is the submitter's: it is recorded here, with what it replaced.
    record(
        actor=actor,
        action="claim.submitted",
        obj=claim,
        summary=f"Claim {contract_code} {period_code} recomputed and submitted: £{claim.total:.2f}",
        changes={
            "total": claim.total,
            "payers": claim.payer_totals,
            "version": contract.version,
            "lines": len(claimed) + released_count,
            "computed_at": claim.computed_at,
            "draft_total": draft["total"] if draft else None,
            "draft_computed_at": draft["computed_at"] if draft else None,
        },
    )
    return claim


def _current(claim: Claim) -> None:
    """Refuse a draft that no longer shows what computing it again would give: out of
    date, or with lines whose register rows changed since it was computed."""
    if claim.status != ClaimStatus.DRAFT:
        return
    reason = out_of_date(claim)
    if reason is None:
        changed = draft_registers_changed(claim)
        if changed:
            reason = f"the register rows of {changed} of its lines changed since it was computed"
    if reason is not None:
        raise ClaimError(
            f"The draft claim for {claim.contract_code} {claim.period_code} is out of date "
            f"({reason}): compute it again before downloading it."
        )


@transaction.atomic
def export_statement(*, actor, claim: Claim, payer: str, fmt: str) -> bytes:
    """A payer's statement of a claim as XLSX or PDF (refused for an out-of-date draft, or
    one whose register rows changed since it was computed); the download is audited with
    the payer and format."""
    _current(claim)
    if fmt == "xlsx":
        body = statements.statement_xlsx(claim, payer)
    else:
        body = statements.statement_pdf(claim, payer)
    record(
        actor=actor,
        action="claim.statement_exported",
        obj=claim,
        summary=(
            f"Statement of claim {claim.contract_code} {claim.period_code} ({claim.status}) "
            f"for {payer} downloaded as {fmt.upper()}"
        ),
        changes={"payer": payer, "format": fmt, "status": claim.status},
    )
    return body


def export_evidence(*, actor, claim: Claim):
    """The evidence pack of a claim (every line with its UPN and evidence) as CSV, in
    pieces of text to send as they are read (refused for an out-of-date draft, or one
    whose register rows changed since it was computed); the download is audited."""
    with transaction.atomic():
        _current(claim)
        record(
            actor=actor,
            action="claim.evidence_exported",
            obj=claim,
            summary=(
                f"Evidence pack of claim {claim.contract_code} {claim.period_code} "
                f"({claim.status}) downloaded as CSV, with UPNs"
            ),
            changes={"format": "csv", "status": claim.status},
        )
    return _on_one_snapshot(statements.evidence_csv_pieces(claim))


def _on_one_snapshot(pieces):
    """Yield from `pieces`, read in one transaction that sees the data as it was when it
    began (repeatable read on PostgreSQL), unless a caller's transaction is open."""
    if connection.in_atomic_block:
        yield from pieces
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield from pieces


def _payment_refusal(
    *, claim: Claim, payer: str, amount: Decimal, paid_on: dt.date, today: dt.date
) -> str | None:
    """Why a payment cannot be recorded, or None. The amount is what was received: more
    than 0 and at most what the payer still owes (a credit owed to the payer, settled, is
    negative the same way); it was paid between the claim's submission and today."""
    where = f"{claim.contract_code} {claim.period_code}"
    due = Decimal(claim.payer_totals[payer])
    owed = due - received(claim).get(payer, Decimal("0.00"))
    if owed == 0:
        if due == 0:
            return f"Nothing is due from {payer} for {where}."
        return f"{payer} has paid all of its {pounds(due)} for {where}: nothing is still due."
    if owed > 0 and amount <= 0:
        return f"The amount must be more than £0.00: {payer} still owes {pounds(owed)}."
    if owed < 0 and amount >= 0:
        return (
            f"The claim owes {payer} a credit of {pounds(-owed)}: record what was settled "
            "as a negative amount."
        )
    if abs(amount) > abs(owed):
        if owed > 0:
            return (
                f"{pounds(amount)} is more than the {pounds(owed)} {payer} still owes for {where}."
            )
        return (
            f"{pounds(-amount)} is more than the credit of {pounds(-owed)} still owed to {payer}."
        )
    submitted_on = timezone.localdate(claim.submitted_at)
    if paid_on > today:
        return f"The day paid, {day(paid_on)}, is after today ({day(today)})."
    if paid_on < submitted_on:
        return (
            f"The day paid, {day(paid_on)}, is before the claim was submitted "
            f"({day(submitted_on)})."
        )
    return None


@transaction.atomic
def record_payment(
    *,
    actor,
    contract_code: str,
    period_code: str,
    payer: str,
    amount: Decimal,
    paid_on: dt.date,
    reference: str = "",
) -> Payment:
    """Record a payment received from one payer for a submitted claim: more than 0 and at
    most what the payer still owes (a payer may pay in parts; a credit is recorded as a
    negative amount), paid between the claim's submission and today. When every payer's
    payments add up to its due the claim is marked paid (its one permitted change)."""
    claim = (
        Claim.objects.select_for_update()
        .filter(contract_code=contract_code, period_code=period_code)
        .first()
    )
    if claim is None or claim.status == ClaimStatus.DRAFT:
        raise ClaimError(f"There is no submitted claim for {contract_code} {period_code}.")
    if payer not in claim.payer_totals:
        raise ClaimError(f"The claim for {contract_code} {period_code} has nothing for {payer}.")
    refusal = _payment_refusal(
        claim=claim, payer=payer, amount=amount, paid_on=paid_on, today=timezone.localdate()
    )
    if refusal:
        raise ClaimError(refusal)
    payment = Payment.objects.create(
        claim=claim,
        payer_code=payer,
        amount=amount,
        paid_on=paid_on,
        reference=reference,
        recorded_by=actor if getattr(actor, "pk", None) else None,
        recorded_at=timezone.now(),
    )
    due = Decimal(claim.payer_totals[payer])
    paid = received(claim)
    if all(paid.get(code, 0) == Decimal(value) for code, value in claim.payer_totals.items()):
        claim.status = ClaimStatus.PAID
        claim.save(update_fields=["status"])
    if claim.status == ClaimStatus.PAID:
        standing = ": every payer has paid in full"
    elif paid[payer] == due:
        standing = f": {payer} has paid in full"
    else:
        standing = f": part paid, {pounds(paid[payer])} of {pounds(due)}"
    record(
        actor=actor,
        action="claim.payment_recorded",
        obj=claim,
        summary=(
            f"{payer} paid {pounds(amount)} for claim {contract_code} {period_code} on "
            f"{day(paid_on)}{standing}"
        ),
        changes={
            "payer": payer,
            "amount": amount,
            "due": due,
            "received": paid[payer],
            "paid_on": paid_on,
            "reference": reference,
            "status": claim.status,
        },
    )
    return payment


@transaction.atomic
def remove_payment_evidence(*, actor, contract_code: str, today) -> int:
    """At the end of a contract's audit period (its end plus
    LINKWORK_PAYMENT_EVIDENCE_YEARS), remove the children from its claims: each submitted
    line's UPN and evidence are emptied (the one change the database lets through),
    the register of claimed achievements is deleted, drafts are discarded. Totals,
    payers' totals and each line's trigger, date and amounts stay as the accounts' record.
    Returns the number of lines emptied."""
    from linkwork.core.dates import years_after
    from linkwork.people.erasure import evidence_years

    contract = _locked_contract(contract_code)
    kept_until = years_after(contract_terms(contract).ends_on, evidence_years())
    if today <= kept_until:
        raise ClaimError(
            f"The payment evidence of contract {contract_code} is kept until {day(kept_until)}."
        )
    Claim.objects.filter(contract_code=contract_code, status=ClaimStatus.DRAFT).delete()
    removed = ClaimLine.objects.filter(
        claim__contract_code=contract_code, evidence_removed_at__isnull=True
    ).update(upn="", evidence=[], evidence_removed_at=timezone.now())
    ClaimedAchievement.objects.filter(contract_code=contract_code).delete()
    record(
        actor=actor,
        action="contract.evidence_removed",
        obj=contract,
        summary=(
            f"Payment evidence of contract {contract_code} removed: its audit period ended "
            f"on {kept_until}"
        ),
        changes={"lines": removed, "kept_until": kept_until.isoformat()},
    )
    return removed
