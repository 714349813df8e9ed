"""The service reads only the latest rows, chosen in the database; the pure rules must
reach the same verdicts from them as from every row on record."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from linkwork.core.upn import make_upn
from linkwork.schools.models import School
from linkwork.screening import queries, services
from linkwork.screening.documents import parse_screening_rules
from linkwork.screening.queries import screening_data
from linkwork.screening.rules import (
    AttainmentResult,
    Attendance,
    PupilData,
    Rules,
    ScaleScore,
    screen,
)
from linkwork.screening.services import run_screening, run_screening_rounds, store_screening_rules

from .conftest import put_pupil

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
        # many fetches from each stream and many profile batches, interleaved
        monkeypatch.setattr(queries, "CHUNK", 2)
        monkeypatch.setattr(services._ProfileWriter, "BATCH", 3)
    rules = stored_rules(manager, TIES_YAML)
    together = run_screening_rounds(actor=manager, schools=borough, on=ON, rules=rules)
    assert [r.school for r in together] == sorted(borough, key=lambda s: s.pk)
    for screening_round in together:
        alone = run_screening(actor=manager, school=screening_round.school, on=ON, rules=rules)
        assert stored(screening_round) == stored(alone)
        assert [
            screening_round.data_date,
            screening_round.pupils_screened,
            screening_round.shortlisted,
            screening_round.excluded,
        ] == [alone.data_date, alone.pupils_screened, alone.shortlisted, alone.excluded]
    assert [r.pupils_screened for r in together] == [4, 3, 0]


def test_rounds_over_many_schools_read_in_four_queries(manager, borough):
    rules = stored_rules(manager, TIES_YAML)
    with CaptureQueriesContext(connection) as context:
        run_screening_rounds(actor=manager, schools=borough, on=ON, rules=rules)
    reads = [q["sql"] for q in context.captured_queries if "SELECT" in q["sql"].upper()]
    # pupils, attendance, attainment, scores; per school only the round and its audit entry
    assert len(reads) == 4
    assert len(context.captured_queries) <= 4 + 2 * len(borough) + 1 + 2
