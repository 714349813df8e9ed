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
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings

from .models import Pupil
from .subject_access import keyed_sections


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


def years_after(day: dt.date, years: int) -> dt.date:
    """The same day `years` later (28 February for a 29 February that has none)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


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
    claim_line = apps.get_model("contracts", "ClaimLine")
    claim = apps.get_model("contracts", "Claim")
    audit_entry = apps.get_model("audit", "AuditEntry")
    erased = [
        (section.label, section.title, section.queryset.count())
        for section in keyed_sections(pupil)
    ]
    submitted = claim_line.objects.filter(upn=pupil.upn).exclude(claim__status="draft")
    contracts = sorted(set(submitted.values_list("claim__contract_code", flat=True)))
    drafts = list(
        claim.objects.filter(status="draft", lines__upn=pupil.upn)
        .distinct()
        .order_by("contract_code", "period_code")
    )
    return ErasurePlan(
        pupil=pupil,
        erased=erased,
        claim_lines=submitted.count(),
        contracts=contracts,
        evidence_kept_until=evidence_end(contracts),
        audit_entries=audit_entry.objects.filter(pupil=pupil, redacted_at__isnull=True).count(),
        drafts=drafts,
    )
