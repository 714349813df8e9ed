from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from linkwork.audit.models import AuditEntry
from linkwork.people.models import Cohort, Consent
from linkwork.people.services import enrol_child, record_consent, withdraw_consent

pytestmark = pytest.mark.django_db

SEPT = date(2026, 9, 10)


@pytest.fixture
def cohort():
    return Cohort.objects.create(code="2026-27", name="Cohort 2026–27")


@pytest.fixture
def child(make_pupil):
    return make_pupil()


def test_consent_per_purpose_with_assent(link_worker, child):
    consent = record_consent(
        actor=link_worker,
        pupil=child,
        purpose="support",
        given_by="parent",
        given_on=SEPT,
        child_assent=True,
    )
    record_consent(
        actor=link_worker,
        pupil=child,
        purpose="research",
        given_by="carer",
        given_on=SEPT,
        child_assent=False,
    )
    assert consent.child_assent is True
    assert set(
        Consent.objects.in_force(SEPT).filter(pupil=child).values_list("purpose", flat=True)
    ) == {"support", "research"}
    assert sorted(
        AuditEntry.objects.filter(action="consent.given", pupil=child).values_list(
            "changes__child_assent", flat=True
        )
    ) == [False, True]


def test_same_consent_twice_refused(link_worker, child):
    record_consent(
        actor=link_worker, pupil=child, purpose="support", given_by="parent", given_on=SEPT
    )
    with pytest.raises(ValidationError, match="already recorded"):
        record_consent(
            actor=link_worker, pupil=child, purpose="support", given_by="parent", given_on=SEPT
        )


def test_withdrawal_is_effective_from_its_date(link_worker, child):
    consent = record_consent(
        actor=link_worker, pupil=child, purpose="support", given_by="parent", given_on=SEPT
    )
    withdraw_consent(actor=link_worker, consent=consent, withdrawn_on=date(2026, 12, 1))
    consent.refresh_from_db()
    assert consent.in_force_on(date(2026, 11, 30))
    assert not consent.in_force_on(date(2026, 12, 1))
    assert AuditEntry.objects.filter(action="consent.withdrawn", pupil=child).count() == 1
    with pytest.raises(ValidationError, match="Already withdrawn"):
        withdraw_consent(actor=link_worker, consent=consent, withdrawn_on=date(2026, 12, 2))


def test_withdrawal_before_consent_refused(link_worker, child):
    consent = record_consent(
        actor=link_worker, pupil=child, purpose="support", given_by="parent", given_on=SEPT
    )
    with pytest.raises(ValidationError, match="cannot be before"):
        withdraw_consent(actor=link_worker, consent=consent, withdrawn_on=date(2026, 9, 1))


def test_enrolment_without_support_consent_is_refused(link_worker, child, cohort):
    record_consent(
        actor=link_worker, pupil=child, purpose="research", given_by="parent", given_on=SEPT
    )
    with pytest.raises(ValidationError, match="no consent for support from the programme"):
        enrol_child(
            actor=link_worker, pupil=child, cohort=cohort, link_worker=link_worker, enrolled_on=SEPT
        )
    assert not child.enrolments.exists()
    assert not AuditEntry.objects.filter(action="child.enrolled").exists()


def test_enrolment_after_withdrawal_is_refused(link_worker, child, cohort):
    consent = record_consent(
        actor=link_worker, pupil=child, purpose="support", given_by="parent", given_on=SEPT
    )
    withdraw_consent(actor=link_worker, consent=consent, withdrawn_on=date(2026, 10, 1))
    with pytest.raises(ValidationError, match="in force on 01 October 2026"):
        enrol_child(
            actor=link_worker,
            pupil=child,
            cohort=cohort,
            link_worker=link_worker,
            enrolled_on=date(2026, 10, 1),
        )


def test_enrolled_child_shows_in_caseload(manager, link_worker, child, cohort):
    record_consent(
        actor=manager,
        pupil=child,
        purpose="support",
        given_by="parent",
        given_on=SEPT,
        child_assent=True,
    )
    enrolment = enrol_child(
        actor=manager, pupil=child, cohort=cohort, link_worker=link_worker, enrolled_on=SEPT
    )
    assert list(link_worker.caseload.values_list("pupil", flat=True)) == [child.pk]
    assert enrolment.active_on(SEPT)
    entry = AuditEntry.objects.get(action="child.enrolled")
    assert entry.pupil == child and entry.actor == manager
    with pytest.raises(ValidationError, match="already enrolled"):
        enrol_child(
            actor=manager, pupil=child, cohort=cohort, link_worker=link_worker, enrolled_on=SEPT
        )


def test_link_worker_must_work_at_the_school(
    manager, other_link_worker, school_staff, child, cohort
):
    record_consent(actor=manager, pupil=child, purpose="support", given_by="parent", given_on=SEPT)
    for worker in (other_link_worker, school_staff):
        with pytest.raises(ValidationError, match="works at this school"):
            enrol_child(
                actor=manager, pupil=child, cohort=cohort, link_worker=worker, enrolled_on=SEPT
            )


def test_only_the_schools_link_worker_or_a_manager_records(
    other_link_worker, school_staff, partner_user, funder, child
):
    for user in (other_link_worker, school_staff, partner_user, funder):
        with pytest.raises(PermissionDenied):
            record_consent(
                actor=user, pupil=child, purpose="support", given_by="parent", given_on=SEPT
            )
