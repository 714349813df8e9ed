"""Writes for children: consent, its withdrawal, and enrolment with a Link Worker."""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from linkwork.accounts.models import Role
from linkwork.audit.services import record

from .models import Cohort, Consent, Enrolment, GivenBy, Pupil, Purpose
from .subject_access import build_archive


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
    if Enrolment.objects.filter(pupil=pupil, cohort=cohort).exists():
        raise ValidationError(f"{pupil.name} is already enrolled in {cohort}.")
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
    if not (actor.is_authenticated and actor.is_active and actor.role == Role.ADMIN):
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
