import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from linkwork.audit.models import AuditEntry
from linkwork.people.models import Cohort
from linkwork.support.models import Allocation

LIST = reverse("people:child_list")


def detail(pupil):
    return reverse("people:child_detail", args=[pupil.pk])


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context)


# Who may open a record.


@pytest.mark.django_db
def test_partner_cannot_see_unallocated_child(client, partner_user, make_pupil):
    pupil = make_pupil()
    client.force_login(partner_user)
    assert client.get(detail(pupil)).status_code == 404


@pytest.mark.django_db
def test_partner_sees_only_name_year_school_and_own_work(
    client, partner_user, make_pupil, allocate, enrol, add_history, link_worker, school
):
    pupil = make_pupil(given_name="Amara", family_name="Example")
    allocate(pupil)
    enrol(pupil, link_worker=link_worker)
    add_history(pupil, 3, recorded_by=link_worker)
    client.force_login(partner_user)
    response = client.get(detail(pupil))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Amara Example" in html and "Year 4" in html and school.name in html
    assert "Monday art club" in html  # their own allocation and registers
    for hidden in (
        pupil.upn,
        "Scores",
        "SCWBS",
        "Check-in",
        "Consents",
        "History",
        "Lee Worker",
        "Date of birth",
    ):
        assert hidden not in html, hidden


@pytest.mark.django_db
def test_partner_does_not_see_other_partners_allocations(
    client, partner_user, make_pupil, allocate, school
):
    from linkwork.support.models import Partner, Service

    pupil = make_pupil()
    allocate(pupil)
    other = Partner.objects.create(code="SPORT", name="Sport Trust")
    football = Service.objects.create(code="FOOT", partner=other, name="Football", school=school)
    Allocation.objects.create(pupil=pupil, service=football, start_date=dt.date.today())
    client.force_login(partner_user)
    html = client.get(detail(pupil)).content.decode()
    assert "Monday art club" in html and "Football" not in html


@pytest.mark.django_db
def test_funder_gets_404_on_child_pages(client, funder, make_pupil):
    pupil = make_pupil()
    client.force_login(funder)
    assert client.get(LIST).status_code == 404
    assert client.get(detail(pupil)).status_code == 404


@pytest.mark.django_db
def test_link_worker_cannot_open_another_schools_child(
    client, link_worker, make_pupil, other_school
):
    theirs = make_pupil(school=other_school)
    client.force_login(link_worker)
    assert client.get(detail(theirs)).status_code == 404


@pytest.mark.django_db
def test_link_worker_sees_scores_interactions_and_history(
    client, link_worker, make_pupil, enrol, add_history
):
    pupil = make_pupil()
    enrol(pupil, link_worker=link_worker)
    add_history(pupil, 2, recorded_by=link_worker)
    client.force_login(link_worker)
    html = client.get(detail(pupil)).content.decode()
    for shown in (
        pupil.upn,
        "SCWBS",
        "total 41",
        "Check-in 1",
        "Sharing with named partners",
        "History",
        "Viewed 1 time; the latest:",
        "Lee Worker",
    ):
        assert shown in html, shown


@pytest.mark.django_db
def test_history_keeps_changes_in_sight_however_often_the_record_is_viewed(
    client, link_worker, make_pupil, enrol
):
    from linkwork.audit.services import record

    pupil = make_pupil()
    enrol(pupil, link_worker=link_worker)
    record(actor=link_worker, action="pupil.changed", pupil=pupil, summary="Year group 5 → 6")
    client.force_login(link_worker)
    for _ in range(30):
        client.get(detail(pupil))
    response = client.get(detail(pupil))
    history = response.context["history"]
    assert [entry.action for entry in history["changes"]] == ["pupil.changed"]
    assert history["view_count"] == 31 and len(history["views"]) == 5
    html = response.content.decode()
    assert "Year group 5 → 6" in html
    assert "Viewed 31 times; the latest:" in html
    assert html.count("(profile)</li>") == 5


@pytest.mark.django_db
def test_a_mark_on_a_cancelled_session_says_so(client, link_worker, make_pupil, enrol, service):
    from linkwork.support.models import RegisterEntry, Session

    pupil = make_pupil()
    enrol(pupil, link_worker=link_worker)
    day = dt.date(2026, 3, 9)
    RegisterEntry.objects.create(pupil=pupil, service=service, session_date=day, attended=False)
    client.force_login(link_worker)
    assert "Session cancelled" not in client.get(detail(pupil)).content.decode()
    Session.objects.create(service=service, date=day, cancelled=True, cancelled_reason="Trip")
    html = client.get(detail(pupil)).content.decode()
    assert "Session cancelled" in html and ">Absent<" not in html


@pytest.mark.django_db
def test_school_staff_see_no_interaction_notes_or_history(
    client, school_staff, make_pupil, enrol, add_history
):
    pupil = make_pupil()
    enrol(pupil)
    add_history(pupil, 1)
    client.force_login(school_staff)
    html = client.get(detail(pupil)).content.decode()
    assert "SCWBS" in html
    assert "Check-in" not in html and 'id="history"' not in html


@pytest.mark.django_db
def test_every_profile_view_writes_an_audit_entry(
    client, manager, partner_user, make_pupil, allocate
):
    pupil = make_pupil()
    allocate(pupil)
    for user in (manager, partner_user, manager):
        client.force_login(user)
        client.get(detail(pupil))
    entries = AuditEntry.objects.filter(pupil=pupil, action="child.viewed")
    assert [e.actor_label for e in entries.order_by("pk")] == [
        "manager@example.org",
        "partner@example.org",
        "manager@example.org",
    ]


@pytest.mark.django_db
def test_refused_view_is_not_audited(client, link_worker, make_pupil, other_school):
    pupil = make_pupil(school=other_school)
    client.force_login(link_worker)
    client.get(detail(pupil))
    assert not AuditEntry.objects.filter(pupil=pupil).exists()


# The child list.


@pytest.mark.django_db
def test_search_by_name_or_upn(client, link_worker, make_pupil):
    amara = make_pupil(given_name="Amara", family_name="Example")
    make_pupil(given_name="Bea", family_name="Sample")
    client.force_login(link_worker)
    assert list(client.get(LIST, {"q": "amara exa"}).context["page"]) == [amara]
    assert list(client.get(LIST, {"q": amara.upn[:6]}).context["page"])[0] == amara
    assert list(client.get(LIST, {"q": amara.upn}).context["page"]) == [amara]


@pytest.mark.django_db
def test_filter_by_status_cohort_and_school(client, manager, make_pupil, enrol, other_school):
    enrolled, ended, never = make_pupil(), make_pupil(), make_pupil(school=other_school)
    enrol(enrolled)
    enrol(ended, on=dt.date(2024, 9, 1), ended_on=dt.date(2025, 1, 1))
    client.force_login(manager)

    def names(**params):
        return set(client.get(LIST, params).context["page"])

    assert names(status="enrolled") == {enrolled}
    assert names(status="ended") == {ended}
    assert names(status="not_enrolled") == {never}
    cohort = Cohort.objects.get()
    assert names(cohort=cohort.pk) == {enrolled, ended}
    assert names(school=other_school.pk) == {never}
    # A filter value that is not offered is ignored, not an error.
    assert names(school="nonsense", status="ended") == {ended}


@pytest.mark.django_db
def test_list_paginates_25_a_page(client, manager, make_pupil):
    for _ in range(30):
        make_pupil()
    client.force_login(manager)
    assert len(client.get(LIST).context["page"]) == 25
    second = client.get(LIST, {"page": 2})
    assert len(second.context["page"]) == 5
    assert "page 2 of 2" in second.content.decode()


@pytest.mark.django_db
def test_htmx_search_returns_only_the_results_partial(client, link_worker, make_pupil):
    make_pupil(given_name="Amara", family_name="Example")
    client.force_login(link_worker)
    response = client.get(LIST, {"q": "Amara"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "Amara Example" in html
    assert "<html" not in html and "<form" not in html


@pytest.mark.django_db
def test_partner_list_shows_only_name_year_and_school(
    client, partner_user, make_pupil, allocate, enrol
):
    pupil = make_pupil()
    allocate(pupil)
    enrol(pupil)
    make_pupil(given_name="Unallocated")
    client.force_login(partner_user)
    response = client.get(LIST, {"q": pupil.upn})  # partner staff cannot search by UPN
    assert list(response.context["page"]) == []
    response = client.get(LIST)
    html = response.content.decode()
    assert list(response.context["page"]) == [pupil]
    assert pupil.upn not in html and "Cohort" not in html and "Enrolled" not in html


# Query counts do not grow with the rows shown.


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["manager", "link_worker", "partner_user"])
def test_list_query_count_is_constant(
    client, request, make_pupil, enrol, allocate, django_assert_num_queries, persona, link_worker
):
    user = request.getfixturevalue(persona)
    client.force_login(user)

    def add(n):
        for _ in range(n):
            pupil = make_pupil()
            enrol(pupil, link_worker=link_worker)
            allocate(pupil)

    add(1)
    one = queries_for(client, LIST)
    add(29)
    with django_assert_num_queries(one):
        response = client.get(LIST)
    assert len(response.context["page"]) == 25


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["manager", "link_worker", "partner_user"])
def test_profile_query_count_is_constant(
    client,
    request,
    make_pupil,
    enrol,
    allocate,
    add_history,
    django_assert_num_queries,
    persona,
    link_worker,
):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    small, big = make_pupil(), make_pupil()
    for pupil, n in ((small, 1), (big, 30)):
        enrol(pupil, link_worker=link_worker)
        allocate(pupil)
        add_history(pupil, n, recorded_by=link_worker)
    one = queries_for(client, detail(small))
    for _ in range(30):
        client.get(detail(big))  # 30 audit entries to show in the history
    with django_assert_num_queries(one):
        response = client.get(detail(big))
    if persona != "partner_user":
        assert len(response.context["interactions"] or response.context["registers"]) == 20


@pytest.mark.django_db
def test_record_links_only_to_pages_the_role_may_open(
    client, link_worker, partner_user, make_pupil, allocate
):
    pupil = make_pupil()
    allocate(pupil)
    client.force_login(link_worker)
    links = client.get(detail(pupil)).context["child_links"]
    assert "Achievements and payments" not in [link["label"] for link in links]
    client.force_login(partner_user)
    assert client.get(detail(pupil)).context["child_links"] == []
