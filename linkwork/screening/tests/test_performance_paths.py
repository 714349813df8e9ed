"""The service reads only the latest rows, chosen in the database; the pure rules must
reach the same verdicts from them as from every row on record."""

import json
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from linkwork.audit.models import AuditEntry
from linkwork.core.upn import make_upn
from linkwork.schools.models import School
from linkwork.screening import queries, services
from linkwork.screening.documents import parse_screening_rules
from linkwork.screening.models import RiskProfile, ScreeningRound, ScreeningRules
from linkwork.screening.queries import screening_data
from linkwork.screening.rules import (
    AttainmentResult,
    Attendance,
    PupilData,
    Rules,
    ScaleScore,
    screen,
)
from linkwork.screening.services import (
    delete_screening_round,
    run_screening,
    run_screening_rounds,
    store_screening_rules,
)

from .conftest import put_pupil
from .example import ON as EXAMPLE_ON
from .example import PUPILS, RULES_YAML

DOC = parse_screening_rules(RULES_YAML, filename="screening.yaml")

pytestmark = pytest.mark.django_db

ON = date(2026, 10, 1)
BEFORE = date(2026, 9, 20)
AFTER = date(2026, 10, 2)

TIES_YAML = """\
min_risk_areas: 1
priority_areas: [economic_disadvantage]
exclude_statutory: [CIN, CP, LAC]
areas:
  economic_disadvantage: {pupil_flag: fsm}
  attendance: {attendance_rate_below: 0.90}
  emotional_wellbeing: {score: SDQ/emotional, at_risk_from: 5}
  conduct_by_teacher: {score: SDQ/conduct, at_risk_from: 4, respondent: teacher}
  english: {attainment: reading, below_expected_by: 1}
"""
# Without a rule naming a respondent, the database keeps one score per scale.
ANY_RESPONDENT_YAML = TIES_YAML.replace(
    "conduct_by_teacher: {score: SDQ/conduct, at_risk_from: 4, respondent: teacher}",
    "conduct: {score: SDQ/conduct, at_risk_from: 4}",
)


def term(start, end, present, possible=70):
    return Attendance(start, end, possible, present)


def sdq(scale, score, respondent, on=ON):
    return ScaleScore("SDQ", scale, on, respondent, Decimal(score))


def reading(value, on, expected="100"):
    return AttainmentResult("reading", on, Decimal(value), Decimal(expected))


def upn(n):
    return make_upn(f"9020000000{n:02d}")


# Each pupil is a tie or an edge the database must settle as the rules do.
TRICKY = [
    # self, parent and teacher on the same date: self counts (3, not 7 or 9)
    PupilData(
        upn(1),
        fsm=True,
        scores=(
            sdq("emotional", 9, "teacher"),
            sdq("emotional", 7, "parent"),
            sdq("emotional", 3, "self"),
            sdq("conduct", 1, "self"),
            sdq("conduct", 5, "teacher"),
        ),
    ),
    # parent before teacher when the child did not answer; an older self score is older
    PupilData(
        upn(2),
        fsm=False,
        scores=(
            sdq("emotional", 2, "teacher"),
            sdq("emotional", 6, "parent"),
            sdq("emotional", 1, "self", BEFORE),
            sdq("conduct", 6, "teacher", BEFORE),
            sdq("conduct", 0, "teacher", AFTER),
        ),
    ),
    # scores after the date are not seen, whoever gave them
    PupilData(
        upn(3),
        scores=(
            sdq("emotional", 8, "self", AFTER),
            sdq("emotional", 8, "parent", AFTER),
            sdq("emotional", 4, "teacher", BEFORE),
            sdq("conduct", 9, "teacher", AFTER),
        ),
    ),
    # a period ending exactly on the date counts; one ending after it does not
    PupilData(
        upn(4),
        attendance=(
            term(date(2026, 7, 1), date(2026, 7, 22), 70),
            term(date(2026, 9, 1), ON, 50),
            term(date(2026, 9, 2), AFTER, 10),
        ),
        attainment=(reading("95", ON), reading("100", date(2026, 7, 1)), reading("90", AFTER)),
    ),
    # two periods ending on the date: the later start wins; a period of no possible
    # sessions is skipped, so an earlier one counts
    PupilData(
        upn(5),
        attendance=(
            term(date(2026, 9, 1), ON, 40),
            term(date(2026, 9, 15), ON, 66),
            term(date(2026, 9, 28), date(2026, 9, 30), 0, possible=0),
        ),
    ),
    PupilData(
        upn(6),
        attendance=(
            term(date(2026, 7, 1), date(2026, 7, 22), 55),
            term(date(2026, 9, 2), BEFORE, 0, possible=0),
        ),
        attainment=(reading("98", AFTER),),
    ),
    # nothing on or before the date: no data anywhere
    PupilData(
        upn(7),
        attendance=(term(ON, AFTER, 20),),
        attainment=(reading("80", AFTER),),
        scores=(sdq("emotional", 9, "self", AFTER),),
    ),
]


def stored_rules(manager, source):
    document = parse_screening_rules(source, filename="screening.yaml")
    return store_screening_rules(actor=manager, document=document, source=source)


def profiles(result):
    return [(p.upn, p.detailed_explanation(), p.risk_areas, p.priority_areas) for p in result]


@pytest.mark.parametrize("source", [TIES_YAML, ANY_RESPONDENT_YAML])
@pytest.mark.parametrize("on", [ON, BEFORE, AFTER])
def test_latest_rows_chosen_in_the_database_give_the_rules_verdicts(school, source, on):
    for n, pupil in enumerate(TRICKY, start=1):
        put_pupil(school, pupil, n)
    rules = Rules.from_document(parse_screening_rules(source, filename="screening.yaml"))

    _, read = screening_data(school, on, rules)

    # fewer rows than on record, but the same verdicts
    assert sum(len(p.scores) + len(p.attendance) for p in read) < sum(
        len(p.scores) + len(p.attendance) for p in TRICKY
    )
    expected = screen(rules, TRICKY, on)
    got = screen(rules, read, on)
    assert profiles(got.profiles) == profiles(expected.profiles)
    assert profiles(got.shortlist) == profiles(expected.shortlist)
    assert got.data_date == expected.data_date


def test_the_ties_are_settled_as_the_docs_say(school):
    for n, pupil in enumerate(TRICKY, start=1):
        put_pupil(school, pupil, n)
    rules = Rules.from_document(parse_screening_rules(TIES_YAML, filename="screening.yaml"))
    _, read = screening_data(school, ON, rules)
    seen = {p.upn: screen(rules, [p], ON).profiles[0].detailed_explanation() for p in read}

    def shown(n, area):
        verdict = seen[upn(n)][area]
        return verdict["value"], verdict["source"]

    assert shown(1, "emotional_wellbeing") == ("3", "self")
    assert shown(1, "conduct_by_teacher") == ("5", "teacher")
    assert shown(2, "emotional_wellbeing") == ("6", "parent")
    assert shown(2, "conduct_by_teacher") == ("6", "teacher")
    assert shown(3, "emotional_wellbeing") == ("4", "teacher")
    assert shown(3, "conduct_by_teacher") == ("no data", "")
    assert shown(4, "attendance") == ("0.7143", "50/70 sessions")
    assert shown(4, "english") == ("95", "expected 100")
    assert shown(5, "attendance") == ("0.9429", "66/70 sessions")
    assert shown(6, "attendance") == ("0.7857", "55/70 sessions")
    assert shown(6, "english") == ("no data", "")
    assert all(
        v["value"] == "no data" for k, v in seen[upn(7)].items() if k != "economic_disadvantage"
    )


@pytest.fixture
def borough(area, school, other_school):
    """Three schools, one of them empty, with the tricky pupils shared between two."""
    empty = School.objects.create(urn="100003", name="Empty Primary", phase="secondary", area=area)
    for n, pupil in enumerate(TRICKY, start=1):
        put_pupil(school if n % 2 else other_school, pupil, n)
    return [other_school, empty, school]


def stored(screening_round):
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


@pytest.mark.parametrize("small", [False, True])
def test_rounds_over_many_schools_store_what_one_school_rounds_store(
    manager, borough, monkeypatch, small
):
    if small:
        # batches of schools, each read (a few rows at a time), screened and written
        monkeypatch.setattr(queries, "BATCH", 2)
        monkeypatch.setattr(queries, "CHUNK", 2)
    rules = stored_rules(manager, TIES_YAML)
    together = run_screening_rounds(actor=manager, schools=borough, on=ON, rules=rules)
    assert [r.school for r in together] == sorted(borough, key=lambda s: s.pk)
    for screening_round in together:
        kept = stored(screening_round)
        # a school has one round a day: the round alone replaces the one of many
        delete_screening_round(actor=manager, screening_round=screening_round)
        alone = run_screening(actor=manager, school=screening_round.school, on=ON, rules=rules)
        assert kept == stored(alone)
        assert [
            screening_round.data_date,
            screening_round.pupils_screened,
            screening_round.shortlisted,
            screening_round.excluded,
        ] == [alone.data_date, alone.pupils_screened, alone.shortlisted, alone.excluded]
    assert [r.pupils_screened for r in together] == [4, 3, 0]


def test_rounds_over_many_schools_read_in_one_query_per_batch(manager, borough, monkeypatch):
    rules = stored_rules(manager, TIES_YAML)
    monkeypatch.setattr(queries, "BATCH", 16)  # the first school, then the other two
    batches = queries.screening_batches(borough)
    assert len(batches) == 2
    with CaptureQueriesContext(connection) as context:
        run_screening_rounds(actor=manager, schools=borough, on=ON, rules=rules)
    reads = [q["sql"] for q in context.captured_queries if "SELECT" in q["sql"].upper()]
    # the schools (locked) and whether each has a round that day, pupils on roll per
    # school, then one row per pupil for each batch
    assert "EXISTS" in reads[0] and "GROUP BY" in reads[1]
    assert len([sql for sql in reads if sql.startswith("WITH batch")]) == len(batches)
    # per school only the round and its audit entry, and (PostgreSQL) the rounds' ids
    assert len(context.captured_queries) <= 4 + 2 * len(borough) + 2 + 2


@pytest.mark.django_db(transaction=True)
def test_rounds_read_ahead_outside_a_transaction_store_the_same(manager, borough, monkeypatch):
    """Outside a caller's transaction PostgreSQL reads the next batch on a second
    connection while a batch is written; the rounds are the same."""
    monkeypatch.setattr(queries, "BATCH", 2)
    read_ahead, original = [], services.read_ahead
    monkeypatch.setattr(
        services,
        "read_ahead",
        lambda read, items, **kwargs: read_ahead.append(1) or original(read, items, **kwargs),
    )
    rules = stored_rules(manager, TIES_YAML)
    together = run_screening_rounds(actor=manager, schools=borough, on=ON, rules=rules)
    assert read_ahead == ([1] if connection.vendor == "postgresql" else [])
    for screening_round in together:
        kept = stored(screening_round)
        delete_screening_round(actor=manager, screening_round=screening_round)
        alone = run_screening(actor=manager, school=screening_round.school, on=ON, rules=rules)
        assert kept == stored(alone)
        assert screening_round.data_date == alone.data_date
    assert [r.pupils_screened for r in together] == [4, 3, 0]
    assert AuditEntry.objects.filter(action="screening.run").count() == 6


def test_a_failed_round_stores_nothing(manager, borough, monkeypatch):
    rules = stored_rules(manager, TIES_YAML)
    monkeypatch.setattr(queries, "BATCH", 2)

    def broken(*args, **kwargs):
        raise RuntimeError("the data could not be read")

    monkeypatch.setattr(services, "screening_data_for", broken)
    with pytest.raises(RuntimeError, match="could not be read"):
        run_screening_rounds(actor=manager, schools=borough, on=ON, rules=rules)
    assert not ScreeningRound.objects.exists() and not RiskProfile.objects.exists()


def test_stored_explanation_text_is_the_json_of_the_detailed_explanation():
    explained = services._Explanations()
    result = screen(Rules.from_document(DOC), PUPILS, EXAMPLE_ON)
    for profile in result.profiles * 2:  # the second time from the kept texts
        assert json.loads(explained(profile)) == profile.detailed_explanation()
        assert explained(profile) == json.dumps(
            profile.detailed_explanation(), separators=(",", ":")
        )


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("", ""),
        ("statutory status CP", "statutory status CP"),
        ("a\\b\tc\nd\re", "a\\\\b\\tc\\nd\\re"),
    ],
)
def test_copy_text_escapes_what_copy_reads_specially(value, written):
    assert services._copy_text(value) == written


def test_explanations_with_unusual_text_are_stored_as_given(manager, school):
    """Text with quotes, backslashes, tabs and accents reaches the stored explanation
    intact (on PostgreSQL through COPY)."""
    put_pupil(school, TRICKY[0], 1)
    name = 'wellbeing "self" \\ \t über'
    document = {
        "min_risk_areas": 1,
        "priority_areas": [],
        "exclude_statutory": [],
        "areas": {name: {"score": "SDQ/emotional", "at_risk_from": "3"}},
    }
    rules = ScreeningRules.objects.create(version=99, document=document, source="")
    screening_round = run_screening(actor=manager, school=school, on=ON, rules=rules)
    (stored_profile,) = screening_round.profiles.all()
    assert stored_profile.explanation == {
        name: {
            "value": "3",
            "threshold": ">= 3",
            "at_risk": True,
            "seen_on": "2026-10-01",
            "source": "self",
        }
    }


def test_batches_keep_school_order_and_start_small(area, school, other_school):
    more = [
        School.objects.create(urn=f"2000{n:02d}", name=f"School {n}", phase="primary", area=area)
        for n in range(6)
    ]
    for n, pupil in enumerate(TRICKY, start=1):
        put_pupil(more[n % 3], pupil, n)
    schools = [*more, school, other_school, more[0]]  # in no order, one twice
    batches = queries.screening_batches(schools, size=8)
    assert [s for b in batches for s in b] == sorted(set(schools), key=lambda s: s.pk)
    # at most 1, 2, 4, then 8 pupils a batch, but a school is never split
    on_roll = [[s.pupils.count() for s in b] for b in batches]
    assert on_roll == [[0, 0], [2], [3], [2, 0, 0, 0]]
