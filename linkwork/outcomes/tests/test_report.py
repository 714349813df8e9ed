"""The cohort outcome report on hand-worked cases (docs/outcomes.md), and its page."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from linkwork.measures.models import Administration, Score
from linkwork.outcomes.areas import ScoreRow, measure_rules
from linkwork.outcomes.report import (
    NO_THRESHOLD,
    NOT_APPLICABLE,
    NOT_YET_DUE,
    PARTLY_DUE,
    SUPPRESSED,
    ChildRows,
    MeasureCounts,
    WaveCounts,
    cohort_report,
    published_rows,
    published_tables,
    share,
)

from .test_areas import DEFINITIONS

D = dt.date.fromisoformat
ENROLLED = D("2024-09-10")  # mid-point up to 2025-09-10, end point up to 2026-09-10
TODAY = D("2026-10-01")  # both waves have come
RULES = {"primary": measure_rules(None, None, DEFINITIONS, "primary")}


def child(*emotional):
    """A primary child with self-reported SDQ emotional scores [(date, score), …]."""
    scores = tuple(ScoreRow(D(day), "SDQ", "emotional", "self", Decimal(v)) for day, v in emotional)
    return ChildRows(enrolled_on=ENROLLED, phase="primary", scores=scores)


# SDQ emotional: at risk from 5 (primary); reliable change needs more than
# 1.96 x 2.1 x sqrt(2 x (1 - 0.66)) = 3.39, so 4 points or more.
CHILDREN = [
    child(("2024-09-01", 8), ("2025-06-01", 4), ("2026-06-01", 3)),  # A: crossed, reliable
    child(("2024-09-01", 7), ("2025-06-01", 6)),  # B: improved, not across; no end point
    child(("2024-09-01", 3), ("2025-06-01", 2)),  # C: not at risk at baseline
    child(("2025-06-01", 9)),  # D: no baseline
    child(("2024-09-01", 6), ("2025-06-01", 9), ("2026-06-01", 4)),  # E: worse, then crossed
]


def emotional(report):
    return next(line for line in report if line.measure.subject == "SDQ/emotional")


def test_counts_follow_only_children_at_risk_at_baseline_wave_by_wave():
    line = emotional(cohort_report(CHILDREN, RULES, today=TODAY))
    assert (line.with_baseline, line.at_risk) == (4, 3)  # A, B, C, E; at risk A, B, E
    mid = line.mid_point
    assert (mid.followed_up, mid.crossed, mid.improved_not_across, mid.reliable) == (3, 1, 1, 1)
    end = line.end_point
    assert (end.followed_up, end.crossed, end.improved_not_across, end.reliable) == (2, 2, 0, 1)


def test_measures_without_sd_and_reliability_have_no_reliable_count():
    report = cohort_report(CHILDREN, RULES, today=TODAY)
    reading = next(line for line in report if line.measure.subject == "reading")
    assert reading.mid_point.reliable is None
    assert reading.with_baseline == 0
    assert [line.measure.label for line in report][:2] == [
        "SDQ emotional symptoms",
        "SDQ peer relationship problems",
    ]


@pytest.mark.parametrize(
    ("part", "whole", "text"),
    [
        (6, 12, "50%"),
        (5, 8, "63%"),
        (0, 8, "0%"),
        (3, 10, ""),
        (4, 4, ""),
        (None, 10, ""),
        (0, 0, ""),
    ],
)
def test_shares_are_left_out_when_either_number_is_suppressed(part, whole, text):
    assert share(part, whole, 5) == text


def test_published_cells_suppress_what_subtraction_would_give_away():
    """With N = 2 (docs/outcomes.md): one child not at risk (4 - 3) hides the count at
    risk; at the mid-point every group is one child; at the end point the two followed
    up both crossed (a zero group outcome) and one of them changed reliably."""
    report = cohort_report(CHILDREN, RULES, today=TODAY)
    row = next(r for r in published_rows(report, 2) if r["measure"] == "SDQ emotional symptoms")
    assert (row["with_baseline"], row["at_risk"]) == ("4", SUPPRESSED)
    assert [row[f"mid_{c}"] for c in WAVE] == [SUPPRESSED] * 4
    assert [row[f"end_{c}"] for c in WAVE] == ["2", SUPPRESSED, "0", SUPPRESSED]
    assert (row["end_crossed_share"], row["end_improved_not_across_share"]) == ("", "0%")
    tables = published_tables(report, 2)
    assert [t["key"] for t in tables] == ["mid", "end"]
    first = tables[1]["rows"][0]
    assert first["cells"][2] == {"count": "0", "share": "0%", "marker": False}
    assert first["cells"][1] == {"count": SUPPRESSED, "share": "", "marker": True}


WAVE = ("followed_up", "crossed", "improved_not_across", "reliable")


def prosocial(mid, end=None, with_baseline=30, at_risk=9):
    report = cohort_report([], RULES, today=TODAY)
    line = next(line for line in report if line.measure.subject == "SDQ/prosocial")
    end = end or WaveCounts(0, 0, 0, 0, NOT_YET_DUE)
    return MeasureCounts(line.area, line.measure, with_baseline, at_risk, mid, end)


def test_the_review_case_no_longer_gives_the_last_child_away():
    """SDQ prosocial, 9 at risk, all followed up: 8 crossed and 0 improved but not across
    left one child to work out (docs/outcomes.md). Crossed goes (1 not crossed) and
    reliable goes (3 without); the end point, in 2027, is not yet due."""
    line = prosocial(WaveCounts(9, 8, 0, 6))
    (row,) = published_rows([line], 5)
    assert [row["with_baseline"], row["at_risk"]] == ["30", "9"]
    assert [row[f"mid_{c}"] for c in WAVE] == ["9", SUPPRESSED, "0", SUPPRESSED]
    assert (row["mid_crossed_share"], row["mid_improved_not_across_share"]) == ("", "0%")
    assert [row[f"end_{c}"] for c in WAVE] == [NOT_YET_DUE] * 4
    assert row["end_crossed_share"] == ""


def test_a_few_children_without_a_follow_up_hide_the_count_followed_up_and_its_shares():
    line = prosocial(WaveCounts(77, 30, 25, 20), with_baseline=200, at_risk=80)
    (row,) = published_rows([line], 5)
    assert [row[f"mid_{c}"] for c in WAVE] == [SUPPRESSED, "30", "25", "20"]
    assert row["mid_crossed_share"] == ""


def test_a_measure_without_a_threshold_says_so_rather_than_zeros():
    report = cohort_report(CHILDREN, RULES, today=TODAY)
    wellbeing = next(line for line in report if line.measure.subject == "SCWBS/total")
    assert wellbeing.at_risk is None
    row = next(r for r in published_rows(report, 5) if r["measure"] == "SCWBS wellbeing")
    assert (row["with_baseline"], row["at_risk"]) == ("0", NO_THRESHOLD)
    assert {row[f"{w}_{c}"] for w in ("mid", "end") for c in WAVE} == {NOT_APPLICABLE}


@pytest.mark.parametrize(
    ("today", "mid", "end"),
    [
        (D("2025-09-10"), NOT_YET_DUE, NOT_YET_DUE),  # the last day of year one
        (D("2025-09-11"), "due", NOT_YET_DUE),
        (D("2026-09-11"), "due", "due"),
    ],
)
def test_a_wave_counts_once_it_has_come(today, mid, end):
    line = emotional(cohort_report(CHILDREN, RULES, today=today))
    assert (line.mid_point.timing, line.end_point.timing) == (mid, end)
    if mid == NOT_YET_DUE:
        assert line.mid_point.followed_up == 0
    assert line.at_risk == 3  # the baseline counts whatever the date
    row = next(r for r in published_rows([line], 1))
    assert (row["mid_crossed"] == NOT_YET_DUE) == (mid == NOT_YET_DUE)


def test_a_wave_come_for_some_children_counts_those_so_far():
    later = ChildRows(enrolled_on=D("2025-09-10"), phase="primary", scores=CHILDREN[0].scores)
    line = emotional(cohort_report([*CHILDREN, later], RULES, today=D("2025-10-01")))
    assert line.mid_point.timing == PARTLY_DUE
    assert line.mid_point.followed_up == 3  # A, B and E; the later child not yet
    tables = published_tables([line], 1)
    assert tables[0]["note"].startswith("Counts so far")
    assert tables[1]["note"].startswith("Not yet due")


@pytest.fixture
def on(time_machine):
    """The site's today, at noon UTC."""

    def on(day):
        time_machine.move_to(dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC))

    return on


@pytest.fixture
def reported_cohort(make_pupil, enrol, cohort, on):
    """Six enrolled children at risk in SDQ emotional at baseline; five cross by the
    mid-point, one improves but not across; on 1 October 2026 both waves have come."""
    on(TODAY)
    for follow_up in [2, 3, 1, 4, 2, 6]:
        pupil = make_pupil()
        enrolment = enrol(pupil, on=ENROLLED)
        for day, value in ((enrolment.enrolled_on, 8), (D("2025-06-01"), follow_up)):
            administration = Administration.objects.create(
                pupil=pupil, instrument_code="SDQ", administered_on=day, respondent="self"
            )
            Score.objects.create(administration=administration, scale="emotional", score=value)
    return cohort


@pytest.mark.django_db
def test_a_funder_reads_the_report_with_small_numbers_suppressed(client, funder, reported_cohort):
    client.force_login(funder)
    page = client.get(reverse("outcomes:report"), {"cohort": reported_cohort.pk})
    assert page.status_code == 200
    text = page.content.decode()
    assert "6 enrolled children" in text
    # Five of six crossed would leave the one child who did not: neither is shown.
    assert "5 (83%)" not in text and ">1<" not in text
    assert f'<td class="number muted">{SUPPRESSED}</td>' in text
    assert f'<td class="number muted">{NO_THRESHOLD}</td>' in text  # SCWBS wellbeing
    assert "Test" not in text  # no child's name on the page


@pytest.mark.django_db
def test_the_report_downloads_as_csv_with_the_pages_cells(client, manager, reported_cohort):
    client.force_login(manager)
    response = client.get(
        reverse("outcomes:report"), {"cohort": reported_cohort.pk, "format": "csv"}
    )
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["Area", "Measure", "Children with a baseline", "At risk at baseline"]
    emotional_row = next(r for r in rows if r[1] == "SDQ emotional symptoms")
    # All six with a baseline at risk, all followed up: with a baseline goes (else 6 - 6
    # says everyone was at risk), and crossed, improved and reliable (5 and 1, 5 and 1).
    # The end point has come, but no one has a score at it: 0 followed up, nothing else.
    assert emotional_row[2:] == [
        SUPPRESSED,
        "6",
        "6",
        *[SUPPRESSED] * 3,
        "0",
        *[NOT_APPLICABLE] * 3,
    ]
    wellbeing = next(r for r in rows if r[1] == "SCWBS wellbeing")
    assert wellbeing[2:] == ["0", NO_THRESHOLD, *[NOT_APPLICABLE] * 8]
    page = client.get(reverse("outcomes:report"), {"cohort": reported_cohort.pk})
    assert [cell["count"] for cell in page.context["tables"][0]["rows"][0]["cells"]] == [
        "6",
        *[SUPPRESSED] * 3,
    ]


@pytest.mark.django_db
def test_an_end_point_still_to_come_is_not_yet_due(client, manager, make_pupil, enrol, on):
    """The 2025 cohort (enrolled 8 September 2025) in November 2026: the mid-point has
    come, the end point falls in September 2027."""
    on(D("2026-11-23"))
    cohort = enrol(make_pupil()).cohort
    client.force_login(manager)
    url = reverse("outcomes:report")
    text = client.get(url, {"cohort": cohort.pk}).content.decode()
    assert "Not yet due: this wave has not come for any of these children." in text
    response = client.get(url, {"cohort": cohort.pk, "format": "csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    emotional_row = next(r for r in rows if r[1] == "SDQ emotional symptoms")
    assert emotional_row[4:] == ["0", *[NOT_APPLICABLE] * 3, *[NOT_YET_DUE] * 4]


@pytest.mark.django_db
def test_partner_staff_do_not_get_the_report(client, partner_user):
    client.force_login(partner_user)
    assert client.get(reverse("outcomes:report")).status_code == 403


@pytest.mark.django_db
def test_school_staff_read_their_own_schools_children_only(
    client, school_staff, reported_cohort, make_pupil, enrol, other_school
):
    """Their pupils' progress summary: the cohort's children at their school, with small
    numbers suppressed; another school's children never counted, even when asked for."""
    elsewhere = make_pupil(school=other_school)
    enrol(elsewhere, on=ENROLLED)
    client.force_login(school_staff)
    url = reverse("outcomes:report")
    text = client.get(url, {"cohort": reported_cohort.pk}).content.decode()
    assert "Riverside Primary" in text and "6 enrolled children" in text
    assert "Hillside Primary" not in text  # not theirs to choose
    asked = client.get(url, {"cohort": reported_cohort.pk, "school": other_school.pk})
    assert "6 enrolled children" in asked.content.decode()  # their own school again
    response = client.get(url, {"cohort": reported_cohort.pk, "format": "csv"})
    assert (
        "outcomes-" in response["Content-Disposition"]
        and "-100001.csv" in response["Content-Disposition"]
    )


@pytest.mark.django_db
def test_a_manager_narrows_the_report_to_one_school(
    client, manager, reported_cohort, make_pupil, enrol, other_school
):
    elsewhere = make_pupil(school=other_school)
    enrol(elsewhere, on=ENROLLED)
    client.force_login(manager)
    url = reverse("outcomes:report")
    assert "7 enrolled children" in client.get(url, {"cohort": reported_cohort.pk}).content.decode()
    one = client.get(url, {"cohort": reported_cohort.pk, "school": other_school.pk})
    assert "1 enrolled child" in one.content.decode()


@pytest.mark.django_db
def test_a_funder_has_no_school_to_choose(client, funder, reported_cohort):
    client.force_login(funder)
    text = client.get(reverse("outcomes:report"), {"cohort": reported_cohort.pk}).content.decode()
    assert 'name="school"' not in text
