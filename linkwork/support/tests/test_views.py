"""Support pages: what each persona can reach, the register, the caseload dashboard."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from linkwork.engagement.models import Flag
from linkwork.support.models import Interaction, RegisterEntry
from linkwork.support.services import allocate_child

TODAY = dt.date(2026, 3, 16)  # a Monday


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 16, 12, tzinfo=dt.UTC))


@pytest.fixture
def allocated(make_pupil, enrol, service, link_worker):
    service.weekday = 0
    service.save()
    pupil = make_pupil(given_name="Amara", family_name="Example")
    enrol(pupil)
    allocate_child(actor=link_worker, pupil=pupil, service=service, start_date=dt.date(2026, 3, 2))
    return pupil


def register_url(service, on=TODAY):
    return reverse("support:register", kwargs={"service_pk": service.pk, "date": on.isoformat()})


def test_partner_sees_only_allocated_children_on_the_register(
    client, partner_user, allocated, make_pupil, enrol, service
):
    unallocated = make_pupil(given_name="Bea", family_name="Sample")
    enrol(unallocated)
    client.force_login(partner_user)
    page = client.get(register_url(service)).content.decode()
    assert "Amara Example" in page
    assert "Bea Sample" not in page
    assert allocated.upn not in page  # name, year group and school only


def test_partner_cannot_reach_any_child_support_page_or_score(client, partner_user, allocated):
    client.force_login(partner_user)
    for name in (
        "support:child",
        "support:plan_edit",
        "support:interaction_new",
        "support:plan_history",
    ):
        assert client.get(reverse(name, kwargs={"pk": allocated.pk})).status_code == 404


def test_partner_cannot_mark_an_unallocated_child(
    client, partner_user, allocated, make_pupil, enrol, service
):
    other = make_pupil()
    enrol(other)
    client.force_login(partner_user)
    response = client.post(
        register_url(service), {"tap": other.pk, f"seen-{other.pk}": ""}, follow=True
    )
    assert "not allocated" in response.content.decode()
    assert not RegisterEntry.objects.exists()


def test_partner_cannot_open_another_partners_register(client, make_user, allocated, service):
    from linkwork.support.models import Partner

    stranger = make_user("partner", partner=Partner.objects.create(code="X", name="Other Trust"))
    client.force_login(stranger)
    assert client.get(register_url(service)).status_code == 404


def test_tap_marks_attended_then_engaged_with_htmx(client, partner_user, allocated, service):
    client.force_login(partner_user)
    url = register_url(service)
    response = client.post(
        url, {"tap": allocated.pk, f"seen-{allocated.pk}": ""}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert 'class="register-row mark-attended"' in response.content.decode()
    assert "<html" not in response.content.decode()
    client.post(
        url,
        {"tap": allocated.pk, f"seen-{allocated.pk}": "attended"},
        headers={"HX-Request": "true"},
    )
    entry = RegisterEntry.objects.get()
    assert (entry.attended, entry.engaged) == (True, True)


def test_plain_form_submit_saves_unmarked_children_as_absent(
    client, partner_user, allocated, service, make_pupil, enrol, link_worker
):
    other = make_pupil(given_name="Bea", family_name="Sample")
    enrol(other)
    allocate_child(actor=link_worker, pupil=other, service=service, start_date=dt.date(2026, 3, 2))
    client.force_login(partner_user)
    response = client.post(
        register_url(service),
        {
            "save": "1",
            f"seen-{allocated.pk}": "",
            f"mark-{allocated.pk}": "attended",
            f"seen-{other.pk}": "",
            f"mark-{other.pk}": "absent",
        },
    )
    assert response.status_code == 302
    assert RegisterEntry.objects.get(pupil=other).attended is False
    assert RegisterEntry.objects.get(pupil=allocated).attended is True


def test_saving_a_register_with_nobody_marked_asks_first(client, partner_user, allocated, service):
    """Every child absent and none marked before: a register on the wrong day would flag
    them all, so the page asks; confirming saves it."""
    client.force_login(partner_user)
    data = {"save": "1", f"seen-{allocated.pk}": "", f"mark-{allocated.pk}": "absent"}
    response = client.post(register_url(service), data)
    assert response.status_code == 200
    assert "Nobody is marked as attended" in response.content.decode()
    assert not RegisterEntry.objects.exists()
    response = client.post(register_url(service), data | {"all_absent": "1"})
    assert response.status_code == 302
    assert RegisterEntry.objects.get().attended is False
    # Saved again (the page now shows the marks): no question.
    again = {"save": "1", f"seen-{allocated.pk}": "absent", f"mark-{allocated.pk}": "absent"}
    assert client.post(register_url(service), again).status_code == 302


def test_a_register_on_a_day_the_service_does_not_meet_says_so(
    client, partner_user, allocated, service
):
    client.force_login(partner_user)
    wednesday = dt.date(2026, 3, 11)
    page = client.get(register_url(service, wednesday)).content.decode()
    assert "meets on Mondays, and this is a Wednesday" in page
    assert "meets on Mondays" not in client.get(register_url(service)).content.decode()


def test_the_weeks_card_counts_the_marks_of_its_own_day(
    client, partner_user, allocated, service, time_machine
):
    from linkwork.support.services import RegisterMark, record_register

    time_machine.move_to(dt.datetime(2026, 3, 18, 12, tzinfo=dt.UTC))
    for day in (TODAY, dt.date(2026, 3, 18)):  # its Monday, and a Wednesday
        record_register(
            actor=partner_user,
            service=service,
            session_date=day,
            marks=[RegisterMark(allocated.pk, "attended")],
        )
    client.force_login(partner_user)
    page = client.get(reverse("support:sessions")).content.decode()
    assert "1 marked" in page and "2 marked" not in page


def test_sessions_page_lists_this_weeks_sessions(client, partner_user, allocated, service):
    client.force_login(partner_user)
    page = client.get(reverse("support:sessions")).content.decode()
    assert "Today: Monday art club" in page
    assert register_url(service) in page


def test_any_service_register_opens_for_a_day_up_to_today(
    client, partner_user, make_pupil, enrol, service, link_worker, partner, school
):
    """A service with no regular day is not in the week's list, but its register opens
    from the form; a day after today is refused; another partner's service is not offered."""
    from linkwork.support.models import Partner, Service

    pupil = make_pupil(given_name="Amara", family_name="Example")
    enrol(pupil)
    allocate_child(actor=link_worker, pupil=pupil, service=service, start_date=dt.date(2026, 3, 2))
    other = Partner.objects.create(code="OTHER", name="Other charity")
    theirs = Service.objects.create(code="THEIRS", partner=other, name="Their club", school=school)
    client.force_login(partner_user)
    page = client.get(reverse("support:sessions")).content.decode()
    assert "no sessions with a regular day" in page
    assert "Monday art club (" in page and "Their club" not in page
    url = reverse("support:sessions")
    response = client.get(url, {"service": service.pk, "date": "2026-03-11"})
    assert response.status_code == 302
    assert response["Location"] == register_url(service, dt.date(2026, 3, 11))
    page = client.get(url, {"service": service.pk, "date": "2026-03-17"}).content.decode()
    assert "on or after the day of the session" in page
    # Said at the top, linked to the field, as well as by the field further down.
    assert page.index("The register was not opened") < page.index("Take a register for another day")
    assert 'href="#id_date">Day of the session:' in page
    refused = client.get(url, {"service": theirs.pk, "date": "2026-03-11"})
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()


def test_partner_sets_when_their_service_meets(client, partner_user, service, partner, school):
    """From the catalogue: the day, the time and the places, recorded with what changed;
    the sessions page then lists the service on its day. Another partner's service 404s."""
    from linkwork.audit.models import AuditEntry
    from linkwork.support.models import Partner, Service

    other = Partner.objects.create(code="OTHER", name="Other charity")
    theirs = Service.objects.create(code="THEIRS", partner=other, name="Their club", school=school)
    client.force_login(partner_user)
    url = reverse("support:service_edit", kwargs={"pk": service.pk})
    assert url in client.get(reverse("support:catalogue")).content.decode()
    page = client.post(url, {"weekday": "", "starts_at": "15:30", "capacity": "0"})
    text = page.content.decode()
    assert "Choose the day it meets" in text and "greater than or equal to 1" in text
    response = client.post(url, {"weekday": "0", "starts_at": "15:30", "capacity": "12"})
    assert response.status_code == 302
    service.refresh_from_db()
    assert (service.weekday, service.starts_at, service.capacity) == (0, dt.time(15, 30), 12)
    entry = AuditEntry.objects.get(action="support.service_changed")
    assert entry.changes == {
        "capacity": [None, 12],
        "starts_at": [None, "15:30"],
        "weekday": [None, "Monday"],
    }
    client.post(url, {"weekday": "0", "starts_at": "15:30", "capacity": "12"})
    assert AuditEntry.objects.filter(action="support.service_changed").count() == 1  # no change
    assert "Today: Monday art club" in client.get(reverse("support:sessions")).content.decode()
    other_url = reverse("support:service_edit", kwargs={"pk": theirs.pk})
    assert client.get(other_url).status_code == 404
    assert client.post(other_url, {"weekday": "1"}).status_code == 404


def test_link_workers_see_services_but_do_not_change_them(client, link_worker, service):
    client.force_login(link_worker)
    page = client.get(reverse("support:catalogue")).content.decode()
    assert "Monday art club" in page
    assert reverse("support:service_edit", kwargs={"pk": service.pk}) not in page


def test_cancelled_session(client, partner_user, allocated, service):
    client.force_login(partner_user)
    client.post(
        reverse(
            "support:register_cancel", kwargs={"service_pk": service.pk, "date": TODAY.isoformat()}
        ),
        {"reason": "Trip"},
    )
    page = client.get(register_url(service)).content.decode()
    assert "This session was cancelled: Trip" in page


def test_register_upload_checks_then_saves(client, partner_user, allocated, service):
    client.force_login(partner_user)
    bad = (
        f"service_code,session_date,upn,attended,engaged\nARTS-MON,2026-03-16,{allocated.upn},X,\n"
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        reverse("support:register_upload"), {"file": SimpleUploadedFile("week.csv", bad.encode())}
    )
    page = response.content.decode()
    assert "week.csv:2: attended" in page
    assert not RegisterEntry.objects.exists()
    good = bad.replace(",X,", ",Y,Y")
    response = client.post(
        reverse("support:register_upload"), {"file": SimpleUploadedFile("week.csv", good.encode())}
    )
    assert response.status_code == 302
    entry = RegisterEntry.objects.get()
    assert (entry.attended, entry.engaged) == (True, True)


def test_log_interaction_defaults_to_today(client, link_worker, allocated):
    client.force_login(link_worker)
    url = reverse("support:interaction_new", kwargs={"pk": allocated.pk})
    assert f'value="{TODAY.isoformat()}"' in client.get(url).content.decode()
    response = client.post(
        url,
        {
            "occurred_on": TODAY.isoformat(),
            "minutes": "10",
            "kind": "one_to_one",
            "topics": ["friendships"],
            "note": "Fine",
        },
    )
    assert response.status_code == 302
    assert Interaction.objects.get().topics == ["friendships"]


def test_an_interaction_form_sent_twice_is_saved_once(client, link_worker, allocated):
    """The same form twice (a retry) is saved once; a second form the same day is added
    to the first, and the message says so."""
    import re

    client.force_login(link_worker)
    url = reverse("support:interaction_new", kwargs={"pk": allocated.pk})

    def token():
        page = client.get(url).content.decode()
        return re.search(r'name="token" value="([0-9a-f]{32})"', page).group(1)

    data = {"occurred_on": TODAY.isoformat(), "minutes": "20", "kind": "one_to_one"}
    sent = data | {"token": token()}
    client.post(url, sent)
    again = client.post(url, sent, follow=True).content.decode()
    assert "was already saved" in again
    assert Interaction.objects.get().minutes == 20
    page = client.post(url, data | {"token": token()}, follow=True).content.decode()
    assert "Added to the one to one with Amara Example already logged for 16 Mar" in page
    assert "now 40 minutes" in page
    assert Interaction.objects.get().minutes == 40


def test_link_worker_cannot_open_a_child_of_another_school(client, other_link_worker, allocated):
    client.force_login(other_link_worker)
    assert client.get(reverse("support:child", kwargs={"pk": allocated.pk})).status_code == 404


def test_allocation_refused_without_consent_shows_why(
    client, link_worker, make_pupil, enrol, service
):
    pupil = make_pupil()
    enrol(pupil, sharing=False)
    client.force_login(link_worker)
    response = client.post(
        reverse("support:allocate", kwargs={"pk": pupil.pk}),
        {"service": service.pk, "start_date": TODAY.isoformat()},
        follow=True,
    )
    assert "no partner-sharing consent" in response.content.decode()


@pytest.mark.parametrize("size", [2, 30])
def test_caseload_query_count_does_not_grow(
    size, client, link_worker, make_pupil, enrol, service, django_assert_num_queries
):
    for _ in range(size):
        pupil = make_pupil()
        enrol(pupil)
        allocate_child(
            actor=link_worker, pupil=pupil, service=service, start_date=dt.date(2026, 3, 2)
        )
        Flag.objects.create(
            pupil=pupil,
            rule_code="no_contact",
            level="amber",
            reason="no contact",
            raised_at=timezone.now(),
        )
    client.force_login(link_worker)
    url = reverse("support:caseload")
    client.get(url)
    with django_assert_num_queries(7):
        response = client.get(url)
    assert response.content.decode().count('class="badge badge-amber rag"') == size


def test_caseload_sorts_who_needs_attention_first(client, link_worker, make_pupil, enrol):
    calm, worrying = make_pupil(given_name="Calm"), make_pupil(given_name="Worry")
    enrol(calm)
    enrol(worrying)
    Flag.objects.create(
        pupil=worrying,
        rule_code="low_attendance",
        level="red",
        reason="attended 2 of the last 6 allocated sessions",
        raised_at=timezone.now(),
    )
    client.force_login(link_worker)
    page = client.get(reverse("support:caseload")).content.decode()
    assert page.index("Worry") < page.index("Calm")
    assert "Attended 2 of the last 6 allocated sessions" in page


def test_caseload_puts_overdue_follow_ups_first_among_equals(
    client, link_worker, make_pupil, enrol
):
    from linkwork.support.models import FollowUp

    today = timezone.localdate()
    waiting, overdue = make_pupil(given_name="Waiting"), make_pupil(given_name="Overdue")
    for pupil in (waiting, overdue):
        enrol(pupil)
    for pupil, due in ((waiting, today + dt.timedelta(days=3)), (overdue, today)):
        FollowUp.objects.create(
            pupil=pupil,
            assigned_to=link_worker,
            reason="call home",
            due_on=due,
            opened_at=timezone.now(),
        )
    FollowUp.objects.create(
        pupil=waiting, assigned_to=link_worker, reason="book a review", opened_at=timezone.now()
    )
    FollowUp.objects.create(
        pupil=overdue,
        assigned_to=link_worker,
        reason="send the letter",
        due_on=today - dt.timedelta(days=2),
        opened_at=timezone.now(),
    )
    client.force_login(link_worker)
    page = client.get(reverse("support:caseload")).content.decode()
    assert page.index("Overdue") < page.index("Waiting")  # 1 overdue beats 2 open
    assert "2 <strong>(1 overdue)</strong>" in page


def test_plan_prefilled_then_saved_with_history(client, link_worker, allocated):
    from linkwork.people.models import Attainment

    Attainment.objects.create(
        pupil=allocated, subject="maths", assessed_on=dt.date(2025, 12, 1), value=94, expected=100
    )
    client.force_login(link_worker)
    url = reverse("support:plan_edit", kwargs={"pk": allocated.pk})
    assert "Maths: 94 against expected 100 (1 Dec 2025)" in client.get(url).content.decode()
    data = {
        "informal_engagement": "Lunch club",
        "next_review_due": "2026-04-01",
        "needs_school": "Attendance",
    }
    assert client.post(url, data).status_code == 302
    data["informal_engagement"] = "Lunch club and football"
    client.post(url, data)
    history = client.get(reverse("support:plan_history", kwargs={"pk": allocated.pk}))
    page = history.content.decode()
    assert "Support plan written" in page
    assert "Changed: informal_engagement" in page


def test_a_refused_tap_reloads_the_register(
    client, partner_user, allocated, make_pupil, enrol, service
):
    other = make_pupil()
    enrol(other)
    client.force_login(partner_user)
    response = client.post(
        register_url(service),
        {"tap": other.pk, f"seen-{other.pk}": ""},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 204
    assert response["HX-Refresh"] == "true"


def test_register_upload_reads_xlsx(client, partner_user, allocated, service):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["service_code", "session_date", "upn", "attended", "engaged"])
    sheet.append(["ARTS-MON", "2026-03-16", allocated.upn, "N", ""])
    sheet.append(["ARTS-MON", "2026-03-09", allocated.upn, "Y", "N"])
    content = io.BytesIO()
    book.save(content)
    client.force_login(partner_user)
    response = client.post(
        reverse("support:register_upload"),
        {"file": SimpleUploadedFile("registers.xlsx", content.getvalue())},
    )
    assert response.status_code == 302
    assert RegisterEntry.objects.count() == 2


def test_follow_up_assigned_then_completed(client, link_worker, make_user, school, allocated):
    from linkwork.support.models import FollowUp
    from linkwork.support.services import open_follow_up

    colleague = make_user("link_worker", schools=[school], name="Ash Colleague")
    follow_up = open_follow_up(actor=link_worker, pupil=allocated, reason="Call home")
    client.force_login(link_worker)
    client.post(
        reverse("support:follow_up_assign", kwargs={"pk": follow_up.pk}),
        {"assigned_to": colleague.pk},
    )
    follow_up.refresh_from_db()
    assert follow_up.assigned_to == colleague
    url = reverse("support:follow_up_complete", kwargs={"pk": follow_up.pk})
    page = client.post(url, {"outcome": " "}, follow=True).content.decode()
    assert "Say what came of the follow-up for Amara Example" in page
    assert FollowUp.objects.get().completed_at is None
    response = client.post(url, {"outcome": "Spoke to carer", "next": "https://elsewhere.example/"})
    assert response["Location"] == reverse("support:follow_ups")  # never off the site
    assert FollowUp.objects.get().outcome == "Spoke to carer"


def test_follow_ups_say_when_they_are_overdue(client, link_worker, allocated):
    from linkwork.support.services import open_follow_up

    for reason, due in (
        ("Call home", dt.date(2026, 3, 2)),
        ("Meet the teacher", TODAY),
        ("Plan the summer", dt.date(2026, 7, 1)),
        ("Next year", dt.date(2027, 1, 8)),
    ):
        open_follow_up(actor=link_worker, pupil=allocated, reason=reason, due_on=due)
    client.force_login(link_worker)
    page = client.get(reverse("support:follow_ups")).content.decode()
    assert "Overdue</span> was due 2 Mar 2026" in page
    assert "Due today" in page
    assert "Due 1 Jul ·" in page and "Due 8 Jan 2027" in page  # the year when not this one


def test_goal_status_and_progress_note(client, link_worker, allocated):
    from linkwork.support.services import add_goal, save_support_plan

    plan = save_support_plan(actor=link_worker, pupil=allocated)
    goal = add_goal(actor=link_worker, plan=plan, area="confidence", text="Read in assembly")
    client.force_login(link_worker)
    client.post(
        reverse("support:goal_update", kwargs={"pk": goal.pk}),
        {"status": "achieved", "note": "Read a poem to Year 4"},
    )
    goal.refresh_from_db()
    assert goal.status == "achieved"
    assert goal.notes.get().text == "Read a poem to Year 4"
    page = client.get(reverse("support:child", kwargs={"pk": allocated.pk})).content.decode()
    assert "Read a poem to Year 4" in page


def test_goal_reworded_keeps_the_old_wording_in_history(client, link_worker, allocated):
    from linkwork.audit.models import AuditEntry
    from linkwork.support.services import add_goal, save_support_plan

    plan = save_support_plan(actor=link_worker, pupil=allocated)
    goal = add_goal(actor=link_worker, plan=plan, area="confidence", text="Read in assembly")
    client.force_login(link_worker)
    client.post(
        reverse("support:goal_update", kwargs={"pk": goal.pk}),
        {
            "status": "open",
            "note": "",
            "text": "Read in front of the class",
            "target_date": "2026-03-31",
        },
    )
    goal.refresh_from_db()
    assert goal.text == "Read in front of the class"
    assert str(goal.target_date) == "2026-03-31"
    entry = AuditEntry.objects.get(action="support.goal_reworded")
    assert entry.changes["text"] == ["Read in assembly", "Read in front of the class"]
    assert plan.versions.filter(summary__startswith="Goal reworded").exists()

    # A post without the wording (status or note only) leaves the wording alone.
    client.post(reverse("support:goal_update", kwargs={"pk": goal.pk}), {"status": "achieved"})
    goal.refresh_from_db()
    assert (goal.text, goal.status) == ("Read in front of the class", "achieved")


def test_follow_ups_are_paged_soonest_due_first(
    client, link_worker, manager, make_pupil, monkeypatch
):
    from linkwork.support import views
    from linkwork.support.services import open_follow_up

    monkeypatch.setattr(views, "FOLLOW_UPS_PER_PAGE", 2)
    pupil = make_pupil(given_name="Amara", family_name="Example")
    for days in (3, 1, 2):
        open_follow_up(
            actor=link_worker,
            pupil=pupil,
            reason=f"Call home ({days})",
            due_on=TODAY + dt.timedelta(days=days),
        )
    open_follow_up(actor=manager, pupil=pupil, reason="The manager's own")
    client.force_login(link_worker)
    first = client.get(reverse("support:follow_ups"))
    assert [f.reason for f in first.context["page"].object_list] == [
        "Call home (1)",
        "Call home (2)",
    ]
    assert "3 open, soonest due first; page 1 of 2" in first.content.decode()
    second = client.get(reverse("support:follow_ups"), {"page": 2}).context["page"]
    assert [f.reason for f in second.object_list] == ["Call home (3)"]
    client.force_login(manager)  # sees everyone's
    assert client.get(reverse("support:follow_ups")).context["page"].paginator.count == 4


@pytest.mark.parametrize(
    ("form", "data", "field", "message"),
    [
        ("InteractionForm", {"occurred_on": "1900-01-01"}, "occurred_on", "more than 1 year ago"),
        ("InteractionForm", {"occurred_on": "2026-03-17"}, "occurred_on", "in the future"),
        ("PlanForm", {"next_review_due": "2020-01-01"}, "next_review_due", "in the past"),
        ("ReviewForm", {"held_on": "2027-03-01"}, "held_on", "in the future"),
        (
            "ReviewForm",
            {"held_on": "2026-03-10", "next_review_due": "2026-03-01"},
            "next_review_due",
            "comes after this one",
        ),
        ("AllocateForm", {"start_date": "2031-01-01"}, "start_date", "more than 182 days ahead"),
        ("GoalForm", {"target_date": "2019-07-01"}, "target_date", "in the past"),
        ("FollowUpForm", {"due_on": "2019-01-01"}, "due_on", "in the past"),
    ],
)
def test_dates_that_are_surely_slips_are_refused(db, form, data, field, message):
    from linkwork.accounts.models import User
    from linkwork.support import forms
    from linkwork.support.models import Service

    extra = {"AllocateForm": {"services": Service.objects.all()}}
    extra["FollowUpForm"] = {"staff": User.objects.all()}
    bound = getattr(forms, form)(data, **extra.get(form, {}))
    bound.is_valid()
    assert message in " ".join(bound.errors.get(field, [])), bound.errors


def test_an_allocation_not_started_can_be_cancelled(
    client, link_worker, make_pupil, enrol, service
):
    from linkwork.audit.models import AuditEntry
    from linkwork.support.models import Allocation

    pupil = make_pupil(given_name="Amara", family_name="Example")
    enrol(pupil)
    later = allocate_child(
        actor=link_worker, pupil=pupil, service=service, start_date=dt.date(2026, 4, 20)
    )
    client.force_login(link_worker)
    page = client.get(reverse("support:child", kwargs={"pk": pupil.pk})).content.decode()
    assert "Cancel this allocation" in page and "End allocation" not in page
    client.post(reverse("support:allocation_cancel", kwargs={"pk": later.pk}))
    assert not Allocation.objects.exists()
    assert AuditEntry.objects.filter(action="support.allocation_cancelled").exists()
    started = allocate_child(actor=link_worker, pupil=pupil, service=service, start_date=TODAY)
    response = client.post(
        reverse("support:allocation_cancel", kwargs={"pk": started.pk}), follow=True
    )
    assert "has started; end it instead" in response.content.decode()
    assert Allocation.objects.filter(pk=started.pk).exists()


def test_caseload_rounds_and_says_today(client, link_worker, partner_user, allocated, service):
    from linkwork.support.services import RegisterMark, record_interaction, record_register

    for day, mark in (
        (dt.date(2026, 3, 2), "attended"),
        (dt.date(2026, 3, 9), "attended"),
        (TODAY, "absent"),
    ):
        record_register(
            actor=partner_user,
            service=service,
            session_date=day,
            marks=[RegisterMark(allocated.pk, mark)],
        )
    record_interaction(actor=link_worker, pupil=allocated, occurred_on=TODAY, kind="one_to_one")
    client.force_login(link_worker)
    page = client.get(reverse("support:caseload")).content.decode()
    assert "2 of 3 (67%)" in page  # rounded, not cut to 66%
    assert "<dd>Today</dd>" in page and "0 days ago" not in page


def test_codes_are_shown_in_words(client, link_worker, allocated, service):
    from linkwork.support.services import record_interaction

    record_interaction(
        actor=link_worker,
        pupil=allocated,
        occurred_on=TODAY,
        kind="one_to_one",
        topics=["plan", "sessions", "new_school_club"],  # the last from a package
    )
    service.outcome_areas = ["wellbeing", "confidence"]
    service.save()
    client.force_login(link_worker)
    page = client.get(reverse("support:child", kwargs={"pk": allocated.pk})).content.decode()
    assert "(Support plan and goals, Partner sessions, New school club)" in page
    profile = client.get(reverse("people:child_detail", args=[allocated.pk])).content.decode()
    assert "Support plan and goals, Partner sessions, New school club" in profile
    catalogue = client.get(reverse("support:catalogue")).content.decode()
    assert "Emotional and mental wellbeing, Confidence and aspiration" in catalogue


def test_a_register_sheet_goes_out_without_upns_and_comes_back(
    client, partner_user, allocated, service, make_pupil, enrol
):
    """The sheet names children by number, name and year group only; marked and uploaded
    it saves the register. A number not on that register is refused by line."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from openpyxl import Workbook, load_workbook

    client.force_login(partner_user)
    url = reverse(
        "support:register_sheet", kwargs={"service_pk": service.pk, "date": TODAY.isoformat()}
    )
    assert url in client.get(register_url(service)).content.decode()
    response = client.get(url)
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="register-ARTS-MON-2026-03-16.xlsx"'
    )
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0] == (
        "service_code", "session_date", "child", "name", "year_group", "attended", "engaged"
    )  # fmt: skip
    assert rows[1][:4] == ("ARTS-MON", "2026-03-16", allocated.pk, "Amara Example")
    assert allocated.upn not in str(rows)
    stranger = make_pupil()
    enrol(stranger)  # enrolled, but not on this register

    def upload(*lines):
        book = Workbook()
        book.active.append(list(rows[0]))
        for line in lines:
            book.active.append(line)
        out = io.BytesIO()
        book.save(out)
        file = SimpleUploadedFile("marked.xlsx", out.getvalue())
        return client.post(reverse("support:register_upload"), {"file": file})

    marked = ["ARTS-MON", "2026-03-16", allocated.pk, "Amara Example", "Year 4", "Y", "Y"]
    refused = upload(marked, ["ARTS-MON", "2026-03-16", stranger.pk, "", "", "Y", "N"])
    page = refused.content.decode()
    assert "marked.xlsx:3: child: not on the register of ARTS-MON on 2026-03-16" in page
    assert ": upn:" not in page
    assert not RegisterEntry.objects.exists()
    # The same child twice: the package rules' duplicate key, in the sheet's terms.
    page = upload(marked, marked).content.decode()
    assert "marked.xlsx:3: service_code+session_date+child: duplicate key" in page
    assert f"child {allocated.pk}" in page and allocated.upn not in page
    response = upload(marked)
    assert response.status_code == 302
    done = client.get(response["Location"]).content.decode()
    assert "Registers uploaded: 1 row for 1 session: 1 new, 0 corrected, 0 unchanged." in done
    entry = RegisterEntry.objects.get()
    assert (entry.pupil, entry.attended, entry.engaged) == (allocated, True, True)


def _sheet_rows(response) -> list[tuple]:
    import io

    from openpyxl import load_workbook

    return list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))


def test_a_sheet_of_several_sessions_lists_each_session_day_by_day_and_comes_back(
    client, partner_user, link_worker, allocated, service, make_pupil, enrol, time_machine
):
    """Every Monday in the days chosen, a moved session's day too, less a cancelled one;
    each day lists the children on that day's register with their marks so far. Marked
    as the weeks go and uploaded each time, it saves what is marked and leaves the rest."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from openpyxl import Workbook

    from linkwork.support.services import RegisterMark, cancel_session, record_register

    later = make_pupil(given_name="Bea", family_name="Sample")
    enrol(later)
    allocate_child(actor=link_worker, pupil=later, service=service, start_date=dt.date(2026, 3, 23))
    cancel_session(
        actor=partner_user, service=service, session_date=dt.date(2026, 3, 9), reason="Closed"
    )
    moved = dt.date(2026, 3, 4)  # a Wednesday: that week's session moved
    for day, mark in ((moved, "attended"), (TODAY, "engaged")):
        record_register(
            actor=partner_user,
            service=service,
            session_date=day,
            marks=[RegisterMark(allocated.pk, mark)],
        )
    client.force_login(partner_user)
    page = client.get(register_url(service)).content.decode()
    url = reverse("support:register_sheets", kwargs={"service_pk": service.pk})
    assert f'action="{url}"' in page and "Sheets for several sessions" in page
    assert 'value="2026-03-16"' in page and 'value="2026-04-26"' in page  # six weeks
    response = client.get(url, {"start": "2026-03-01", "end": "2026-03-29"})
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="registers-ARTS-MON-2026-03-01-to-2026-03-29.xlsx"'
    )
    rows = _sheet_rows(response)
    assert rows[0] == (
        "service_code", "session_date", "child", "name", "year_group", "attended", "engaged"
    )  # fmt: skip
    assert [(r[1], r[3], r[5], r[6]) for r in rows[1:]] == [
        ("2026-03-02", "Amara Example", None, None),
        ("2026-03-04", "Amara Example", "Y", "N"),
        ("2026-03-16", "Amara Example", "Y", "Y"),
        ("2026-03-23", "Amara Example", None, None),
        ("2026-03-23", "Bea Sample", None, None),
    ]
    assert allocated.upn not in str(rows)

    def upload(sheet, *, saved=True):
        book = Workbook()
        for row in sheet:
            book.active.append(row)
        out = io.BytesIO()
        book.save(out)
        file = SimpleUploadedFile("term.xlsx", out.getvalue())
        response = client.post(reverse("support:register_upload"), {"file": file})
        assert response.status_code == (302 if saved else 200)
        return (
            client.get(response["Location"]).content.decode()
            if saved
            else response.content.decode()
        )

    # A sheet without its mark columns is refused, not read as nothing marked.
    headless = [[cell for place, cell in enumerate(row) if place != 5] for row in rows]
    assert "term.xlsx:1: attended: missing column" in upload(headless, saved=False)
    # A session still ahead, marked, is refused on its own line (rows not marked before
    # it are left out without moving the lines after them).
    ahead = [list(row) for row in rows]
    ahead[4][5:7] = ["Y", "N"]
    assert "term.xlsx:5: session_date: in the future (2026-03-23)" in upload(ahead, saved=False)
    assert not RegisterEntry.objects.filter(session_date=dt.date(2026, 3, 23)).exists()

    # Marked as the weeks go: uploaded today, the sessions ahead not marked yet are left.
    sheet = [list(row) for row in rows]
    sheet[1][5:7] = ["Y", "N"]
    assert (
        "Registers uploaded: 3 rows for 3 sessions: 1 new, 0 corrected, 2 unchanged; "
        "2 rows not marked, left as before." in upload(sheet)
    )
    sheet[4][5:7] = ["N", ""]
    sheet[5][5:7] = ["Y", "Y"]
    time_machine.move_to(dt.datetime(2026, 3, 24, 12, tzinfo=dt.UTC))  # after the last one
    client.force_login(partner_user)  # signed in again: a week went by
    assert "5 rows for 4 sessions: 2 new, 0 corrected, 3 unchanged." in upload(sheet)
    saved = {
        (e.session_date.isoformat(), e.pupil.given_name): (e.attended, e.engaged)
        for e in RegisterEntry.objects.select_related("pupil")
    }
    assert saved == {
        ("2026-03-02", "Amara"): (True, False),
        ("2026-03-04", "Amara"): (True, False),
        ("2026-03-16", "Amara"): (True, True),
        ("2026-03-23", "Amara"): (False, None),
        ("2026-03-23", "Bea"): (True, True),
    }


def test_a_sheet_of_several_sessions_says_what_is_wrong_with_its_days(
    client, partner_user, allocated, service, partner, school
):
    from linkwork.support.models import Partner, Service

    client.force_login(partner_user)
    url = reverse("support:register_sheets", kwargs={"service_pk": service.pk})

    def refused(**days):
        """The register page again, what is wrong at the top and, for a service with a
        regular day, the form open with what was sent."""
        response = client.get(url, days)
        assert response.status_code == 400
        page = response.content.decode()
        assert "The sheets were not made" in page
        for value in days.values():
            assert (f'value="{value}"' in page) == (service.weekday is not None)
        return page

    assert "To: The last day is before the first." in refused(start="2026-03-16", end="2026-03-15")
    assert "To: A sheet covers at most 16 weeks." in refused(start="2026-01-05", end="2026-04-27")
    assert "From: This field is required." in refused(end="2026-03-15")
    assert "From: The first day is more than 1 year ago; check the year." in refused(
        start="2020-03-16", end="2020-03-20"
    )
    # no Monday from a Tuesday to the Sunday after
    assert "Monday art club has no sessions from 17 Mar 2026 to 22 Mar 2026." in refused(
        start="2026-03-17", end="2026-03-22"
    )
    service.weekday = None
    service.save()
    assert "has no sessions from 16 Mar 2026 to 22 Mar 2026: it has no regular day." in refused(
        start="2026-03-16", end="2026-03-22"
    )
    other = Partner.objects.create(code="OTHER", name="Other charity")
    theirs = Service.objects.create(code="THEIRS", partner=other, name="Their club", school=school)
    other_url = reverse("support:register_sheets", kwargs={"service_pk": theirs.pk})
    assert client.get(other_url, {"start": "2026-03-16", "end": "2026-03-22"}).status_code == 404


def test_a_register_upload_reports_every_problem_at_once(client, partner_user, allocated):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(partner_user)
    text = (
        "service_code,session_date,upn,attended,engaged\n"
        f"ARTS-MON,2026-03-16,{allocated.upn},X,\n"
        f"ARTS-MON,2026-03-23,{allocated.upn},Y,Y\n"
        f"ARTS-MON,16/03/2026,{allocated.upn},Y,N\n"
    )
    page = client.post(
        reverse("support:register_upload"),
        {"file": SimpleUploadedFile("week.csv", text.encode())},
    ).content.decode()
    assert "week.csv:2: attended" in page
    assert "week.csv:3: session_date: in the future (2026-03-23)" in page
    assert "week.csv:4: session_date" in page
    pdf = client.post(
        reverse("support:register_upload"),
        {"file": SimpleUploadedFile("register.pdf", b"%PDF-1.4 ...")},
    ).content.decode()
    assert "Upload a .csv or .xlsx file." in pdf


def test_a_manager_adds_a_partner_and_its_service_then_renames_it(client, manager, school):
    from linkwork.audit.models import AuditEntry
    from linkwork.support.models import Partner, Service

    client.force_login(manager)
    assert (
        reverse("support:partner_new") in client.get(reverse("support:catalogue")).content.decode()
    )
    bad = client.post(reverse("support:partner_new"), {"code": "NEW TRUST", "name": "New Trust"})
    assert "Letters, digits, dots, hyphens and underscores only." in bad.content.decode()
    response = client.post(reverse("support:partner_new"), {"code": "NEWT", "name": "New Trust"})
    partner = Partner.objects.get(code="NEWT")
    assert response["Location"] == f"{reverse('support:service_new')}?partner={partner.pk}"
    data = {
        "partner": partner.pk,
        "school": school.pk,
        "code": "NEWT-TUE",
        "name": "Tuesday drama",
        "outcome_areas": ["confidence", "relationships"],
        "weekday": "1",
        "starts_at": "15:30",
        "capacity": "12",
    }
    assert client.post(reverse("support:service_new"), data).status_code == 302
    service = Service.objects.get(code="NEWT-TUE")
    assert (service.partner, service.weekday, service.capacity) == (partner, 1, 12)
    again = client.post(reverse("support:service_new"), data).content.decode()
    assert "There is already a service Tuesday drama with the code NEWT-TUE" in again
    for other in ({"code": "newt-tue"}, {"code": "NEWT-TUE-2"}):  # same code; same name
        page = client.post(reverse("support:service_new"), data | other).content.decode()
        assert "There is already a service Tuesday drama" in page
    twin = client.post(reverse("support:partner_new"), {"code": "NEWT2", "name": "new trust"})
    assert "There is already a partner New Trust with the code NEWT" in twin.content.decode()
    assert Partner.objects.count() == 1
    url = reverse("support:service_edit", kwargs={"pk": service.pk})
    client.post(
        url, {"name": "Tuesday drama club", "outcome_areas": ["confidence"], "weekday": "1"}
    )
    service.refresh_from_db()
    assert (service.name, service.outcome_areas, service.capacity) == (
        "Tuesday drama club",
        ["confidence"],
        None,
    )
    assert {e.action for e in AuditEntry.objects.all()} >= {
        "support.partner_added",
        "support.service_added",
        "support.service_changed",
    }


def test_partner_staff_change_when_their_service_meets_not_its_name(client, partner_user, service):
    client.force_login(partner_user)
    url = reverse("support:service_edit", kwargs={"pk": service.pk})
    assert 'name="name"' not in client.get(url).content.decode()
    client.post(url, {"name": "Renamed", "weekday": "2"})
    service.refresh_from_db()
    assert (service.name, service.weekday) == ("Monday art club", 2)
    assert client.get(reverse("support:service_new")).status_code in (403, 404)


def test_partner_staff_never_read_a_upn_in_an_upload_problem(client, partner_user, allocated):
    from django.core.files.uploadedfile import SimpleUploadedFile

    row = f"ARTS-MON,2026-03-16,{allocated.upn},Y,Y\n"
    text = "service_code,session_date,upn,attended,engaged\n" + row + row
    client.force_login(partner_user)
    page = client.post(
        reverse("support:register_upload"),
        {"file": SimpleUploadedFile("week.csv", text.encode())},
    ).content.decode()
    assert "week.csv:3: service_code+session_date+upn: duplicate key" in page
    assert "[UPN withheld]" in page and allocated.upn not in page


def test_allocation_problems_are_said(client, link_worker, allocated, service):
    from linkwork.support.models import Allocation

    client.force_login(link_worker)
    page = client.post(
        reverse("support:allocate", kwargs={"pk": allocated.pk}),
        {"service": service.pk, "start_date": "2031-01-01"},
        follow=True,
    ).content.decode()
    assert "Not allocated. From: From is more than 182 days ahead; check the year." in page
    allocation = Allocation.objects.get()
    page = client.post(
        reverse("support:allocation_end", kwargs={"pk": allocation.pk}),
        {"end_date": "2029-06-01"},
        follow=True,
    ).content.decode()
    assert "The allocation was not ended. Last day: The last day is more than 1 year ahead" in page
    allocation.refresh_from_db()
    assert allocation.end_date is None


def test_an_interaction_logged_from_the_childs_page_goes_back_there(client, link_worker, allocated):
    client.force_login(link_worker)
    child_page = reverse("support:child", kwargs={"pk": allocated.pk})
    url = reverse("support:interaction_new", kwargs={"pk": allocated.pk})
    assert f"{url}?back=child" in client.get(child_page).content.decode()
    data = {"occurred_on": TODAY.isoformat(), "minutes": "10", "kind": "one_to_one"}
    assert client.post(f"{url}?back=child", data)["Location"] == child_page
    assert client.post(url, data | {"kind": "family"})["Location"] == reverse("support:caseload")


def test_a_taken_register_on_another_day_is_not_questioned(
    client, partner_user, allocated, service
):
    from linkwork.support.services import RegisterMark, record_register

    wednesday = dt.date(2026, 3, 11)
    record_register(
        actor=partner_user,
        service=service,
        session_date=wednesday,
        marks=[RegisterMark(allocated.pk, "attended")],
    )
    client.force_login(partner_user)
    assert "meets on Mondays" not in client.get(register_url(service, wednesday)).content.decode()


def test_the_question_before_saving_everyone_absent_comes_first(
    client, partner_user, allocated, service
):
    client.force_login(partner_user)
    data = {"save": "1", f"seen-{allocated.pk}": "", f"mark-{allocated.pk}": "absent"}
    page = client.post(register_url(service), data).content.decode()
    assert page.index("Nobody is marked as attended") < page.index('class="register"')
    assert "autofocus" in page


def test_a_service_over_its_places_says_by_how_many(
    client, link_worker, allocated, service, make_pupil, enrol
):
    """Places cut below the children already allocated take no one off: the page says by
    how many the service is over, not "Full"."""
    service.capacity = 1
    service.save()
    client.force_login(link_worker)
    assert ">Full</span>" in client.get(reverse("support:catalogue")).content.decode()
    service.capacity = None
    service.save()
    other = make_pupil(given_name="Bea", family_name="Sample")
    enrol(other)
    allocate_child(actor=link_worker, pupil=other, service=service, start_date=dt.date(2026, 3, 2))
    service.capacity = 1
    service.save()
    page = client.get(reverse("support:catalogue")).content.decode()
    assert '2 of 1 <span class="badge badge-red">Over by 1</span>' in page
