"""Support services: allocations, registers, interactions, follow-ups and flags."""

import datetime as dt

import pytest

from linkwork.audit.models import AuditEntry
from linkwork.engagement.models import Flag
from linkwork.support.models import Allocation, FollowUp, Interaction, RegisterEntry, Session
from linkwork.support.services import (
    Refused,
    RegisterMark,
    allocate_child,
    cancel_session,
    complete_follow_up,
    end_allocation,
    record_interaction,
    record_register,
)

START = dt.date(2026, 3, 2)  # a Monday
WEEK = dt.timedelta(days=7)


@pytest.fixture
def on(time_machine):
    """Move the clock to midday on a date."""

    def move(day: dt.date):
        time_machine.move_to(dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC))

    move(START)
    return move


@pytest.fixture
def child(make_pupil, enrol):
    pupil = make_pupil(given_name="Amara", family_name="Example")
    enrol(pupil)
    return pupil


def test_allocation_refused_without_partner_sharing_consent(make_pupil, enrol, service, manager):
    pupil = make_pupil()
    enrol(pupil, sharing=False)
    with pytest.raises(Refused, match="no partner-sharing consent"):
        allocate_child(actor=manager, pupil=pupil, service=service, start_date=START)
    assert not Allocation.objects.exists()


def test_over_capacity_needs_a_reason_and_is_audited(make_pupil, enrol, service, link_worker):
    service.capacity = 1
    service.save()
    first, second = make_pupil(), make_pupil()
    enrol(first)
    enrol(second)
    allocate_child(actor=link_worker, pupil=first, service=service, start_date=START)
    with pytest.raises(Refused, match=r"full \(1 of 1 places used\)"):
        allocate_child(actor=link_worker, pupil=second, service=service, start_date=START)
    allocate_child(
        actor=link_worker,
        pupil=second,
        service=service,
        start_date=START,
        over_capacity_reason="Sibling already attends",
    )
    entry = AuditEntry.objects.filter(action="support.child_allocated").latest("at")
    assert entry.changes["over_capacity"] == "2 of 1: Sibling already attends"


def test_register_lists_only_children_allocated_that_day(
    child, make_pupil, enrol, service, partner_user
):
    allocation = allocate_child(actor=partner_user, pupil=child, service=service, start_date=START)
    later = make_pupil()
    enrol(later)
    allocate_child(
        actor=partner_user, pupil=later, service=service, start_date=START + dt.timedelta(days=7)
    )
    with pytest.raises(Refused, match="not allocated"):
        record_register(
            actor=partner_user,
            service=service,
            session_date=START,
            marks=[RegisterMark(later.pk, "attended")],
            today=START,
        )
    end_allocation(actor=partner_user, allocation=allocation, end_date=START)
    with pytest.raises(Refused, match="not allocated"):
        record_register(
            actor=partner_user,
            service=service,
            session_date=START + dt.timedelta(days=7),
            marks=[RegisterMark(child.pk, "attended")],
            today=START + dt.timedelta(7),
        )


def test_register_is_idempotent_and_corrections_are_audited(child, service, partner_user):
    allocate_child(actor=partner_user, pupil=child, service=service, start_date=START)
    for _ in range(2):
        record_register(
            actor=partner_user,
            service=service,
            session_date=START,
            marks=[RegisterMark(child.pk, "attended")],
            today=START,
        )
    assert RegisterEntry.objects.count() == 1
    result = record_register(
        actor=partner_user,
        service=service,
        session_date=START,
        marks=[RegisterMark(child.pk, "engaged")],
        today=START + dt.timedelta(days=3),
    )
    assert result.corrected == 1
    entry = RegisterEntry.objects.get()
    assert (entry.attended, entry.engaged) == (True, True)
    audit = AuditEntry.objects.get(action="support.register_corrected")
    assert audit.changes == {child.upn: ["attended", "engaged"]}
    assert "(late)" in audit.summary


def test_a_colleagues_mark_is_not_lost(child, make_pupil, enrol, service, partner_user):
    other = make_pupil()
    enrol(other)
    for pupil in (child, other):
        allocate_child(actor=partner_user, pupil=pupil, service=service, start_date=START)
    # Both colleagues opened an unmarked register; A marks the child engaged first.
    record_register(
        actor=partner_user,
        service=service,
        session_date=START,
        today=START,
        marks=[RegisterMark(child.pk, "engaged", seen="")],
    )
    # B never touched that child, so submits it as absent-by-default with what B saw.
    result = record_register(
        actor=partner_user,
        service=service,
        session_date=START,
        today=START,
        marks=[
            RegisterMark(child.pk, "absent", seen=""),
            RegisterMark(other.pk, "attended", seen=""),
        ],
    )
    assert result.kept == 1
    assert RegisterEntry.objects.get(pupil=child).engaged is True
    assert RegisterEntry.objects.get(pupil=other).attended is True


def test_missed_sessions_raise_a_flag_and_attending_clears_it(
    child, service, partner_user, link_worker, on
):
    allocate_child(actor=link_worker, pupil=child, service=service, start_date=START)
    week = WEEK
    record_interaction(
        actor=link_worker, pupil=child, occurred_on=START, kind="one_to_one", minutes=10
    )
    record_register(
        actor=partner_user,
        service=service,
        session_date=START,
        marks=[RegisterMark(child.pk, "absent")],
    )
    assert not Flag.objects.exists()
    on(START + week)
    record_register(
        actor=partner_user,
        service=service,
        session_date=START + week,
        marks=[RegisterMark(child.pk, "absent")],
    )
    flag = Flag.objects.get()
    assert (flag.rule_code, flag.level, flag.cleared_at) == ("missed_in_a_row", "amber", None)
    assert flag.reason == "missed the last 2 allocated sessions in a row"
    follow_up = FollowUp.objects.get()
    assert follow_up.assigned_to == link_worker
    assert follow_up.due_on == START + week + dt.timedelta(days=4)  # that Friday
    assert flag.follow_up == follow_up

    on(START + 2 * week)
    record_register(
        actor=partner_user,
        service=service,
        session_date=START + 2 * week,
        marks=[RegisterMark(child.pk, "attended")],
    )
    flag.refresh_from_db()
    assert flag.cleared_at is not None
    assert Flag.objects.filter(rule_code="missed_in_a_row").count() == 1  # history kept


def test_cancelled_session_counts_for_nobody(child, service, partner_user, link_worker, on):
    allocate_child(actor=link_worker, pupil=child, service=service, start_date=START)
    week = WEEK
    on(START + week)
    record_interaction(actor=link_worker, pupil=child, occurred_on=START + week, kind="one_to_one")
    for n in range(2):
        record_register(
            actor=partner_user,
            service=service,
            session_date=START + n * week,
            today=START + week,
            marks=[RegisterMark(child.pk, "absent")],
        )
    assert Flag.objects.filter(cleared_at__isnull=True).count() == 1
    cancel_session(
        actor=partner_user, service=service, session_date=START + week, reason="Hall flooded"
    )
    assert Session.objects.get(date=START + week).cancelled
    assert not Flag.objects.filter(cleared_at__isnull=True).exists()
    with pytest.raises(Refused, match="cancelled"):
        record_register(
            actor=partner_user,
            service=service,
            session_date=START + week,
            today=START + week,
            marks=[RegisterMark(child.pk, "attended")],
        )


def test_logging_an_interaction_clears_no_contact_flag(child, link_worker, on):
    today = dt.date(2026, 3, 20)
    on(today)
    from linkwork.engagement.services import refresh_flags

    refresh_flags(actor=None, pupils=[child], today=today)
    flag = Flag.objects.get(rule_code="no_contact")
    record_interaction(
        actor=link_worker,
        pupil=child,
        occurred_on=today,
        kind="one_to_one",
        minutes=5,
        topics=["friendships"],
        note="Checked in at break.",
    )
    flag.refresh_from_db()
    assert flag.cleared_at is not None
    record_interaction(
        actor=link_worker,
        pupil=child,
        occurred_on=today,
        kind="one_to_one",
        minutes=10,
        topics=["maths"],
    )
    interaction = Interaction.objects.get()
    assert interaction.minutes == 15
    assert interaction.topics == ["friendships", "maths"]


def test_completing_a_follow_up(child, link_worker):
    from linkwork.support.services import open_follow_up

    follow_up = open_follow_up(actor=link_worker, pupil=child, reason="Call home")
    complete_follow_up(actor=link_worker, follow_up=follow_up, outcome="Spoke to carer")
    follow_up.refresh_from_db()
    assert follow_up.completed_at is not None
    assert follow_up.assigned_to == link_worker


def test_plan_needs_prefilled_from_the_screening_profile(child, school):
    from django.utils import timezone

    from linkwork.screening.models import RiskProfile, ScreeningRound, ScreeningRules
    from linkwork.support.queries import prefill_needs

    rules = ScreeningRules.objects.create(version=1, document={}, source="")
    screening = ScreeningRound.objects.create(
        school=school, on=dt.date(2025, 7, 1), rules=rules, run_at=timezone.now()
    )
    RiskProfile.objects.create(
        round=screening,
        pupil=child,
        risk_areas=2,
        status="accepted",
        explanation={
            "emotional_wellbeing": {"value": "6", "threshold": "5", "at_risk": True},
            "maths": {"value": "104", "threshold": "99", "at_risk": False},
            "attendance": {"value": "0.86", "threshold": "0.90", "at_risk": True},
        },
    )
    needs = prefill_needs(child)
    # Rules this round's document does not define are shown as stored.
    assert needs["wellbeing"]["needs"] == "Emotional wellbeing: 6; at risk when 5"
    assert needs["school"]["needs"] == "Attendance: 0.86; at risk when 0.90"
    assert needs["school"]["strengths"] == "Maths: 104; at risk when 99"


def test_plan_needs_from_a_profile_read_in_words(child, school):
    """With the round's rules, the profile's values and thresholds read as on the
    shortlist page: a rate as a percentage, a comparison in words, the date written out."""
    from django.utils import timezone

    from linkwork.screening.documents import parse_screening_rules
    from linkwork.screening.models import RiskProfile, ScreeningRound, ScreeningRules
    from linkwork.screening.tests.example import RULES_YAML
    from linkwork.support.queries import prefill_needs

    document = parse_screening_rules(RULES_YAML, filename="screening.yaml")
    rules = ScreeningRules.objects.create(version=1, document=document, source=RULES_YAML)
    screening = ScreeningRound.objects.create(
        school=school, on=dt.date(2026, 10, 1), rules=rules, run_at=timezone.now()
    )
    RiskProfile.objects.create(
        round=screening,
        pupil=child,
        risk_areas=1,
        status="accepted",
        explanation={
            "attendance": {
                "value": "0.7895",
                "threshold": "< 0.90",
                "at_risk": True,
                "seen_on": "2026-07-22",
                "source": "150/190 sessions",
            },
        },
    )
    needs = prefill_needs(child)
    assert needs["school"]["needs"] == "Attendance: 78.95% (22 Jul 2026); at risk when below 90%"


def test_plan_needs_prefilled_from_the_latest_scores_without_a_profile(child):
    from linkwork.measures.models import Administration, Score
    from linkwork.people.models import Attainment, SchoolAttendance
    from linkwork.support.queries import prefill_needs

    for day, emotional, peer in ((dt.date(2024, 9, 1), 7, 5), (dt.date(2025, 9, 1), 10, 1)):
        administration = Administration.objects.create(
            pupil=child, instrument_code="SDQ", administered_on=day, respondent="self"
        )
        for scale, score in (("emotional", emotional), ("peer", peer), ("conduct", 9)):
            Score.objects.create(administration=administration, scale=scale, score=score)
    Attainment.objects.create(
        pupil=child, subject="maths", assessed_on=dt.date(2025, 7, 1), value=94, expected=100
    )
    SchoolAttendance.objects.create(
        pupil=child,
        period_start=dt.date(2025, 4, 1),
        period_end=dt.date(2025, 7, 20),
        possible_sessions=300,
        present_sessions=259,
    )
    needs = prefill_needs(child)
    # The latest of each, plain numbers (10, not 1E+1), judged by the thresholds.
    assert needs["wellbeing"]["needs"] == "SDQ emotional symptoms: 10 (1 Sep 2025)"
    assert needs["relationships"] == {
        "needs": "",
        "strengths": "SDQ peer relationship problems: 1 (1 Sep 2025)",
    }
    # No screening rules, so no attendance threshold: attendance says nothing either way.
    assert needs["school"] == {
        "needs": "Maths: 94 against expected 100 (1 Jul 2025)",
        "strengths": "",
    }
    assert needs["confidence"]["needs"] == ""  # conduct counts in no area


def test_plan_history_keeps_every_version(child, link_worker):
    from linkwork.support.services import add_goal, record_review, save_support_plan

    plan = save_support_plan(
        actor=link_worker,
        pupil=child,
        informal_engagement="Lunch club",
        next_review_due=dt.date(2026, 4, 1),
    )
    add_goal(
        actor=link_worker, plan=plan, area="relationships", text="I want to sit with Zara at lunch"
    )
    record_review(
        actor=link_worker,
        plan=plan,
        held_on=dt.date(2026, 3, 30),
        outcome="Settled at lunch",
        next_review_due=dt.date(2026, 7, 10),
    )
    versions = list(plan.versions.order_by("number"))
    assert [v.summary for v in versions] == [
        "Support plan written",
        "Goal added: I want to sit with Zara at lunch",
        "Review held 2026-03-30",
    ]
    assert versions[0].snapshot["goals"] == []
    assert versions[2].snapshot["next_review_due"] == "2026-07-10"
    assert plan.reviews.get().due_on == dt.date(2026, 4, 1)
