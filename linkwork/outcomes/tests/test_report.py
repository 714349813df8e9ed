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
    ChildRows,
    cohort_report,
    published_rows,
    published_tables,
    share,
    shown,
)

from .test_areas import DEFINITIONS

D = dt.date.fromisoformat
ENROLLED = D("2024-09-10")  # mid-point up to 2025-09-10, end point up to 2026-09-10
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
    line = emotional(cohort_report(CHILDREN, RULES))
    assert (line.with_baseline, line.at_risk) == (4, 3)  # A, B, C, E; at risk A, B, E
    mid = line.mid_point
    assert (mid.followed_up, mid.crossed, mid.improved_not_across, mid.reliable) == (3, 1, 1, 1)
    end = line.end_point
    assert (end.followed_up, end.crossed, end.improved_not_across, end.reliable) == (2, 2, 0, 1)


def test_measures_without_sd_and_reliability_have_no_reliable_count():
    report = cohort_report(CHILDREN, RULES)
    reading = next(line for line in report if line.measure.subject == "reading")
    assert reading.mid_point.reliable is None
    assert reading.with_baseline == 0
    assert [line.measure.label for line in report][:2] == [
        "SDQ emotional symptoms",
        "SDQ peer relationship problems",
    ]


@pytest.mark.parametrize(
    ("count", "minimum", "text"),
    [(None, 5, "—"), (0, 5, "0"), (1, 5, "<5"), (4, 5, "<5"), (5, 5, "5"), (12, 10, "12")],
)
def test_small_counts_are_suppressed(count, minimum, text):
    assert shown(count, minimum) == text


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


def test_published_cells_apply_the_minimum():
    report = cohort_report(CHILDREN, RULES)
    row = next(r for r in published_rows(report, 2) if r["measure"] == "SDQ emotional symptoms")
    assert (row["with_baseline"], row["at_risk"]) == ("4", "3")
    assert (row["mid_followed_up"], row["mid_crossed"], row["mid_crossed_share"]) == ("3", "<2", "")
    assert (row["end_crossed"], row["end_crossed_share"]) == ("2", "100%")
    assert row["end_improved_not_across"] == "0"
    tables = published_tables(report, 2)
    assert [t["key"] for t in tables] == ["mid", "end"]
    first = tables[1]["rows"][0]
    assert first["cells"][1] == {"count": "2", "share": "100%"}


@pytest.fixture
def reported_cohort(make_pupil, enrol, cohort):
    """Six enrolled children at risk in SDQ emotional at baseline; five cross by the mid-point."""
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
    assert "5 (83%)" in text  # five of six crossed the threshold by the mid-point
    assert "&lt;5" in text  # the one child improved but not across is not shown as 1
    assert "Test" not in text  # no child's name on the page


@pytest.mark.django_db
def test_the_report_downloads_as_csv(client, manager, reported_cohort):
    client.force_login(manager)
    response = client.get(
        reverse("outcomes:report"), {"cohort": reported_cohort.pk, "format": "csv"}
    )
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["Area", "Measure", "Children with a baseline", "At risk at baseline"]
    emotional_row = next(r for r in rows if r[1] == "SDQ emotional symptoms")
    assert emotional_row[2:7] == ["6", "6", "6", "5", "<5"]


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
