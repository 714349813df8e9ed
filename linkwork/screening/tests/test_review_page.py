"""The shortlist page as school staff work through it: page by page, each decision
bringing them back to where they were, refusals that say whose they are."""

import re
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from linkwork.people.models import SchoolAttendance
from linkwork.screening.forms import ReviewForm
from linkwork.screening.services import review_shortlist, run_screening
from linkwork.screening.views import SHORTLIST_PAGE_SIZE

from .example import ON

pytestmark = pytest.mark.django_db

SHORTLISTED = 60  # two full pages and a part page


@pytest.fixture
def big_round(manager, school, rules, make_pupil):
    """A round of 60 shortlisted pupils (free school meals, 150 of 190 sessions) and one
    pupil the rules missed; returns the round, the shortlist's pupils in order and the
    one missed."""
    for n in range(SHORTLISTED + 1):
        pupil = make_pupil(fsm=n < SHORTLISTED)
        SchoolAttendance.objects.create(
            pupil=pupil,
            period_start=date(2026, 4, 20),
            period_end=date(2026, 7, 22),
            possible_sessions=190,
            present_sessions=150 if n < SHORTLISTED else 185,
        )
    screening_round = run_screening(actor=manager, school=school, on=ON)
    shortlist = [
        p.pupil for p in screening_round.profiles.exclude(rank=None).select_related("pupil")
    ]
    missed = screening_round.profiles.get(rank=None).pupil
    return screening_round, shortlist, missed


def articles(response) -> list[int]:
    """The pupil ids of the rows shown, in order."""
    return [int(pk) for pk in re.findall(r'<li id="pupil-(\d+)">', response.content.decode())]


def test_the_shortlist_is_paged_and_a_page_costs_the_same_whatever_its_rows(
    client, school_staff, big_round, enrol, django_assert_max_num_queries
):
    screening_round, shortlist, _ = big_round
    for pupil in shortlist[:3]:
        enrol(pupil)
    url = reverse("screening:round_detail", args=[screening_round.pk])
    client.force_login(school_staff)
    counted = []
    for page, rows in ((1, shortlist[:25]), (3, shortlist[50:])):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, {"page": page})
        assert articles(response) == [p.pk for p in rows]
        counted.append(len(queries))
    assert counted[0] == counted[1]
    with django_assert_max_num_queries(11):
        client.get(url)
    page = client.get(url, {"page": 2}).content.decode()
    assert "Page 2 of 3" in page and '<ol start="26">' in page


def test_the_page_links_keep_the_filter(client, school_staff, big_round):
    screening_round, shortlist, _ = big_round
    for pupil in shortlist[:10]:
        review_shortlist(
            actor=school_staff,
            screening_round=screening_round,
            pupil=pupil,
            decision="accept",
            reason="Agreed",
        )
    client.force_login(school_staff)
    url = reverse("screening:round_detail", args=[screening_round.pk])
    response = client.get(url, {"show": "to_review"})
    assert articles(response) == [p.pk for p in shortlist[10:35]]
    page = response.content.decode()
    assert '<a href="?show=to_review&amp;page=2" rel="next">' in page
    assert "60 on the shortlist: 50 to review, 10 decided." in page
    assert f'action="/screening/rounds/{screening_round.pk}/review/?show=to_review&amp;page=1"' in (
        page
    )


def test_a_decision_brings_the_reviewer_back_to_the_child(client, school_staff, big_round):
    screening_round, shortlist, missed = big_round
    client.force_login(school_staff)
    review = reverse("screening:review", args=[screening_round.pk])
    here = reverse("screening:round_detail", args=[screening_round.pk])

    def decide(query, pupil, decision="accept"):
        return client.post(
            f"{review}?{query}", {"pupil": pupil.pk, "decision": decision, "reason": "Agreed"}
        )

    # the 31st child is on page 2, and stays there once decided
    response = decide("page=2", shortlist[30])
    assert response.url == f"{here}?page=2#pupil-{shortlist[30].pk}"
    assert shortlist[30].pk in articles(client.get(response.url))
    # to review only: the decided child leaves the list, so back at the next one
    response = decide("show=to_review&page=2", shortlist[31])
    assert response.url == f"{here}?show=to_review&page=2#pupil-{shortlist[32].pk}"
    # the last of the list: nobody after, the same page
    response = decide("show=to_review&page=3", shortlist[-1])
    assert response.url == f"{here}?show=to_review&page=3"
    # one added on professional advice comes after the rules' shortlist: page 3
    response = decide("page=1", missed, "add")
    assert response.url == f"{here}?page=3#pupil-{missed.pk}"
    assert articles(client.get(response.url))[-1] == missed.pk


def test_a_refused_decision_names_the_child_and_keeps_what_was_typed(
    client, school_staff, big_round
):
    screening_round, shortlist, _ = big_round
    child = shortlist[40]
    client.force_login(school_staff)
    review = reverse("screening:review", args=[screening_round.pk])
    response = client.post(
        f"{review}?page=1", {"pupil": child.pk, "reason": "Discussed with the SENCo"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert f"The decision on {child.name} was not recorded" in page
    assert "<li>Decision: This field is required.</li>" in page
    assert f'<a href="#pupil-{child.pk}">Back to {child.name}</a>' in page
    # shown on the child's own page (2, not the page 1 of the form), with what was typed
    assert child.pk in articles(response)
    textarea = re.search(
        rf'<textarea id="reason-{child.pk}"([^>]*)>([^<]*)</textarea>', page
    ).groups()
    assert "autofocus" in textarea[0] and textarea[1] == "Discussed with the SENCo"

    too_long = "x" * 1001
    response = client.post(review, {"pupil": child.pk, "decision": "decline", "reason": too_long})
    page = response.content.decode()
    assert "Reason: Ensure this value has at most 1000 characters (it has 1001)." in page
    assert f">{too_long}</textarea>" in page
    assert re.search(r'value="decline" required checked', page)


def test_a_refused_addition_keeps_the_pupil_and_the_reason(client, school_staff, big_round):
    screening_round, _, missed = big_round
    client.force_login(school_staff)
    too_long = "y" * 1001
    response = client.post(
        reverse("screening:review", args=[screening_round.pk]),
        {"pupil": missed.pk, "decision": "add", "reason": too_long},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert f"The decision on {missed.name} was not recorded" in page
    assert f'<option value="{missed.pk}" selected>' in page
    assert re.search(rf'<textarea id="add-reason"[^>]* autofocus>{too_long}</textarea>', page)


def test_the_reason_box_holds_what_the_server_keeps(client, school_staff, big_round):
    screening_round, _, _ = big_round
    client.force_login(school_staff)
    page = client.get(reverse("screening:round_detail", args=[screening_round.pk]))
    limit = ReviewForm.base_fields["reason"].max_length
    assert limit == 1000
    boxes = re.findall(r"<textarea [^>]*>", page.content.decode())
    assert len(boxes) == SHORTLIST_PAGE_SIZE + 1  # each row's and the one to add a pupil
    assert all(f'maxlength="{limit}"' in box for box in boxes)


def test_enrolled_children_are_shown_as_enrolled_not_to_review(
    client, school_staff, screened, example_pupils, enrol
):
    a = example_pupils["A"]
    enrol(a)
    enrol(example_pupils["E"])  # not shortlisted: not offered to add either
    today = timezone.localdate()
    ended = enrol(example_pupils["B"], on=today - timedelta(days=30))
    ended.ended_on = today - timedelta(days=1)
    ended.save()
    client.force_login(school_staff)
    url = reverse("screening:round_detail", args=[screened.pk])
    page = client.get(url).content.decode()
    assert "4 on the shortlist: 3 to review, 0 decided, 1 already enrolled" in page
    row = page[page.index(f'<li id="pupil-{a.pk}">') : page.index("</li>", page.index(a.upn))]
    assert "Status: <strong>Already enrolled</strong>" in row
    assert "nothing to decide" in row and "<form" not in row
    assert f"Review {example_pupils['B'].name}" in page  # an ended enrolment: reviewed again
    assert f'<option value="{example_pupils["E"].pk}"' not in page
    assert a.pk not in articles(client.get(url, {"show": "to_review"}))
    with pytest.raises(ValidationError, match="already enrolled"):
        review_shortlist(
            actor=school_staff, screening_round=screened, pupil=a, decision="accept", reason="x"
        )


@pytest.fixture
def screened(manager, school, rules, example_pupils):
    return run_screening(actor=manager, school=school, on=ON)
