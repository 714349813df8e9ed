"""Reads for contracts and claims: the engine's inputs in bounded queries, claims as JSON."""

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Max, QuerySet, Sum
from django.utils import timezone
from django.utils.formats import date_format

from linkwork.core.threads import read_ahead
from linkwork.measures.models import Score
from linkwork.people.models import (
    Attainment,
    Cohort,
    Consent,
    Enrolment,
    Erasure,
    Pupil,
    Purpose,
)
from linkwork.support.models import RegisterEntry, Service

from .achievements import (
    REGISTERS,
    AttainmentFact,
    ChildFacts,
    ConsentFact,
    EnrolmentFact,
    PeriodTally,
    RegisterFact,
    ScoreFact,
    child_window,
    find_achievements,
    in_register_order,
    read_counts,
    tally_of,
)
from .claims import ClaimResult, Line, claim_heading_as_json, line_as_json
from .models import Claim, ClaimLine, ClaimLineKind, ClaimStatus, Contract, Payment
from .terms import ContractTerms, terms_from_document

CHUNK = 2000


def erased_upns() -> frozenset[str]:
    """The UPNs of erased children, whose submitted claim lines stand as they are."""
    return frozenset(Erasure.objects.values_list("upn", flat=True))


@dataclass(frozen=True)
class KeptEvidence:
    """A contract whose submitted claims still hold children's UPNs and evidence, and the
    last day they must be kept (the contract's end plus the audit period)."""

    contract_code: str
    name: str
    ends_on: dt.date
    kept_until: dt.date
    lines: int


def evidence_past_keeping(today: dt.date) -> list[KeptEvidence]:
    """The contracts whose payment evidence is past its keeping on `today`."""
    from linkwork.core.dates import years_after
    from linkwork.people.erasure import evidence_years

    holding = (
        ClaimLine.objects.filter(evidence_removed_at__isnull=True)
        .exclude(claim__status=ClaimStatus.DRAFT)
        .values("claim__contract_code")
        .annotate(lines=Count("id"))
        .order_by("claim__contract_code")
    )
    past = []
    for row in holding:
        contract = latest_contract(row["claim__contract_code"])
        if contract is None:
            continue
        ends_on = contract_terms(contract).ends_on
        kept_until = years_after(ends_on, evidence_years())
        if kept_until < today:
            past.append(
                KeptEvidence(contract.code, contract.name, ends_on, kept_until, row["lines"])
            )
    return past


def evidence_removed_on(contract_code: str) -> dt.datetime | None:
    """When the contract's payment evidence was removed, if it was."""
    return (
        ClaimLine.objects.filter(claim__contract_code=contract_code)
        .aggregate(removed=Max("evidence_removed_at"))
        .get("removed")
    )


def latest_contract(code: str) -> Contract | None:
    return Contract.objects.filter(code=code).order_by("-version").first()


def contract_terms(contract: Contract) -> ContractTerms:
    return terms_from_document(contract.document, version=contract.version)


@dataclass
class _Members:
    """The children enrolled in a contract, as load_children reads their facts."""

    enrolments: QuerySet  # the contract's enrolments
    by_pupil: dict  # {pupil id: [EnrolmentFact]}
    upns: dict  # {pupil id: UPN}
    services: dict  # {service id: code}, when register rows are read here


def load_children(
    terms: ContractTerms,
    *,
    chunk: int | None = None,
    pupil_id: int | None = None,
    snapshot: str | None = None,
):
    """Yield lists of ChildFacts, `chunk` children at a time, for every child enrolled in
    the contract (or just one pupil): a fixed handful of queries per chunk, never one per
    child. A chunk's rows are selected by a range of pupil ids within the enrolments, so
    a query's size does not grow with the chunk. With `snapshot` (PostgreSQL, see
    core.threads) the chunks are read ahead by other threads on that snapshot, while
    the caller works on the one yielded."""
    chunk = chunk or CHUNK
    members = _members(terms, pupil_id)
    pupil_ids = sorted(members.by_pupil)
    chunks = [pupil_ids[start : start + chunk] for start in range(0, len(pupil_ids), chunk)]

    def read(ids):
        return _children(terms, members, ids)

    if snapshot is None:
        for ids in chunks:
            yield read(ids)
        return
    yield from read_ahead(read, chunks, snapshot=snapshot, begin=no_jit, name="claim read-ahead")


def no_jit() -> None:
    """A claim run's statements are short and many: compiling them (PostgreSQL's JIT)
    costs more than it saves. For the rest of the transaction."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")


def _members(terms: ContractTerms, pupil_id: int | None) -> _Members:
    by_pupil = defaultdict(list)
    upns = {}
    enrolments = Enrolment.objects.filter(
        cohort__code__in=terms.cohorts,
        enrolled_on__gte=terms.starts_on,
        enrolled_on__lte=terms.ends_on,
    )
    if pupil_id is not None:
        enrolments = enrolments.filter(pupil_id=pupil_id)
    rows = enrolments.order_by("pupil_id", "enrolled_on").values_list(
        "id", "pupil_id", "pupil__upn", "cohort__code", "enrolled_on", "ended_on"
    )
    for pk, pupil, upn, cohort, enrolled_on, ended_on in rows.iterator(chunk_size=5000):
        by_pupil[pupil].append(EnrolmentFact(cohort, enrolled_on, ended_on, pk))
        upns[pupil] = upn
    services = {}
    if any(t.kind == "engagement" for t in terms.triggers) and connection.vendor != "postgresql":
        services = dict(Service.objects.values_list("id", "code"))
    return _Members(enrolments, by_pupil, upns, services)


def _children(terms: ContractTerms, members: _Members, ids: list[int]) -> list[ChildFacts]:
    """The facts of the children `ids` (in order), in a fixed handful of queries."""
    kinds = {t.kind for t in terms.triggers}
    score_triggers = [t for t in terms.triggers if t.measure == "score"]
    subjects = sorted({t.subject for t in terms.triggers if t.measure == "attainment"})
    enrolments = members.by_pupil
    in_chunk = members.enrolments.filter(pupil_id__gte=ids[0], pupil_id__lte=ids[-1]).values(
        "pupil_id"
    )
    consents = defaultdict(list)
    for pk, pupil, given_on, withdrawn_on in Consent.objects.filter(
        pupil_id__in=in_chunk, purpose=Purpose.EVIDENCE
    ).values_list("id", "pupil_id", "given_on", "withdrawn_on"):
        consents[pupil].append(ConsentFact(given_on, withdrawn_on, pk))
    registers = defaultdict(list)
    tallies = None
    if "engagement" in kinds and connection.vendor == "postgresql":
        tallies = _tallies_in_database(terms, ids, enrolments)
    elif "engagement" in kinds:
        services = members.services
        for pk, pupil, service_id, day, attended, engaged in (
            RegisterEntry.objects.filter(
                pupil_id__in=in_chunk,
                session_date__gte=terms.starts_on,
                session_date__lte=terms.ends_on,
            )
            .values_list("id", "pupil_id", "service_id", "session_date", "attended", "engaged")
            .iterator(chunk_size=20000)
        ):
            registers[pupil].append(
                RegisterFact(day, attended, engaged, services.get(service_id, ""), pk)
            )
    scores = defaultdict(list)
    if score_triggers:
        instruments = sorted({t.instrument for t in score_triggers})
        scales = sorted({t.scale for t in score_triggers})
        for pk, pupil, instrument, scale, day, respondent, value in Score.objects.filter(
            administration__pupil_id__in=in_chunk,
            administration__instrument_code__in=instruments,
            scale__in=scales,
        ).values_list(
            "id",
            "administration__pupil_id",
            "administration__instrument_code",
            "scale",
            "administration__administered_on",
            "administration__respondent",
            "score",
        ):
            scores[pupil].append(ScoreFact(day, instrument, scale, respondent, Decimal(value), pk))
    attainment = defaultdict(list)
    if subjects:
        for pk, pupil, day, subject, value, expected in Attainment.objects.filter(
            pupil_id__in=in_chunk, subject__in=subjects
        ).values_list("id", "pupil_id", "assessed_on", "subject", "value", "expected"):
            attainment[pupil].append(
                AttainmentFact(day, subject, Decimal(value), Decimal(expected), pk)
            )
    return [
        ChildFacts(
            upn=members.upns[pupil_id],
            enrolments=tuple(enrolments[pupil_id]),
            consents=tuple(consents[pupil_id]),
            registers=tuple(registers[pupil_id]),
            scores=tuple(scores[pupil_id]),
            attainment=tuple(attainment[pupil_id]),
            tallies=tuple(tallies.get(pupil_id, ())) if tallies is not None else None,
            pupil_id=pupil_id,
        )
        for pupil_id in ids
    ]


# The same counts as achievements.tally_registers, done by PostgreSQL in one statement per
# chunk of children: rows inside each child's window, per claim period. Periods are
# contiguous, so a row's period is found by width_bucket over their first days (plus the
# day after the last period): 1 is the first period. Joining the periods as a table
# instead makes PostgreSQL compare every row with every period. Each child's rows are
# counted on their own (one index range scan, already in date order, so the sort by
# period is a pass), which is cheaper than one hash table for the chunk. The rows
# themselves are listed afterwards only for the child-periods achieved.
# A child-period's rows counted: sessions, attended, attended and engaged.
ROW_COUNTS = """count(*) AS sessions,
           count(*) FILTER (WHERE r.attended) AS attended,
           count(*) FILTER (WHERE r.attended AND r.engaged) AS engaged"""

TALLY_SQL = f"""
SELECT w.pupil_id, t.period, t.sessions, t.attended, t.engaged
FROM unnest(%s::bigint[], %s::date[], %s::date[]) AS w(pupil_id, first_day, last_day)
CROSS JOIN LATERAL (
    SELECT width_bucket(r.session_date, %s::date[]) AS period, {ROW_COUNTS}
    FROM support_registerentry r
    WHERE r.pupil_id = w.pupil_id AND r.session_date BETWEEN w.first_day AND w.last_day
      AND r.session_date BETWEEN %s AND %s
    GROUP BY 1
) AS t
"""  # noqa: S608 - constant text

# The text of one child-period's register rows, as achievements.register_text, in date,
# service, id order; `k` names the child, first day and last day. Dates are written by
# their output function (see ISO_DATES) and codes ordered by code point, as Python does.
# (The select list's last item and what follows, for REGISTERS_TEXT and COUNTED_ROWS_SQL.)
LISTED_ROWS = """
    string_agg(
        '#' || r.id || ' ' || s.code || ' ' || r.session_date
        || CASE WHEN NOT r.attended THEN ' N-' WHEN r.engaged THEN ' YY' ELSE ' YN' END,
        '; ' ORDER BY r.session_date, s.code COLLATE "C", r.id) AS text
    FROM support_registerentry r
    JOIN support_service s ON s.id = r.service_id
    WHERE r.pupil_id = k.pupil_id AND r.session_date BETWEEN k.first_day AND k.last_day
"""
REGISTERS_TEXT = f"SELECT {LISTED_ROWS}"

# REGISTERS_TEXT writes dates with their output function, YYYY-MM-DD in the ISO style
# (which psycopg needs anyway); set for the rest of the transaction so it never depends
# on a server's default.
ISO_DATES = "SET LOCAL DateStyle = 'ISO'"

# The rows of each (child, first day, last day, period): one index range scan per
# child-period, aggregated on the spot (no sort of the lot).
ROWS_SQL = f"""
SELECT k.pupil_id, k.code, x.text
FROM unnest(%s::bigint[], %s::date[], %s::date[], %s::text[])
     AS k(pupil_id, first_day, last_day, code)
CROSS JOIN LATERAL ({REGISTERS_TEXT}) AS x
WHERE x.text IS NOT NULL
"""  # noqa: S608 - constant text


def _array(values) -> str:
    """A PostgreSQL array literal of ids, dates or codes (codes are validated: no quotes,
    commas or braces), passed as one parameter rather than adapted value by value."""
    return "{" + ",".join(str(v) for v in values) + "}"


def _tallies_in_database(terms: ContractTerms, ids, enrolments) -> dict[int, list]:
    windows = []
    for pupil_id in ids:
        window = child_window(terms, ChildFacts("", enrolments=tuple(enrolments[pupil_id])))
        if window is not None:
            windows.append((pupil_id, window.starts_on, window.ends_on))
    tallies = defaultdict(list)
    periods = terms.periods
    if not windows or not periods:
        return tallies
    bounds = [p.starts_on for p in periods] + [periods[-1].ends_on + dt.timedelta(days=1)]
    with connection.cursor() as cursor:
        cursor.execute(
            TALLY_SQL,
            [
                _array(w[0] for w in windows),
                _array(w[1] for w in windows),
                _array(w[2] for w in windows),
                _array(bounds),
                periods[0].starts_on,
                periods[-1].ends_on,
            ],
        )
        counted = sorted(cursor.fetchall())
    for pupil_id, bucket, sessions, attended, engaged in counted:
        tallies[pupil_id].append(PeriodTally(periods[bucket - 1].code, sessions, attended, engaged))
    return tallies


def listing_keys(terms: ContractTerms, children, found) -> dict:
    """For each engagement achievement whose counts came from the database, what its
    register rows are: {(UPN, period code): (pupil id, first day, last day)}."""
    counted = {c.upn: c for c in children if c.tallies is not None and c.pupil_id is not None}
    engagement = {t.code for t in terms.triggers if t.kind == "engagement"}
    periods = {p.code: p for p in terms.periods}
    windows = {}
    keys = {}
    for achievement in found:
        child = counted.get(achievement.upn)
        if child is None or achievement.trigger not in engagement:
            continue
        window = windows.get(child.upn)
        if window is None:
            window = windows[child.upn] = child_window(terms, child)
        period = periods[achievement.instance]
        first = max(period.starts_on, window.starts_on)
        last = min(period.ends_on, window.ends_on)
        keys[(achievement.upn, period.code)] = (child.pupil_id, first, last)
    return keys


def achievements_for(terms: ContractTerms, children: list[ChildFacts]) -> list:
    """find_achievements, with the register rows listed in the evidence of engagement
    achievements whose counts came from the database (one query per chunk)."""
    found = find_achievements(terms, children)
    keys = listing_keys(terms, children, found)
    if not keys:
        return found
    codes = {(pupil_id, code): upn for (upn, code), (pupil_id, _, _) in keys.items()}
    values = [(pupil_id, first, last, code) for (_, code), (pupil_id, first, last) in keys.items()]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(ISO_DATES)
        cursor.execute(ROWS_SQL, [_array(v[i] for v in values) for i in range(4)])
        listed = {(codes[(pupil_id, code)], code): text for pupil_id, code, text in cursor}
    out = []
    for achievement in found:
        text = listed.get((achievement.upn, achievement.instance))
        if text is not None and (achievement.upn, achievement.instance) in keys:
            evidence = tuple(
                REGISTERS + text if item == REGISTERS else item for item in achievement.evidence
            )
            achievement = replace(achievement, evidence=evidence)
        out.append(achievement)
    return out


# Each child-period's register rows counted (as TALLY_SQL counts them) and, in
# COUNTED_ROWS_SQL, listed as REGISTERS_TEXT lists them, for reading a draft: `k` names
# the child-period by its place in the batch.
_COUNTED = """
SELECT k.place, x.sessions, x.attended, x.engaged, {text}
FROM unnest(%s::integer[], %s::bigint[], %s::date[], %s::date[])
     AS k(place, pupil_id, first_day, last_day)
CROSS JOIN LATERAL (
    SELECT {counts}, {rows}
) AS x
"""
COUNTED_ROWS_SQL = _COUNTED.format(text="x.text", counts=ROW_COUNTS, rows=LISTED_ROWS)
COUNTED_SQL = _COUNTED.format(
    text="''",
    counts=ROW_COUNTS,
    rows="""'' AS text
    FROM support_registerentry r
    WHERE r.pupil_id = k.pupil_id AND r.session_date BETWEEN k.first_day AND k.last_day""",
)

# What a draft line's register rows say when they no longer add up to its counts.
CHANGED = (
    REGISTERS + "changed since this draft was computed ({sessions} sessions, {attended} "
    "attended, {engaged} engaged now): compute the draft again"
)


def list_draft_registers(rows, *, text: bool = True) -> int:
    """Write the register rows into the evidence of these lines of a draft claim (rows of
    ClaimLine, changed in memory only, never saved), read now: a draft carries only their
    counts and days. The rows must still add up to the counts; a line whose rows do not
    says so instead. Returns the number of such lines. One query per 2,000 lines. Without
    `text` the rows are only counted, and the lines left as they are."""
    pending = []
    for row in rows:
        evidence = row.evidence
        if REGISTERS not in evidence:
            continue
        slot = evidence.index(REGISTERS)
        counts = read_counts(evidence[slot - 1]) if slot else None
        if counts is not None:
            pending.append((row, slot, counts))
    changed = 0
    for start in range(0, len(pending), CHUNK):
        batch = pending[start : start + CHUNK]
        pupils = dict(
            Pupil.objects.filter(upn__in={row.upn for row, _, _ in batch}).values_list("upn", "id")
        )
        keys = [
            (place, pupils[row.upn], counts[0], counts[1])
            for place, (row, _, counts) in enumerate(batch)
            if row.upn in pupils
        ]
        found = _counted_rows(keys, text=text)
        for place, (row, slot, counts) in enumerate(batch):
            sessions, attended, engaged, listed = found.get(place, (0, 0, 0, ""))
            if (sessions, attended, engaged) == counts[2:]:
                item = REGISTERS + listed
            else:
                changed += 1
                item = CHANGED.format(sessions=sessions, attended=attended, engaged=engaged)
            if text:
                row.evidence = [*row.evidence[:slot], item, *row.evidence[slot + 1 :]]
    return changed


def draft_registers_changed(claim: Claim) -> int:
    """How many lines of a draft claim count register rows that no longer add up to what
    it was computed with (counted now, not listed)."""
    return sum(
        list_draft_registers(batch, text=False) for batch in line_batches(claim, listed=False)
    )


def _counted_rows(keys, *, text: bool = True) -> dict[int, tuple[int, int, int, str]]:
    """{place: (sessions, attended, engaged, rows as text)} for each (place, pupil id,
    first day, last day) with any rows; without `text`, the text left empty (PostgreSQL;
    elsewhere it comes anyway)."""
    if not keys:
        return {}
    if connection.vendor == "postgresql":
        sql = COUNTED_ROWS_SQL if text else COUNTED_SQL
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(ISO_DATES)
            cursor.execute(sql, [_array(k[i] for k in keys) for i in range(4)])
            return {
                place: (sessions, attended, engaged, text)
                for place, sessions, attended, engaged, text in cursor
                if sessions
            }
    facts = defaultdict(list)
    for pk, pupil, service, day, attended, engaged in RegisterEntry.objects.filter(
        pupil_id__in={k[1] for k in keys},
        session_date__gte=min(k[2] for k in keys),
        session_date__lte=max(k[3] for k in keys),
    ).values_list("id", "pupil_id", "service__code", "session_date", "attended", "engaged"):
        facts[pupil].append(RegisterFact(day, attended, engaged, service, pk))
    found = {}
    for place, pupil, first, last in keys:
        rows = in_register_order(r for r in facts[pupil] if first <= r.date <= last)
        if rows:
            tally = tally_of("", rows)
            found[place] = (tally.sessions, tally.attended, tally.engaged, tally.rows)
    return found


def line_batches(claim: Claim, *, chunk: int = CHUNK, listed: bool = True):
    """The claim's lines in order, a list of `chunk` at a time (keyset on position); a
    draft's with their register rows listed now (list_draft_registers), unless not
    `listed`."""
    rows = claim.lines.order_by("position")
    last = 0
    while batch := list(rows.filter(position__gt=last)[:chunk]):
        if listed and claim.status == ClaimStatus.DRAFT:
            list_draft_registers(batch)
        yield batch
        last = batch[-1].position


def line_from_row(row: ClaimLine) -> Line:
    return Line(
        kind=row.kind,
        upn=row.upn,
        trigger=row.trigger,
        instance=row.instance,
        achieved_on=row.achieved_on,
        portions=tuple((payer, Decimal(value)) for payer, value in row.portions.items()),
        evidence=tuple(row.evidence),
    )


def _submitted_rows(contract_code: str):
    return (
        ClaimLine.objects.filter(claim__contract_code=contract_code)
        .exclude(claim__status=ClaimStatus.DRAFT)
        .order_by("claim__submitted_at", "claim_id", "position")
    )


def submitted_lines(contract_code: str, *, evidence: bool = True) -> list[Line]:
    """Every line of the contract's submitted (or paid) claims, in submission order.
    Without `evidence` the lines carry none: a claim needs only the evidence of the
    lines it reverses (standing_evidence), and the rest can be large."""
    rows = _submitted_rows(contract_code)
    if evidence:
        return [line_from_row(row) for row in rows]
    return [
        Line(
            kind=kind,
            upn=upn,
            trigger=trigger,
            instance=instance,
            achieved_on=achieved_on,
            portions=tuple((payer, Decimal(value)) for payer, value in portions.items()),
        )
        for kind, upn, trigger, instance, achieved_on, portions in rows.values_list(
            "kind", "upn", "trigger", "instance", "achieved_on", "portions"
        ).iterator(chunk_size=5000)
    ]


def standing_evidence(contract_code: str, keys) -> dict:
    """{(UPN, trigger, instance): evidence} of the line each of these achievements stands
    with in the submitted claims (its latest claim line)."""
    keys = set(keys)
    upns = sorted({upn for upn, _, _ in keys})
    found = {}
    for start in range(0, len(upns), 500):
        rows = (
            _submitted_rows(contract_code)
            .filter(kind=ClaimLineKind.CLAIM, upn__in=upns[start : start + 500])
            .values_list("upn", "trigger", "instance", "evidence")
        )
        for upn, trigger, instance, evidence in rows:
            if (upn, trigger, instance) in keys:
                found[(upn, trigger, instance)] = tuple(evidence)  # the latest wins
    return found


def reversed_lines(claim: Claim, keys) -> dict:
    """{(UPN, trigger, instance): (period code, line position, achieved on)} of the line
    each of these achievements stood with before `claim`: what its adjustments reverse."""
    keys = set(keys)
    found = {}
    rows = (
        _submitted_rows(claim.contract_code)
        .filter(kind=ClaimLineKind.CLAIM, upn__in=sorted({upn for upn, _, _ in keys}))
        .exclude(claim=claim)
    )
    if claim.submitted_at is not None:
        rows = rows.filter(claim__submitted_at__lt=claim.submitted_at)
    for upn, trigger, instance, period, position, achieved_on in rows.values_list(
        "upn", "trigger", "instance", "claim__period_code", "position", "achieved_on"
    ):
        if (upn, trigger, instance) in keys:
            found[(upn, trigger, instance)] = (period, position, achieved_on)  # the latest wins
    return found


def claim_json(claim: Claim, *, chunk: int = CHUNK):
    """A stored claim as the spec's JSON, in pieces of text: its heading, then its lines
    read `chunk` at a time (a draft's with their register rows listed), so a claim of
    any size is written without holding it all. Parsed, it is
    claim_as_json(claim_result(claim))."""
    text = json.dumps(claim_heading_as_json(_heading(claim), status=claim.status), indent=1)
    yield text[:-2] + ',\n "lines": ['
    separator = "\n"
    for batch in line_batches(claim, chunk=chunk):
        for row in batch:
            yield separator + "  " + json.dumps(line_as_json(line_from_row(row)))
            separator = ",\n"
    yield "\n ]\n}\n"


def claim_result(claim: Claim) -> ClaimResult:
    """A stored claim as the engine's result, whole (claim_json writes it in pieces); a
    draft's register rows listed."""
    return replace(
        _heading(claim),
        lines=tuple(line_from_row(row) for batch in line_batches(claim) for row in batch),
    )


def _heading(claim: Claim) -> ClaimResult:
    """A stored claim's totals as the engine's result, without its lines."""
    return ClaimResult(
        contract=claim.contract_code,
        period=claim.period_code,
        lines=(),
        total=claim.total,
        payers=tuple((payer, Decimal(value)) for payer, value in claim.payer_totals.items()),
    )


def claims_for_contract(contract_code: str):
    return Claim.objects.filter(contract_code=contract_code).select_related(
        "contract", "submitted_by"
    )


def day(value: dt.date) -> str:
    """A date as the pages and messages write it: 31 Dec 2026."""
    return date_format(value, "j M Y")


def pounds(value) -> str:
    """Money as the pages and messages write it: £26,500.00, -£50.01."""
    value = Decimal(value)
    return f"{'-' if value < 0 else ''}£{abs(value):,.2f}"


def listed(codes) -> str:
    """Codes in a sentence: "T1", "T1 and T2", "T1, T2 and T3"."""
    codes = list(codes)
    if len(codes) < 2:
        return "".join(codes)
    return f"{', '.join(codes[:-1])} and {codes[-1]}"


def why_not_computed(period, today: dt.date) -> str | None:
    """Why no draft can be computed for a period now, or None: it has not started (a
    draft would only repeat what earlier periods hold, and count as covering it)."""
    if period.starts_on > today:
        return (
            f"Period {period.code} starts on {day(period.starts_on)}: no claim can be "
            "computed for it before then."
        )
    return None


def claim_states(contract_code: str):
    """The contract's claims with only what the submit rules read: period, status and
    submission time."""
    return Claim.objects.filter(contract_code=contract_code).only(
        "period_code", "status", "submitted_at"
    )


def why_not_submitted(terms: ContractTerms, period, claims, today: dt.date) -> str | None:
    """Why the period's claim cannot be submitted now, as a sentence, or None. A claim is
    submitted once; not before the period's last day (what is achieved by its end is not
    known before then); and only after every earlier period's (`claims`: the contract's)."""
    done = {c.period_code: c for c in claims if c.status != ClaimStatus.DRAFT}
    if period.code in done:
        when = timezone.localtime(done[period.code].submitted_at)
        return (
            f"The claim for {period.code} was submitted on {day(when)} at {when:%H:%M}: a "
            "submitted claim never changes."
        )
    if period.ends_on > today:
        return (
            f"Can be submitted from {day(period.ends_on)}, the last day of {period.code}: "
            "until then a draft can be computed, but its lines may still change."
        )
    earlier = [p.code for p in terms.periods[: terms.periods.index(period)]]
    missing = [code for code in earlier if code not in done]
    if missing:
        return f"Submit {listed(missing)} first: periods are claimed in order."
    return None


def _period_starts_on(claim: Claim) -> dt.date | None:
    for period in claim.contract.document.get("periods", ()):
        if period["code"] == claim.period_code:
            return dt.date.fromisoformat(period["starts_on"])
    return None


def out_of_date(claim: Claim, *, claims=None, version: int | None = None) -> str | None:
    """Why a draft no longer shows what computing it again would give, or None: it was
    computed with an earlier version of the contract, before its period started (left
    from before such drafts were refused: it would count the period as covered), or
    before a claim of the contract was submitted (whose lines it may repeat). `claims`
    (the contract's) and `version` (the latest) save the queries when the caller has
    them. Data changed since it was computed is not detected: the page says when it was
    computed."""
    if claim.status != ClaimStatus.DRAFT:
        return None
    if version is None:
        version = latest_contract(claim.contract_code).version
    if claim.contract.version != version:
        return (
            f"computed with version {claim.contract.version} of the contract, which is now "
            f"at version {version}"
        )
    starts_on = _period_starts_on(claim)
    computed_on = timezone.localtime(claim.computed_at).date()
    if starts_on is not None and computed_on < starts_on:
        return f"computed on {day(computed_on)}, before its period started on {day(starts_on)}"
    if claims is None:
        claims = claims_for_contract(claim.contract_code).exclude(status=ClaimStatus.DRAFT)
    later = [
        c
        for c in claims
        if c.status != ClaimStatus.DRAFT and c.submitted_at and c.submitted_at > claim.computed_at
    ]
    if later:
        first = min(later, key=lambda c: c.submitted_at)
        when = date_format(timezone.localtime(first.submitted_at), "j M Y H:i")
        return f"computed before the claim for {first.period_code} was submitted on {when}"
    return None


def missing_cohorts(terms: ContractTerms) -> list[str]:
    """The cohorts a contract lists that no cohort in the data has (yet): nobody in them
    belongs to the contract until they are loaded."""
    known = set(Cohort.objects.filter(code__in=terms.cohorts).values_list("code", flat=True))
    return [code for code in terms.cohorts if code not in known]


def latest_contracts():
    """The latest version of every contract, by code."""
    latest = {}
    for contract in Contract.objects.order_by("code", "-version"):
        latest.setdefault(contract.code, contract)
    return list(latest.values())


def _is_funder(user) -> bool:
    from linkwork.accounts.models import Role

    return user.role == Role.FUNDER


def contracts_visible_to(user) -> list[Contract]:
    """Managers and administrators see every contract; a funder those naming their payer."""
    contracts = latest_contracts()
    if _is_funder(user):
        return [c for c in contracts if user.payer_code in payer_codes(c)]
    return contracts


def payer_codes(contract: Contract) -> list[str]:
    return [payer["code"] for payer in contract.document["payers"]]


def claims_visible_to(user, contract_code: str) -> list[Claim]:
    """A funder sees only submitted or paid claims with a portion for their payer."""
    claims = list(claims_for_contract(contract_code).order_by("computed_at"))
    if _is_funder(user):
        return [
            c for c in claims if c.status != ClaimStatus.DRAFT and user.payer_code in c.payer_totals
        ]
    return claims


def cap_usage(contract: Contract, *, payer: str | None = None) -> dict:
    """How much of each cap the submitted claims have used. For one `payer` (a funder's
    view) that payer's alone: the contract's and children's totals add up every payer's."""
    terms = contract_terms(contract)
    by_payer = defaultdict(Decimal)
    by_child = defaultdict(Decimal)
    total = Decimal(0)
    rows = (
        ClaimLine.objects.filter(claim__contract_code=contract.code)
        .exclude(claim__status=ClaimStatus.DRAFT)
        .values_list("upn", "amount", "portions")
    )
    for upn, amount, portions in rows.iterator():
        total += amount
        by_child[upn] += amount
        for code, value in portions.items():
            by_payer[code] += Decimal(value)
    children_at_cap = 0
    if terms.cap_per_child is not None:
        children_at_cap = sum(1 for v in by_child.values() if v >= terms.cap_per_child)
    payers = [
        {"code": p.code, "name": p.name, "cap": p.cap, "used": by_payer.get(p.code, Decimal(0))}
        for p in terms.payers
        if payer in (None, p.code)
    ]
    if payer is not None:
        return {"payer_only": True, "contract_cap": terms.cap_contract, "payers": payers}
    return {
        "total": total,
        "contract_cap": terms.cap_contract,
        "per_child_cap": terms.cap_per_child,
        "most_for_one_child": max(by_child.values(), default=Decimal(0)),
        "children_at_cap": children_at_cap,
        "payers": payers,
    }


def forecast_draft(terms: ContractTerms, claims) -> Claim | None:
    """The draft a forecast counts: of the drafts not out of date, the latest period's
    (a draft holds everything due by its period's end that no submitted claim holds)."""
    order = terms.period_order()
    current = [
        c
        for c in claims
        if c.status == ClaimStatus.DRAFT
        and out_of_date(c, claims=claims, version=terms.version) is None
    ]
    return max(current, key=lambda c: order.get(c.period_code, -1), default=None)


def children_in_contract(terms: ContractTerms) -> int:
    """How many children belong to the contract: enrolled in a listed cohort inside it."""
    return (
        Enrolment.objects.filter(
            cohort__code__in=terms.cohorts,
            enrolled_on__gte=terms.starts_on,
            enrolled_on__lte=terms.ends_on,
        )
        .values("pupil_id")
        .distinct()
        .count()
    )


def forecast_inputs(
    terms: ContractTerms, claims, draft: Claim | None = None, *, today: dt.date | None = None
) -> dict:
    """The forecast's inputs: net achievements per trigger and payments per payer in the
    submitted claims and `draft`, the periods they cover, and the contract's children.
    A period that has not started by `today` is never covered: it is projected."""
    today = today or timezone.localdate()
    ids = [c.pk for c in claims if c.status != ClaimStatus.DRAFT]
    covered = [c.period_code for c in claims if c.status != ClaimStatus.DRAFT]
    if draft is not None:
        ids.append(draft.pk)
        order = terms.period_order()
        covered += [p.code for p in terms.periods if order[p.code] <= order[draft.period_code]]
    started = {p.code for p in terms.periods if p.starts_on <= today}
    covered = [code for code in covered if code in started]
    counts = defaultdict(int)
    paid = defaultdict(Decimal)
    rows = ClaimLine.objects.filter(claim_id__in=ids).values_list("kind", "trigger", "portions")
    for kind, trigger, portions in rows.iterator():
        counts[trigger] += 1 if kind == ClaimLineKind.CLAIM else -1
        for payer, value in portions.items():
            paid[payer] += Decimal(value)
    return {
        "covered": sorted(set(covered), key=terms.period_order().get),
        "counts": dict(counts),
        "paid_so_far": dict(paid),
        "children": children_in_contract(terms),
    }


def received(claim: Claim) -> dict[str, Decimal]:
    """{payer: what its payments for the claim add up to} (payers who paid anything)."""
    return received_by_claim([claim]).get(claim.pk, {})


def received_by_claim(claims) -> dict[int, dict[str, Decimal]]:
    """{claim id: {payer: what its payments add up to}} for many claims: one query."""
    out = defaultdict(dict)
    rows = (
        Payment.objects.filter(claim__in=claims)
        .values_list("claim_id", "payer_code")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for claim_id, payer, total in rows:
        out[claim_id][payer] = Decimal(total).quantize(Decimal("0.01"))  # SQLite drops the scale
    return out


def payment_state(due: Decimal, paid: Decimal) -> str:
    """Where a payer (or a claim) stands, in words."""
    if paid == due:
        return "nothing due" if due == 0 else "paid in full"
    if paid == 0:
        return "not paid yet"
    return f"part paid: {pounds(paid)} of {pounds(due)}"


def payments_due(claim: Claim, payer_codes) -> list[dict]:
    """For each of `payer_codes` with a portion in the claim: what it owes (`due`), what
    its payments add up to (`paid`), what it still owes (`owed`), the payments themselves
    and where it stands in words (`state`)."""
    payments = defaultdict(list)
    for payment in claim.payments.select_related("recorded_by"):
        payments[payment.payer_code].append(payment)
    rows = []
    for code in payer_codes:
        if code not in claim.payer_totals:
            continue
        due = Decimal(claim.payer_totals[code])
        paid = sum((p.amount for p in payments[code]), Decimal("0.00"))
        rows.append(
            {
                "payer": code,
                "due": due,
                "paid": paid,
                "owed": due - paid,
                "payments": payments[code],
                "state": payment_state(due, paid),
            }
        )
    return rows


def claim_lines_for_child(contract_code: str, upn: str):
    return list(
        ClaimLine.objects.filter(claim__contract_code=contract_code, upn=upn)
        .select_related("claim")
        .order_by("claim__computed_at", "position")
    )
