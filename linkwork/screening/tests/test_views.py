import datetime as dt
from datetime import date

import pytest
from django.urls import reverse

from linkwork.audit.models import AuditEntry
from linkwork.people.models import Cohort, Consent, Enrolment
from linkwork.screening.models import ScreeningRound, ScreeningRules
from linkwork.screening.services import run_screening

from .example import ON, RULES_YAML, UPN

pytestmark = pytest.mark.django_db


@pytest.fixture
def screened(manager, school, rules, example_pupils):
    return run_screening(actor=manager, school=school, on=ON)


def test_shortlist_page_shows_order_and_explanation(
    client, school_staff, screened, django_assert_max_num_queries
):
    client.force_login(school_staff)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("screening:round_detail", args=[screened.pk]))
    page = response.content.decode()
    positions = [page.index(UPN[letter]) for letter in "ABFC"]
    assert positions == sorted(positions)


def test_shortlist_page_says_risk_and_exclusions_in_words(client, school_staff, screened):
    client.force_login(school_staff)
    page = client.get(reverse("screening:round_detail", args=[screened.pk])).content.decode()
    # A: 4 areas, 1 priority; B: 3 areas, none a priority
    assert "At risk in 4 areas, 1 of them a priority area." in page
    assert "At risk in 3 areas, none of them priority areas." in page
    assert f"({UPN['D']}): on a child protection plan</li>" in page
    assert "statutory status CP" not in page and "risk areas," not in page


def test_why_is_in_words(client, school_staff, screened):
    client.force_login(school_staff)
    page = client.get(reverse("screening:round_detail", args=[screened.pk])).content.decode()
    assert (
        '<tr><th scope="row">Attendance</th><td>78.95% '
        "<small>(22 Jul 2026, 150 of 190 sessions)</small></td><td>below 90%</td>"
    ) in page
    assert (
        '<tr><th scope="row">English</th><td>97 <small>(1 Jul 2026, expected 100)</small></td>'
        "<td>at or below 99</td>"
    ) in page
    assert "Economic disadvantage" in page and "answered by a parent" in page
    for code in ("economic_disadvantage", "&lt;", "0.7895", "2026-09-20", ">english<"):
        assert code not in page


def test_other_schools_link_worker_gets_404(client, other_link_worker, screened):
    client.force_login(other_link_worker)
    assert client.get(reverse("screening:round_detail", args=[screened.pk])).status_code == 404


def test_review_through_the_page(client, school_staff, screened, example_pupils):
    client.force_login(school_staff)
    url = reverse("screening:review", args=[screened.pk])
    response = client.post(
        url,
        {
            "pupil": example_pupils["A"].pk,
            "decision": "accept",
            "reason": "Agreed at the pastoral meeting",
        },
    )
    assert response.status_code == 302
    assert screened.profiles.get(pupil=example_pupils["A"]).status == "accepted"
    refused = client.post(
        url, {"pupil": example_pupils["E"].pk, "decision": "accept", "reason": "x"}
    )
    assert refused.status_code == 400 and b"not on the shortlist" in refused.content


@pytest.fixture
def today(time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC))
    return date(2026, 11, 23)


def test_round_list_runs_for_a_manager(client, manager, school, rules, example_pupils, today):
    client.force_login(manager)
    response = client.post(reverse("screening:run"), {"school": school.pk, "on": "2026-10-01"})
    assert response.status_code == 302
    assert client.get(reverse("screening:round_list")).status_code == 200


@pytest.mark.parametrize(
    ("on", "message"),
    [
        ("2030-01-01", "The screening date cannot be after today."),
        ("2026-11-24", "The screening date cannot be after today."),
        ("2025-11-22", "The screening date is more than a year ago; check the year."),
    ],
)
def test_run_form_refuses_a_date_after_today_or_over_a_year_ago(
    client, manager, school, rules, example_pupils, today, on, message
):
    client.force_login(manager)
    response = client.post(reverse("screening:run"), {"school": school.pk, "on": on})
    assert response.status_code == 400
    assert response.context["run_form"].errors == {"on": [message]}
    assert message in response.content.decode()
    assert not ScreeningRound.objects.exists()


@pytest.mark.parametrize("on", ["2026-11-23", "2025-11-23"])
def test_run_form_takes_today_and_a_year_ago(
    client, manager, school, rules, example_pupils, today, on
):
    client.force_login(manager)
    response = client.post(reverse("screening:run"), {"school": school.pk, "on": on})
    assert response.status_code == 302
    assert ScreeningRound.objects.get().on.isoformat() == on


def test_a_manager_deletes_a_round_run_by_mistake(client, manager, screened):
    client.force_login(manager)
    page = client.get(reverse("screening:round_detail", args=[screened.pk])).content.decode()
    assert "Delete this round" in page
    assert "Yes, delete this round and its 7 profiles" in page
    response = client.post(
        reverse("screening:round_delete", args=[screened.pk]), {"confirm": "on"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("screening:round_list")
    assert "is deleted" in response.content.decode()
    assert not ScreeningRound.objects.exists()
    assert AuditEntry.objects.filter(action="screening.deleted", actor=manager).count() == 1


def test_a_round_is_deleted_only_once_confirmed(client, manager, screened):
    client.force_login(manager)
    response = client.post(reverse("screening:round_delete", args=[screened.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("screening:round_detail", args=[screened.pk])
    assert "Not deleted: tick the box to confirm the deletion." in response.content.decode()
    assert ScreeningRound.objects.filter(pk=screened.pk).exists()
    assert not AuditEntry.objects.filter(action="screening.deleted").exists()


def test_a_decided_round_offers_no_delete_and_is_kept(
    client, manager, school_staff, screened, example_pupils
):
    client.force_login(school_staff)
    page = client.get(reverse("screening:round_detail", args=[screened.pk])).content.decode()
    assert "Delete this round" not in page
    assert client.post(reverse("screening:round_delete", args=[screened.pk])).status_code == 403
    client.post(
        reverse("screening:review", args=[screened.pk]),
        {"pupil": example_pupils["A"].pk, "decision": "accept", "reason": "Agreed"},
    )
    client.force_login(manager)
    page = client.get(reverse("screening:round_detail", args=[screened.pk])).content.decode()
    assert "Delete this round" not in page
    response = client.post(
        reverse("screening:round_delete", args=[screened.pk]), {"confirm": "on"}, follow=True
    )
    assert "Decisions are recorded on this round" in response.content.decode()
    assert ScreeningRound.objects.filter(pk=screened.pk).exists()


def test_rules_page_refuses_rules_that_let_statutory_cases_through(client, manager, rules):
    client.force_login(manager)
    response = client.post(
        reverse("screening:rules"),
        {"text": RULES_YAML.replace("[CIN, CP, LAC]", "[]")},
    )
    assert (
        "screening.yaml:3: exclude_statutory: statutory cases are always excluded: "
        "list every one of CIN, CP, LAC (missing CIN, CP, LAC)"
    ) in response.content.decode()
    assert ScreeningRules.objects.count() == 1


def test_rules_page_refuses_more_risk_areas_than_defined(client, manager, rules):
    client.force_login(manager)
    response = client.post(
        reverse("screening:rules"),
        {
            "text": "min_risk_areas: 9\nexclude_statutory: [CIN, CP, LAC]\n"
            "areas:\n  fsm: {pupil_flag: fsm}\n"
        },
    )
    assert (
        "screening.yaml:1: min_risk_areas: more than the 1 area defined, so nobody could be "
        "shortlisted (9)"
    ) in response.content.decode()
    assert ScreeningRules.objects.count() == 1


def test_rules_page_reports_located_errors(client, manager, rules):
    client.force_login(manager)
    response = client.post(
        reverse("screening:rules"),
        {
            "text": "min_risk_areas: 1\nexclude_statutory: [CIN, CP, LAC]\n"
            "areas:\n  a: {pupil_flag: sen}\n"
        },
    )
    assert b"screening.yaml:4: areas.a.pupil_flag: one of fsm, eal (sen)" in response.content


def test_consent_then_enrolment_through_the_pages(client, link_worker, make_pupil, today):
    child = make_pupil()
    cohort = Cohort.objects.create(code="2026-27")
    client.force_login(link_worker)
    enrol = reverse("screening:enrol", args=[child.pk])
    form = {"cohort": cohort.pk, "link_worker": link_worker.pk, "enrolled_on": "2026-10-05"}
    refused = client.post(enrol, form)
    assert refused.status_code == 400 and b"cannot be enrolled" in refused.content
    consent = reverse("screening:consent", args=[child.pk])
    response = client.post(
        consent,
        {
            "purposes": ["support", "evidence"],
            "given_by": "parent",
            "given_on": "2026-10-01",
            "child_assent": "yes",
        },
    )
    assert response.status_code == 302
    assert Consent.objects.filter(pupil=child, child_assent=True).count() == 2
    assert client.post(enrol, form).status_code == 302
    assert list(link_worker.caseload.values_list("pupil", flat=True)) == [child.pk]
    support = Consent.objects.get(pupil=child, purpose="support")
    client.post(reverse("screening:withdraw", args=[support.pk]), {"withdrawn_on": "2026-12-01"})
    support.refresh_from_db()
    assert support.withdrawn_on == date(2026, 12, 1)
    assert list(
        AuditEntry.objects.filter(pupil=child).order_by("pk").values_list("action", flat=True)
    ) == [
        "consent.given",
        "consent.given",
        "child.enrolled",
        "consent.withdrawn",
    ]


def test_link_worker_cannot_open_another_schools_child(
    client, link_worker, make_pupil, other_school
):
    child = make_pupil(school=other_school)
    client.force_login(link_worker)
    assert client.get(reverse("screening:consent", args=[child.pk])).status_code == 404


# One round a school a day ---------------------------------------------------------------


def test_run_page_refuses_a_second_round_on_one_date_and_links_the_first(
    client, manager, school, rules, example_pupils, today
):
    client.force_login(manager)
    client.post(reverse("screening:run"), {"school": school.pk, "on": "2026-11-23"})
    first = ScreeningRound.objects.get()
    response = client.post(reverse("screening:run"), {"school": school.pk, "on": "2026-11-23"})
    page = response.content.decode()
    assert response.status_code == 400
    assert (
        "Riverside Primary was already screened on 23 Nov 2026: open that round, or delete it "
        "first if nothing is decided."
    ) in page
    url = reverse("screening:round_detail", args=[first.pk])
    assert f'<a href="{url}">Open the round of Riverside Primary on 23 November 2026</a>' in page
    assert ScreeningRound.objects.count() == 1


# Rules naming instruments -------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        (
            "SDQ/peer",
            "SDQ/nothing",
            "screening.yaml:8: areas.relationships: instrument SDQ has no scale nothing "
            "(conduct, emotional, hyperactivity, peer, prosocial, total_difficulties) (nothing)",
        ),
        (
            "SDQ/peer",
            "SDX/peer",
            "screening.yaml:8: areas.relationships: no instrument SDX is defined "
            "(instruments: SCWBS, SDQ) (SDX)",
        ),
        (
            "SDQ/peer, at_risk_from: 4}",
            "SCWBS/total, at_risk_below: 40, respondent: parent}",
            "screening.yaml:8: areas.relationships: instrument SCWBS is answered by self (parent)",
        ),
    ],
)
def test_rules_page_refuses_an_instrument_scale_or_respondent_not_defined(
    client, manager, rules, old, new, error
):
    client.force_login(manager)
    response = client.post(reverse("screening:rules"), {"text": RULES_YAML.replace(old, new)})
    assert error in response.content.decode()
    assert ScreeningRules.objects.count() == 1


# Consent and enrolment ----------------------------------------------------------------


@pytest.fixture
def consented(make_pupil, today):
    child = make_pupil(given_name="Amara", family_name="Example")
    support = Consent.objects.create(
        pupil=child, purpose="support", given_by="parent", given_on=date(2024, 9, 2)
    )
    return child, support


def test_a_backdated_withdrawal_is_recorded_only_once_confirmed(client, link_worker, consented):
    child, support = consented
    client.force_login(link_worker)
    url = reverse("screening:withdraw", args=[support.pk])
    asked = client.post(url, {"withdrawn_on": "2024-12-01"})
    page = asked.content.decode()
    assert asked.status_code == 400
    support.refresh_from_db()
    assert support.withdrawn_on is None
    assert '<div class="error-summary" role="alert">' in page
    assert "The withdrawal was not recorded" in page
    assert (
        f'<a href="#withdraw-{support.pk}-confirm_backdated">Backdated withdrawal: The withdrawal '
        "is dated 1 December 2024, before today. Backdated withdrawals reverse payments already "
        "claimed for this child after that date. Tick the box to confirm.</a>"
    ) in page
    assert "Yes, withdraw from 1 December 2024" in page
    assert 'value="2024-12-01"' in page  # the date as typed
    done = client.post(url, {"withdrawn_on": "2024-12-01", "confirm_backdated": "on"}, follow=True)
    support.refresh_from_db()
    assert support.withdrawn_on == date(2024, 12, 1)
    assert (
        "Withdrawal recorded from 1 December 2024. Backdated withdrawals reverse payments "
        "already claimed for this child after that date."
    ) in done.content.decode()


@pytest.mark.parametrize("withdrawn_on", ["2026-11-23", "2026-12-01"])
def test_a_withdrawal_from_today_or_later_needs_no_confirmation(
    client, link_worker, consented, withdrawn_on
):
    child, support = consented
    client.force_login(link_worker)
    response = client.post(
        reverse("screening:withdraw", args=[support.pk]),
        {"withdrawn_on": withdrawn_on},
        follow=True,
    )
    support.refresh_from_db()
    assert support.withdrawn_on == date.fromisoformat(withdrawn_on)
    page = response.content.decode()
    assert "Withdrawal recorded from" in page and "Backdated" not in page


def test_a_withdrawal_refused_is_summarised_at_the_top(client, link_worker, consented):
    child, support = consented
    client.force_login(link_worker)
    response = client.post(
        reverse("screening:withdraw", args=[support.pk]),
        {"withdrawn_on": "2024-01-01", "confirm_backdated": "on"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    summary = page.index('class="error-summary"')
    assert summary < page.index("Consent on record")
    assert page.index("Withdrawal cannot be before the consent was given") > summary


def test_consent_errors_are_summarised_at_the_top_linking_to_the_fields(
    client, link_worker, consented
):
    child, _ = consented
    client.force_login(link_worker)
    response = client.post(
        reverse("screening:consent", args=[child.pk]),
        {"given_by": "parent", "given_on": "2031-01-01"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    summary = page.index('<div class="error-summary" role="alert">')
    assert summary < page.index("Consent on record")
    assert "<h2>The consent was not recorded</h2>" in page
    assert '<a href="#id_purposes">Purposes: This field is required.</a>' in page


def test_enrol_errors_are_summarised_at_the_top(client, link_worker, consented):
    child, _ = consented
    client.force_login(link_worker)
    response = client.post(
        reverse("screening:enrol", args=[child.pk]),
        {"link_worker": link_worker.pk, "enrolled_on": "2026-11-23"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    summary = page.index('<div class="error-summary" role="alert">')
    assert summary < page.index('<form method="post">')
    assert "<h2>The child was not enrolled</h2>" in page
    assert '<a href="#id_cohort">Cohort: This field is required.</a>' in page


def test_a_refusal_to_enrol_is_shown_once_at_the_top(client, link_worker, make_pupil, today):
    child = make_pupil()
    cohort = Cohort.objects.create(code="2026-27")
    client.force_login(link_worker)
    response = client.post(
        reverse("screening:enrol", args=[child.pk]),
        {"cohort": cohort.pk, "link_worker": link_worker.pk, "enrolled_on": "2026-11-23"},
    )
    page = response.content.decode()
    assert page.count("cannot be enrolled: no consent for support") == 1
    assert page.index("cannot be enrolled") < page.index('<form method="post">')


def test_an_enrolled_child_is_offered_no_enrolment(client, link_worker, consented):
    child, _ = consented
    cohort = Cohort.objects.create(code="2026-27", name="Cohort 2026–27")
    Enrolment.objects.create(
        pupil=child, cohort=cohort, enrolled_on=date(2026, 10, 5), link_worker=link_worker
    )
    other = Cohort.objects.create(code="2027-28")
    client.force_login(link_worker)
    consent_page = client.get(reverse("screening:consent", args=[child.pk])).content.decode()
    enrol = reverse("screening:enrol", args=[child.pk])
    assert f'href="{enrol}"' not in consent_page
    assert "Cohort 2026–27 from 5 October 2026, Link Worker Lee Worker <strong>(in force)" in (
        consent_page
    )
    assert "there is nothing to enrol while this one lasts" in consent_page
    page = client.get(enrol).content.decode()
    assert "Amara Example is already enrolled in Cohort 2026–27 from 5 October 2026" in page
    assert '<form method="post">' not in page and 'name="cohort"' not in page
    assert reverse("screening:consent", args=[child.pk]) in page
    refused = client.post(
        enrol, {"cohort": other.pk, "link_worker": link_worker.pk, "enrolled_on": "2026-11-23"}
    )
    assert refused.status_code == 400
    assert Enrolment.objects.filter(pupil=child).count() == 1


def test_a_child_whose_enrolment_has_ended_may_be_enrolled_again(client, link_worker, consented):
    child, _ = consented
    cohort = Cohort.objects.create(code="2024-25")
    Enrolment.objects.create(
        pupil=child,
        cohort=cohort,
        enrolled_on=date(2024, 10, 5),
        ended_on=date(2026, 7, 20),
        link_worker=link_worker,
    )
    client.force_login(link_worker)
    consent_page = client.get(reverse("screening:consent", args=[child.pk])).content.decode()
    assert f"Enrol {child.name}</a>" in consent_page
    page = client.get(reverse("screening:enrol", args=[child.pk])).content.decode()
    assert '<button type="submit">Enrol</button>' in page
