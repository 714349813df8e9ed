import datetime as dt
import json
from datetime import date
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from linkwork.audit.models import AuditEntry
from linkwork.schools.models import School
from linkwork.screening.documents import parse_screening_rules
from linkwork.screening.models import ProfileStatus, RiskProfile, ScreeningRound, ScreeningRules
from linkwork.screening.services import (
    delete_screening_round,
    review_shortlist,
    run_screening,
    run_screening_rounds,
    store_screening_rules,
)

from .example import ON, RULES_YAML, SHORTLIST, UPN

pytestmark = pytest.mark.django_db


def shortlist_of(screening_round):
    return [
        (p.pupil.upn, p.risk_areas, p.priority_areas)
        for p in screening_round.profiles.exclude(rank=None)
        .select_related("pupil")
        .order_by("rank")
    ]


def test_store_rules_versions_and_no_op(manager, rules):
    document = parse_screening_rules(RULES_YAML, filename="screening.yaml")
    assert store_screening_rules(actor=manager, document=document, source=RULES_YAML) == rules
    changed = RULES_YAML.replace("min_risk_areas: 2", "min_risk_areas: 3")
    newer = store_screening_rules(
        actor=manager,
        document=parse_screening_rules(changed, filename="s.yaml"),
        source=changed,
    )
    assert (rules.version, newer.version) == (1, 2)
    assert AuditEntry.objects.filter(action="screening_rules.stored").count() == 2


def test_round_stores_the_worked_example(
    manager, school, rules, example_pupils, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        screening_round = run_screening(actor=manager, school=school, on=ON)
    assert shortlist_of(screening_round) == SHORTLIST
    assert screening_round.rules == rules and screening_round.data_date == date(2026, 9, 20)
    assert (
        screening_round.pupils_screened,
        screening_round.shortlisted,
        screening_round.excluded,
    ) == (7, 4, 1)
    excluded = RiskProfile.objects.get(round=screening_round, status=ProfileStatus.EXCLUDED)
    assert (excluded.pupil.upn, excluded.excluded_reason) == (UPN["D"], "statutory status CP")
    first = RiskProfile.objects.get(round=screening_round, rank=1)
    assert first.explanation["emotional_wellbeing"] == {
        "value": "6",
        "threshold": ">= 5",
        "at_risk": True,
        "seen_on": "2026-09-20",
        "source": "self",
    }
    assert AuditEntry.objects.filter(action="screening.run").count() == 1


def test_query_count_does_not_grow_with_pupils(
    manager, school, rules, example_pupils, make_pupil, django_assert_max_num_queries
):
    for _ in range(20):
        make_pupil(fsm=True)
    with django_assert_max_num_queries(12):
        run_screening(actor=manager, school=school, on=ON)


def profile_rows(screening_round):
    return list(
        screening_round.profiles.order_by("pupil__upn").values_list(
            "pupil__upn",
            "risk_areas",
            "priority_areas",
            "rank",
            "excluded_reason",
            "explanation",
            "status",
        )
    )


def test_a_round_deleted_and_run_again_gives_the_same_result(
    manager, school, rules, example_pupils
):
    first = run_screening(actor=manager, school=school, on=ON)
    rows = profile_rows(first)
    delete_screening_round(actor=manager, screening_round=first)
    second = run_screening(actor=manager, school=school, on=ON)
    assert profile_rows(second) == rows and first.pk != second.pk


def test_round_keeps_its_rules_version(manager, school, rules, example_pupils):
    first = run_screening(actor=manager, school=school, on=ON)
    changed = RULES_YAML.replace("min_risk_areas: 2", "min_risk_areas: 4")
    store_screening_rules(
        actor=manager, document=parse_screening_rules(changed, filename="s"), source=changed
    )
    second = run_screening(actor=manager, school=school, on=date(2026, 10, 2))
    assert (first.rules.version, second.rules.version) == (1, 2)
    assert len(shortlist_of(first)) == 4 and len(shortlist_of(second)) == 1
    older = run_screening(actor=manager, school=school, on=date(2026, 10, 3), rules=rules)
    assert shortlist_of(older) == SHORTLIST


# One round a school a day -------------------------------------------------------------

ALREADY = (
    "Riverside Primary was already screened on 1 Oct 2026: open that round, or delete it "
    "first if nothing is decided."
)


def test_a_second_round_of_a_school_on_one_date_is_refused(
    manager, school_staff, school, rules, example_pupils
):
    first = run_screening(actor=manager, school=school, on=ON)
    review_shortlist(
        actor=school_staff,
        screening_round=first,
        pupil=example_pupils["A"],
        decision="accept",
        reason="Agreed at the pastoral meeting",
    )
    with pytest.raises(ValidationError) as refused:
        run_screening(actor=manager, school=school, on=ON)
    assert refused.value.messages == [ALREADY]
    assert list(ScreeningRound.objects.values_list("pk", flat=True)) == [first.pk]
    assert AuditEntry.objects.filter(action="screening.run").count() == 1
    # another date is another round
    assert run_screening(actor=manager, school=school, on=date(2026, 10, 2)).pk != first.pk


def test_rounds_of_many_schools_are_refused_whole_naming_each_school_screened(
    manager, area, school, other_school, rules, example_pupils
):
    third = School.objects.create(
        urn="100003", name="Brookside Primary", phase="primary", area=area
    )
    run_screening(actor=manager, school=school, on=ON)
    run_screening(actor=manager, school=third, on=ON)
    with pytest.raises(ValidationError) as refused:
        run_screening_rounds(actor=manager, schools=[school, other_school, third], on=ON)
    assert refused.value.messages == [
        "Brookside Primary was already screened on 1 Oct 2026: open that round, or delete it "
        "first if nothing is decided.",
        ALREADY,
    ]
    assert not ScreeningRound.objects.filter(school=other_school).exists()
    assert ScreeningRound.objects.count() == 2


def test_a_round_deleted_by_mistake_can_be_run_again(manager, school, rules, example_pupils):
    first = run_screening(actor=manager, school=school, on=ON)
    delete_screening_round(actor=manager, screening_round=first)
    assert run_screening(actor=manager, school=school, on=ON).on == ON


def test_screen_command_refuses_a_school_already_screened_that_day(
    manager, school, rules, example_pupils
):
    from django.core.management.base import CommandError

    call_command("screen", "--school", school.urn, "--on", "2026-10-01", stdout=StringIO())
    with pytest.raises(CommandError, match="Riverside Primary was already screened on 1 Oct"):
        call_command("screen", "--school", school.urn, "--on", "2026-10-01")
    with pytest.raises(CommandError, match="Riverside Primary was already screened on 1 Oct"):
        call_command("screen", "--all", "--on", "2026-10-01")
    assert ScreeningRound.objects.count() == 1


def test_data_after_the_date_is_not_seen(manager, school, rules, example_pupils):
    earlier = run_screening(actor=manager, school=school, on=date(2026, 9, 1))
    # the SDQ wave of 20 September is not yet there: only flags and summer data count
    assert earlier.data_date == date(2026, 7, 22)


def test_screen_command_prints_the_json_document(manager, school, rules, example_pupils):
    out = StringIO()
    call_command("screen", "--school", school.urn, "--on", "2026-10-01", "--json", stdout=out)
    doc = json.loads(out.getvalue())
    assert list(doc) == ["school", "on", "shortlist", "excluded"]
    assert doc["school"] == "100001" and doc["on"] == "2026-10-01"
    rows = [(r["upn"], r["risk_areas"], r["priority_areas"]) for r in doc["shortlist"]]
    assert rows == SHORTLIST
    assert doc["shortlist"][0]["explanation"]["attendance"] == {
        "value": "0.9",
        "threshold": "< 0.90",
        "at_risk": False,
    }
    assert doc["excluded"] == [{"upn": UPN["D"], "reason": "statutory status CP"}]


def test_screen_command_for_all_schools_prints_a_summary_per_school(
    manager, school, other_school, rules, example_pupils
):
    one = StringIO()
    call_command("screen", "--school", school.urn, "--on", "2026-10-01", "--json", stdout=one)
    # one round a school a day: the round of one school makes way for the round of all
    delete_screening_round(actor=manager, screening_round=ScreeningRound.objects.get())
    every = StringIO()
    call_command("screen", "--all", "--on", "2026-10-01", "--json", stdout=every)
    summaries = json.loads(every.getvalue())
    assert [s["school"] for s in summaries] == [school.urn, other_school.urn]
    single = json.loads(one.getvalue())
    assert summaries[0]["shortlisted"] == len(single["shortlist"])
    assert summaries[0]["excluded"] == len(single["excluded"])
    assert summaries[1] == {
        "school": other_school.urn,
        "on": "2026-10-01",
        "pupils_screened": 0,
        "shortlisted": 0,
        "excluded": 0,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--school", "999999", "--on", "2026-10-01"], "no school with URN 999999"),
        (["--school", "100001", "--on", "2026-13-01"], "--on: a date YYYY-MM-DD (2026-13-01)"),
    ],
)
def test_screen_command_errors(school, rules, args, message):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("screen", *args)


@pytest.fixture
def screened(manager, school, rules, example_pupils):
    return run_screening(actor=manager, school=school, on=ON)


def test_school_staff_accept_and_decline_with_reasons(screened, school_staff, example_pupils):
    review_shortlist(
        actor=school_staff,
        screening_round=screened,
        pupil=example_pupils["A"],
        decision="accept",
        reason="Known to the pastoral team",
    )
    review_shortlist(
        actor=school_staff,
        screening_round=screened,
        pupil=example_pupils["B"],
        decision="decline",
        reason="Moving school next term",
    )
    statuses = dict(screened.profiles.values_list("pupil__upn", "status"))
    assert statuses[UPN["A"]] == "accepted" and statuses[UPN["B"]] == "declined"
    entries = AuditEntry.objects.filter(action__startswith="shortlist.", actor=school_staff)
    assert sorted(entries.values_list("action", flat=True)) == [
        "shortlist.accept",
        "shortlist.decline",
    ]


def test_link_worker_adds_a_pupil_on_professional_advice(screened, link_worker, example_pupils):
    review_shortlist(
        actor=link_worker,
        screening_round=screened,
        pupil=example_pupils["E"],
        decision="add",
        reason="Recent bereavement, known to the Link Worker",
    )
    profile = screened.profiles.get(pupil=example_pupils["E"])
    assert profile.status == "added"
    review_shortlist(
        actor=link_worker,
        screening_round=screened,
        pupil=example_pupils["E"],
        decision="accept",
        reason="Family keen",
    )


@pytest.mark.parametrize(
    ("letter", "decision", "reason", "error"),
    [
        ("A", "accept", "  ", "Give a reason"),
        ("A", "add", "x", "already on the shortlist"),
        ("E", "accept", "x", "not on the shortlist"),
        ("D", "add", "x", "excluded: statutory status CP"),
    ],
)
def test_review_refusals(screened, school_staff, example_pupils, letter, decision, reason, error):
    with pytest.raises(ValidationError, match=error):
        review_shortlist(
            actor=school_staff,
            screening_round=screened,
            pupil=example_pupils[letter],
            decision=decision,
            reason=reason,
        )
    assert not AuditEntry.objects.filter(action__startswith="shortlist.").exists()


def test_other_schools_staff_cannot_review(
    screened, other_link_worker, partner_user, funder, example_pupils
):
    for user in (other_link_worker, partner_user, funder):
        with pytest.raises(PermissionDenied):
            review_shortlist(
                actor=user,
                screening_round=screened,
                pupil=example_pupils["A"],
                decision="accept",
                reason="x",
            )


# Dates and statutory cases -----------------------------------------------------------


TODAY = date(2026, 11, 23)


@pytest.fixture
def today(time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC))
    return TODAY


@pytest.mark.parametrize("run", ["one", "many"])
def test_a_round_dated_after_today_is_refused(today, manager, school, rules, example_pupils, run):
    tomorrow = today + dt.timedelta(days=1)
    with pytest.raises(ValidationError, match="2026-11-24 is after today"):
        if run == "one":
            run_screening(actor=manager, school=school, on=tomorrow)
        else:
            run_screening_rounds(actor=manager, schools=[school], on=tomorrow)
    assert not ScreeningRound.objects.exists()
    assert not AuditEntry.objects.filter(action="screening.run").exists()
    assert run_screening(actor=manager, school=school, on=today).on == today


def test_screen_command_refuses_a_date_after_today(today, school, rules):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="2030-01-01 is after today"):
        call_command("screen", "--school", school.urn, "--on", "2030-01-01")


def test_statutory_cases_are_excluded_by_rules_that_do_not_list_them(
    manager, school, example_pupils
):
    """Rules stored before the document had to list every status still exclude them."""
    document = parse_screening_rules(RULES_YAML, filename="screening.yaml")
    older = ScreeningRules.objects.create(
        version=1, document={**document, "exclude_statutory": []}, source=""
    )
    screening_round = run_screening(actor=manager, school=school, on=ON, rules=older)
    assert shortlist_of(screening_round) == SHORTLIST
    excluded = RiskProfile.objects.get(round=screening_round, status=ProfileStatus.EXCLUDED)
    assert (excluded.pupil.upn, excluded.excluded_reason) == (UPN["D"], "statutory status CP")


def test_a_child_given_a_statutory_status_since_the_round_cannot_be_accepted(
    screened, school_staff, example_pupils
):
    child = example_pupils["A"]
    child.statutory_status = "LAC"
    child.save()
    with pytest.raises(ValidationError, match="excluded: statutory status LAC"):
        review_shortlist(
            actor=school_staff,
            screening_round=screened,
            pupil=child,
            decision="accept",
            reason="Agreed",
        )
    review_shortlist(
        actor=school_staff,
        screening_round=screened,
        pupil=child,
        decision="decline",
        reason="Looked after since September",
    )
    assert screened.profiles.get(pupil=child).status == "declined"


# Deleting a round run by mistake -----------------------------------------------------


def test_a_manager_deletes_a_round_nothing_was_decided_on(screened, manager):
    pk = screened.pk
    delete_screening_round(actor=manager, screening_round=screened)
    assert not ScreeningRound.objects.filter(pk=pk).exists()
    assert not RiskProfile.objects.filter(round_id=pk).exists()
    entry = AuditEntry.objects.get(action="screening.deleted")
    assert (entry.actor, entry.object_id) == (manager, str(pk))
    assert entry.changes["on"] == "2026-10-01" and entry.changes["pupils_screened"] == 7


def test_a_round_with_a_decision_is_kept(screened, manager, school_staff, example_pupils):
    review_shortlist(
        actor=school_staff,
        screening_round=screened,
        pupil=example_pupils["B"],
        decision="decline",
        reason="Moving school next term",
    )
    with pytest.raises(ValidationError, match="Decisions are recorded on this round"):
        delete_screening_round(actor=manager, screening_round=screened)
    assert ScreeningRound.objects.filter(pk=screened.pk).exists()
    assert not AuditEntry.objects.filter(action="screening.deleted").exists()


def test_only_a_manager_deletes_a_round(screened, link_worker, school_staff, admin_user):
    for user in (link_worker, school_staff, admin_user):
        with pytest.raises(PermissionDenied):
            delete_screening_round(actor=user, screening_round=screened)
    assert ScreeningRound.objects.filter(pk=screened.pk).exists()
