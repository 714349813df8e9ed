"""Writes for children: consent, its withdrawal, and enrolment with a Link Worker; and
for the data protection officer, subject access, erasure and the retention schedule."""

import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from linkwork.accounts.models import Role
from linkwork.audit.models import AuditEntry
from linkwork.audit.services import record

from .erasure import ErasurePlan, plan_erasures
from .models import (
    Cohort,
    Consent,
    Enrolment,
    Erasure,
    ErasureGrounds,
    GivenBy,
    Pupil,
    Purpose,
)
from .retention import Schedule, due_children, expired_uploads
from .subject_access import build_archive


def _is_dpo(user) -> bool:
    """The administrator role is the data protection officer."""
    return user.is_authenticated and user.is_active and user.role == Role.ADMIN


def _works_with(user, pupil: Pupil) -> bool:
    """Link Workers of the pupil's school, managers and administrators handle consent."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.role in (Role.MANAGER, Role.ADMIN):
        return True
    return user.role == Role.LINK_WORKER and user.schools.filter(pk=pupil.school_id).exists()


@transaction.atomic
def record_consent(
    *,
    actor,
    pupil: Pupil,
    purpose: str,
    given_by: str,
    given_on: date,
    child_assent: bool | None = None,
) -> Consent:
    """Record consent for one purpose, given by a parent or carer, with the child's assent.

    A consent is in force from `given_on` until withdrawn.
    """
    if not _works_with(actor, pupil):
        raise PermissionDenied("Only the child's Link Worker or a manager records consent.")
    if purpose not in Purpose.values:
        raise ValidationError({"purpose": f"Not a purpose: {purpose}."})
    if given_by not in GivenBy.values:
        raise ValidationError({"given_by": f"Not a parent, carer or child: {given_by}."})
    if given_on > timezone.localdate():
        raise ValidationError({"given_on": "Consent is recorded once given, not ahead."})
    if pupil.date_of_birth and given_on < pupil.date_of_birth:
        raise ValidationError(
            {
                "given_on": f"{given_on:%-d %B %Y} is before {pupil.name} was born "
                f"({pupil.date_of_birth:%-d %B %Y})."
            }
        )
    in_force = Consent.objects.in_force(given_on).filter(pupil=pupil, purpose=purpose).first()
    if in_force is not None:
        raise ValidationError(
            {
                "given_on": f"Consent for {Purpose(purpose).label.lower()} is already in force "
                f"(given {in_force.given_on:%-d %B %Y}); record a withdrawal first if it has "
                "changed."
            }
        )
    if Consent.objects.filter(pupil=pupil, purpose=purpose, given_on=given_on).exists():
        raise ValidationError(
            {
                "given_on": f"Consent for {Purpose(purpose).label.lower()} is already recorded "
                f"on {given_on:%d %B %Y}."
            }
        )
    consent = Consent.objects.create(
        pupil=pupil,
        purpose=purpose,
        given_by=given_by,
        given_on=given_on,
        child_assent=child_assent,
    )
    record(
        actor=actor,
        action="consent.given",
        obj=consent,
        pupil=pupil,
        summary=f"{consent.get_purpose_display()} by {consent.get_given_by_display().lower()}"
        f" on {given_on}",
        changes={
            "purpose": purpose,
            "given_by": given_by,
            "given_on": given_on,
            "child_assent": child_assent,
        },
    )
    return consent


@transaction.atomic
def withdraw_consent(*, actor, consent: Consent, withdrawn_on: date) -> Consent:
    """Withdraw a consent, effective from `withdrawn_on` (no longer in force that day)."""
    consent = Consent.objects.select_for_update().select_related("pupil").get(pk=consent.pk)
    if not _works_with(actor, consent.pupil):
        raise PermissionDenied("Only the child's Link Worker or a manager records withdrawal.")
    if consent.withdrawn_on is not None:
        raise ValidationError(f"Already withdrawn on {consent.withdrawn_on:%d %B %Y}.")
    if withdrawn_on < consent.given_on:
        raise ValidationError(
            {
                "withdrawn_on": f"Withdrawal cannot be before the consent was given "
                f"({consent.given_on:%d %B %Y})."
            }
        )
    consent.withdrawn_on = withdrawn_on
    consent.save(update_fields=["withdrawn_on"])
    record(
        actor=actor,
        action="consent.withdrawn",
        obj=consent,
        pupil=consent.pupil,
        summary=f"{consent.get_purpose_display()} withdrawn from {withdrawn_on}",
        changes={"withdrawn_on": [None, withdrawn_on.isoformat()]},
    )
    return consent


def _reviewed_or_refused(pupil: Pupil) -> None:
    """Refuse to enrol a child whose school has yet to review them on its latest
    shortlist: the review comes before the family is asked."""
    from linkwork.screening.models import ProfileStatus, RiskProfile

    latest = (
        RiskProfile.objects.filter(pupil=pupil)
        .select_related("round")
        .order_by("-round__on", "-round_id")
        .first()
    )
    if latest is not None and latest.status == ProfileStatus.SHORTLISTED:
        raise ValidationError(
            f"{pupil.name} is on the shortlist of {latest.round.on:%-d %B %Y} still to review: "
            "record the school's decision first."
        )


@transaction.atomic
def enrol_child(
    *, actor, pupil: Pupil, cohort: Cohort, link_worker, enrolled_on: date
) -> Enrolment:
    """Enrol a child in a cohort with a Link Worker; refused without support consent.

    Support consent must be in force on the enrolment date, and the Link Worker must
    work at the child's school. The child then shows in that Link Worker's caseload.
    """
    if not _works_with(actor, pupil):
        raise PermissionDenied("Only the child's Link Worker or a manager enrols a child.")
    has_support = (
        Consent.objects.in_force(enrolled_on).filter(pupil=pupil, purpose=Purpose.SUPPORT).exists()
    )
    if not has_support:
        raise ValidationError(
            f"{pupil.name} cannot be enrolled: no consent for support from the programme is "
            f"in force on {enrolled_on:%d %B %Y}. Record the family's consent first."
        )
    if (
        link_worker is None
        or link_worker.role != Role.LINK_WORKER
        or not link_worker.is_active
        or not link_worker.schools.filter(pk=pupil.school_id).exists()
    ):
        raise ValidationError({"link_worker": "Choose a Link Worker who works at this school."})
    if enrolled_on > timezone.localdate():
        raise ValidationError(
            {"enrolled_on": "A child is enrolled on the day the family signs up, not ahead."}
        )
    if Enrolment.objects.filter(pupil=pupil, cohort=cohort).exists():
        raise ValidationError(f"{pupil.name} is already enrolled in {cohort}.")
    current = (
        Enrolment.objects.filter(pupil=pupil)
        .exclude(ended_on__lt=enrolled_on)
        .select_related("cohort")
        .first()
    )
    if current is not None:
        raise ValidationError(
            f"{pupil.name} is already enrolled in {current.cohort} from "
            f"{current.enrolled_on:%-d %B %Y}; a child has one enrolment at a time."
        )
    _reviewed_or_refused(pupil)
    enrolment = Enrolment.objects.create(
        pupil=pupil, cohort=cohort, enrolled_on=enrolled_on, link_worker=link_worker
    )
    record(
        actor=actor,
        action="child.enrolled",
        obj=enrolment,
        pupil=pupil,
        summary=f"Enrolled in {cohort.code} on {enrolled_on} with {link_worker}",
        changes={
            "cohort": cohort.code,
            "enrolled_on": enrolled_on,
            "link_worker": link_worker.email,
        },
    )
    return enrolment


@transaction.atomic
def export_subject_access(*, actor, pupil: Pupil) -> bytes:
    """A ZIP of everything held about `pupil`, for the data protection officer.

    Only administrators (the DPO) may run it; the export itself is audited with the
    row counts of every table it covers.
    """
    if not _is_dpo(actor):
        raise PermissionDenied("Only the data protection officer exports a subject access request.")
    archive, counts = build_archive(
        pupil, generated_at=timezone.now(), generated_by=getattr(actor, "email", str(actor))
    )
    record(
        actor=actor,
        action="child.subject_access_exported",
        obj=pupil,
        pupil=pupil,
        summary=f"Subject access export: {sum(counts.values())} rows in {len(counts)} tables",
        changes={"rows": counts},
    )
    return archive


def erase_child(
    *, actor, pupil: Pupil, reference: str, grounds: str = ErasureGrounds.REQUEST
) -> Erasure:
    """Erase everything held about `pupil` but the payment evidence (see `erasure`).

    The data protection officer erases on request (`actor` an administrator); the
    retention schedule erases as the system (`actor` None). `reference` is the request's
    reference or the rule applied: it is kept, so it must not be the child's name.
    """
    erased = erase_children(actor=actor, references={pupil.pk: reference}, grounds=grounds)
    if not erased:
        raise Pupil.DoesNotExist(f"pupil {pupil.pk} is no longer held")
    return erased[0]


@transaction.atomic
def erase_children(
    *, actor, references: dict[int, str], grounds: str = ErasureGrounds.REQUEST
) -> list[Erasure]:
    """Erase each pupil of `references` (pupil id: reference), exactly as `erase_child`,
    all in one transaction and in a few statements per table for them all; pupils gone
    meanwhile are left out. Returns their erasures, in pupil id order."""
    if actor is not None and not _is_dpo(actor):
        raise PermissionDenied("Only the data protection officer erases a child's data.")
    if grounds not in ErasureGrounds.values:
        raise ValidationError({"grounds": f"Unknown grounds {grounds!r}."})
    cleaned = {}
    for pk, reference in references.items():
        reference = (reference or "").strip()
        if not reference:
            raise ValidationError({"reference": "Give the request's reference."})
        if len(reference) > 100:
            raise ValidationError({"reference": "At most 100 characters."})
        cleaned[pk] = reference
    pupils = list(Pupil.objects.select_for_update().filter(pk__in=cleaned).order_by("pk"))
    if not pupils:
        return []
    plans = plan_erasures(pupils)
    now = timezone.now()
    for claim in {c.pk: c for plan in plans.values() for c in plan.drafts}.values():
        claim.delete()
    ids = [pupil.pk for pupil in pupils]
    # The one update the audit trail allows (see audit.AuditEntry).
    AuditEntry.objects.filter(pupil_id__in=ids, redacted_at__isnull=True).update(
        summary="", changes={}, redacted_at=now
    )
    Pupil.objects.filter(pk__in=ids).delete()
    erased_by = getattr(actor, "email", "") or "system"
    erasures = Erasure.objects.bulk_create(
        Erasure(
            upn=pupil.upn,
            pupil_id=pupil.pk,
            erased_at=now,
            erased_by=erased_by,
            grounds=grounds,
            reference=cleaned[pupil.pk],
            rows=plans[pupil.pk].rows,
            evidence_kept_until=plans[pupil.pk].evidence_kept_until,
        )
        for pupil in pupils
    )
    for erasure in erasures:
        _record_erasure(actor, erasure, plans[erasure.pupil_id])
    return erasures


def _record_erasure(actor, erasure: Erasure, plan: ErasurePlan) -> None:
    kept = ""
    if plan.claim_lines:
        kept = (
            f"; {plan.claim_lines} claim lines kept as payment evidence until "
            f"{plan.evidence_kept_until}"
        )
    record(
        actor=actor,
        action="child.erased",
        obj=erasure,
        summary=(
            f"Child {erasure.pupil_id} erased "
            f"({ErasureGrounds(erasure.grounds).label.lower()} {erasure.reference}): "
            f"{sum(plan.rows.values())} rows in {len(plan.rows)} tables{kept}"
        ),
        changes={
            "rows": plan.rows,
            "audit_entries_redacted": plan.audit_entries,
            "draft_claims_discarded": [f"{c.contract_code} {c.period_code}" for c in plan.drafts],
            "evidence_kept_until": plan.evidence_kept_until,
        },
    )


ERASE_BATCH = 500  # children the retention schedule erases in one transaction


@dataclass
class RetentionReport:
    erased: list[str] = field(default_factory=list)  # UPNs
    uploads_removed: int = 0
    contracts: list[str] = field(default_factory=list)  # whose payment evidence went


def apply_retention(*, actor, today: date, schedule: Schedule | None = None) -> RetentionReport:
    """Erase every child the retention schedule makes due, delete expired uploaded files,
    and remove the children from the claims of contracts past their audit period. The
    children are erased ERASE_BATCH at a time and each contract on its own, each in a
    transaction of its own, so a long run keeps what it has done if it stops; the run is
    audited with its counts."""
    from linkwork.contracts.queries import evidence_past_keeping
    from linkwork.contracts.services import remove_payment_evidence

    if actor is not None and not _is_dpo(actor):
        raise PermissionDenied("Only the data protection officer applies the retention schedule.")
    schedule = schedule or Schedule.from_settings()
    report = RetentionReport()
    due = due_children(today, schedule)
    for start in range(0, len(due), ERASE_BATCH):
        batch = {d.pupil_id: d.reference for d in due[start : start + ERASE_BATCH]}
        erased = erase_children(actor=actor, references=batch, grounds=ErasureGrounds.RETENTION)
        report.erased.extend(erasure.upn for erasure in erased)
    for upload in expired_uploads(today, schedule):
        with transaction.atomic():
            _remove_upload_files(actor, upload)
        report.uploads_removed += 1
    for kept in evidence_past_keeping(today):
        remove_payment_evidence(actor=actor, contract_code=kept.contract_code, today=today)
        report.contracts.append(kept.contract_code)
    record(
        actor=actor,
        action="retention.applied",
        summary=(
            f"Retention schedule on {today}: {len(report.erased)} children erased, "
            f"{report.uploads_removed} uploads' files deleted, payment evidence of "
            f"{len(report.contracts)} contracts removed"
        ),
        changes={
            "schedule": vars(schedule),
            "erased": len(report.erased),
            "contracts": report.contracts,
        },
    )
    return report


def _remove_upload_files(actor, upload) -> None:
    """Delete an upload's files; keep its row and counts, drop its problem list (whose
    values can name children)."""
    folder = Path(upload.folder)
    if folder.resolve().is_relative_to(Path(settings.MEDIA_ROOT).resolve()):
        shutil.rmtree(folder, ignore_errors=True)
    upload.folder = ""
    upload.errors = []
    upload.save(update_fields=["folder", "errors"])
    record(actor=actor, action="upload.files_deleted", obj=upload, summary=upload.original_name)
