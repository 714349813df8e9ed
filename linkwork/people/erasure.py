"""Erasing a child's data: what goes, what is kept, and until when.

What goes is what subject access finds (every relation that leads back to the pupil),
deleted with the pupil's own row. What is kept, and why:

- the lines of submitted claims and the achievements they claimed, by UPN: the payment
  evidence, kept until the end of the contract's audit period (the contract's end plus
  `LINKWORK_PAYMENT_EVIDENCE_YEARS`); a later claim never reverses them for want of
  the erased data;
- the audit trail's entries about the child: who did or looked at what, and when.
  Their summaries and changes, which can hold what was written about the child, are
  cleared;
- the UPN, in an `Erasure` record: a package that holds the child again is refused.

Draft claims that hold the child are discarded; they are made again when next run.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.db.models import Count

from linkwork.core.dates import years_after

from .models import Pupil
from .subject_access import pupil_paths, title_of


@dataclass(frozen=True)
class ErasurePlan:
    """What erasing one child would do, for the DPO to read before confirming."""

    pupil: Pupil
    erased: list[tuple[str, str, int]]  # (table label, title, rows), the pupil's row first
    claim_lines: int  # lines of submitted claims kept as payment evidence
    contracts: list[str]  # the contracts those lines belong to
    evidence_kept_until: dt.date | None
    audit_entries: int  # entries about the child whose summary and changes are cleared
    drafts: list  # draft claims holding the child, to be discarded

    @property
    def rows(self) -> dict[str, int]:
        return {label: count for label, _, count in self.erased if count}


def evidence_years() -> int:
    return int(getattr(settings, "LINKWORK_PAYMENT_EVIDENCE_YEARS", 6))


def evidence_end(contract_codes) -> dt.date | None:
    """The last day payment evidence for these contracts must be kept: the latest end of
    their latest versions, plus the audit period."""
    from linkwork.contracts.queries import contract_terms, latest_contract

    ends = []
    for code in contract_codes:
        contract = latest_contract(code)
        if contract is not None:
            ends.append(contract_terms(contract).ends_on)
    return years_after(max(ends), evidence_years()) if ends else None


def plan_erasure(pupil: Pupil) -> ErasurePlan:
    return plan_erasures([pupil])[pupil.pk]


def plan_erasures(pupils: list[Pupil]) -> dict[int, ErasurePlan]:
    """What erasing each of these children would do, by pupil id: a few grouped counts per
    table for all of them at once, never a query per child."""
    claim_line = apps.get_model("contracts", "ClaimLine")
    claim = apps.get_model("contracts", "Claim")
    audit_entry = apps.get_model("audit", "AuditEntry")
    ids = [pupil.pk for pupil in pupils]
    upns = {pupil.upn: pupil.pk for pupil in pupils}
    erased = {pk: [(Pupil._meta.label, title_of(Pupil), 1)] for pk in ids}
    for model, lookup in pupil_paths():
        counts = dict(
            model._default_manager.filter(**{f"{lookup}__in": ids})
            .order_by()
            .values_list(lookup)
            .annotate(rows=Count("pk"))
        )
        for pk in ids:
            erased[pk].append((model._meta.label, title_of(model), counts.get(pk, 0)))
    submitted = defaultdict(lambda: [0, set()])  # pupil id: [lines, contracts]
    for upn, contract, lines in (
        claim_line.objects.filter(upn__in=upns)
        .exclude(claim__status="draft")
        .order_by()
        .values_list("upn", "claim__contract_code")
        .annotate(lines=Count("pk"))
    ):
        submitted[upns[upn]][0] += lines
        submitted[upns[upn]][1].add(contract)
    drafts = defaultdict(list)
    held = (
        claim_line.objects.filter(claim__status="draft", upn__in=upns)
        .order_by()
        .values_list("upn", "claim_id")
        .distinct()
    )
    by_id = {}
    for upn, claim_id in held:
        drafts[upns[upn]].append(claim_id)
        by_id[claim_id] = None
    by_id = claim.objects.in_bulk(list(by_id))
    audited = dict(
        audit_entry.objects.filter(pupil_id__in=ids, redacted_at__isnull=True)
        .order_by()
        .values_list("pupil_id")
        .annotate(rows=Count("pk"))
    )
    ends = {}
    plans = {}
    for pupil in pupils:
        lines, codes = submitted.get(pupil.pk, (0, set()))
        contracts = sorted(codes)
        key = tuple(contracts)
        if key not in ends:
            ends[key] = evidence_end(contracts)
        plans[pupil.pk] = ErasurePlan(
            pupil=pupil,
            erased=erased[pupil.pk],
            claim_lines=lines,
            contracts=contracts,
            evidence_kept_until=ends[key],
            audit_entries=audited.get(pupil.pk, 0),
            drafts=sorted(
                (by_id[claim_id] for claim_id in drafts.get(pupil.pk, ())),
                key=lambda c: (c.contract_code, c.period_code),
            ),
        )
    return plans
