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
    with pytest.raises(ValidationError, match="already in force"):
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


@pytest.fixture
def october(time_machine):
    time_machine.move_to("2026-10-01 12:00Z")


@pytest.mark.parametrize(
    ("purpose", "given_on", "message"),
    [
        ("support", date(2026, 10, 2), "once given, not ahead"),
        ("research", date(2010, 5, 5), "before Test"),  # born 1 January 2015
    ],
)
def test_consent_on_an_impossible_day_is_refused(
    october, link_worker, child, purpose, given_on, message
):
    with pytest.raises(ValidationError, match=message):
        record_consent(
            actor=link_worker, pupil=child, purpose=purpose, given_by="child", given_on=given_on
        )
    assert not Consent.objects.exists()


def test_consent_again_once_withdrawn(october, link_worker, child):
    first = record_consent(
        actor=link_worker, pupil=child, purpose="support", given_by="parent", given_on=SEPT
    )
    withdraw_consent(actor=link_worker, consent=first, withdrawn_on=date(2026, 9, 20))
    again = record_consent(
        actor=link_worker,
        pupil=child,
        purpose="support",
        given_by="carer",
        given_on=SEPT.replace(day=25),
    )
    assert again.in_force_on(date(2026, 9, 30))


def test_one_enrolment_at_a_time_and_never_ahead(october, manager, link_worker, child, cohort):
    record_consent(actor=manager, pupil=child, purpose="support", given_by="parent", given_on=SEPT)
    with pytest.raises(ValidationError, match="not ahead"):
        enrol_child(
            actor=manager, pupil=child, cohort=cohort, link_worker=link_worker,
            enrolled_on=date(2027, 5, 1),
        )  # fmt: skip
    enrol_child(
        actor=manager, pupil=child, cohort=cohort, link_worker=link_worker, enrolled_on=SEPT
    )
    other = Cohort.objects.create(code="2025-26")
    with pytest.raises(
        ValidationError, match="already enrolled in Cohort 2026–27 from 10 September"
    ):
        enrol_child(
            actor=manager, pupil=child, cohort=other, link_worker=link_worker,
            enrolled_on=date(2026, 9, 30),
        )  # fmt: skip


def test_a_child_still_to_review_is_not_enrolled(
    october, manager, link_worker, child, cohort, school
):
    from django.utils import timezone

    from linkwork.screening.models import RiskProfile, ScreeningRound, ScreeningRules

    rules = ScreeningRules.objects.create(version=1, document={}, source="")
    screening = ScreeningRound.objects.create(
        school=school, on=date(2026, 9, 1), rules=rules, run_at=timezone.now()
    )
    profile = RiskProfile.objects.create(
        round=screening, pupil=child, risk_areas=3, status="shortlisted", explanation={}
    )
    record_consent(actor=manager, pupil=child, purpose="support", given_by="parent", given_on=SEPT)
    with pytest.raises(ValidationError, match="still to review"):
        enrol_child(
            actor=manager, pupil=child, cohort=cohort, link_worker=link_worker, enrolled_on=SEPT
        )
    profile.status = "accepted"
    profile.save()
    enrol_child(
        actor=manager, pupil=child, cohort=cohort, link_worker=link_worker, enrolled_on=SEPT
    )
