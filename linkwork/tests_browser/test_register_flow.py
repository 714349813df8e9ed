"""A partner's register and a Link Worker's day, in a real browser at phone size."""

import datetime as dt

import pytest
from django.urls import reverse

from linkwork.audit.models import AuditEntry
from linkwork.engagement.models import Flag
from linkwork.people.models import Cohort, Consent, Enrolment
from linkwork.support.models import Interaction, RegisterEntry
from linkwork.support.services import RegisterMark, allocate_child, record_register

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def amara(make_pupil, link_worker, service):
    """Amara, enrolled and allocated to the arts club, which meets on today's weekday."""
    today = dt.date.today()
    service.weekday = today.weekday()
    service.save()
    start = today - dt.timedelta(days=60)
    pupil = make_pupil(given_name="Amara", family_name="Example", year_group="5")
    for purpose in ("support", "partner_sharing"):
        Consent.objects.create(pupil=pupil, purpose=purpose, given_by="parent", given_on=start)
    cohort = Cohort.objects.create(code="2025", name="Cohort 2025")
    Enrolment.objects.create(pupil=pupil, cohort=cohort, enrolled_on=start, link_worker=link_worker)
    allocate_child(
        actor=link_worker, pupil=pupil, service=service, start_date=today - dt.timedelta(days=21)
    )
    return pupil


def test_partner_takes_and_corrects_a_register(
    phone_page, login, axe_check, partner_user, amara, service
):
    page = phone_page
    login(page, partner_user)
    page.get_by_role("link", name="Sessions").first.click()
    page.get_by_role("heading", name="Today: Monday art club").wait_for()
    page.get_by_role("link", name="Register for Monday art club").click()
    page.get_by_role("heading", name="Monday art club", level=1).wait_for()
    axe_check(page)
    tap = page.locator(f"#row-{amara.pk} button")
    assert "Not marked" in tap.inner_text()
    tap.click()
    page.locator(f"#row-{amara.pk}.mark-attended").wait_for()
    # Focus stays on the child's button, and the new mark is announced.
    assert page.evaluate("document.activeElement.id") == f"tap-{amara.pk}"
    assert page.get_by_role("status").inner_text() == "Amara Example: Attended, saved."
    page.locator(f"#row-{amara.pk} button").click()
    page.locator(f"#row-{amara.pk}.mark-engaged").wait_for()
    entry = RegisterEntry.objects.get(pupil=amara)
    assert (entry.attended, entry.engaged) == (True, True)
    page.get_by_role("button", name="Save register").click()
    page.get_by_text("Register saved.").wait_for()
    assert RegisterEntry.objects.count() == 1
    # A correction: one more tap takes the mark back to absent, and is audited.
    page.locator(f"#row-{amara.pk} button").click()
    page.locator(f"#row-{amara.pk}.mark-absent").wait_for()
    assert RegisterEntry.objects.get(pupil=amara).attended is False
    audit = AuditEntry.objects.filter(action="support.register_corrected").latest("at")
    assert audit.changes == {amara.upn: ["engaged", "absent"]}
    assert "Amara" in page.content() and amara.upn not in page.content()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, "the register scrolls sideways on a phone"


def test_link_worker_sees_a_flag_raised_by_a_missed_session_clear(
    phone_page, login, axe_check, link_worker, partner_user, amara, service
):
    page = phone_page
    today = dt.date.today()
    last_week = today - dt.timedelta(days=7)
    login(page, link_worker)
    # The Link Worker logs an interaction from the caseload, in a few taps.
    page.get_by_role("link", name="Caseload").first.click()
    page.get_by_role("link", name="Log interaction with Amara Example").click()
    assert page.get_by_label("Date").input_value() == today.isoformat()
    page.get_by_label("Minutes").fill("10")
    page.get_by_label("One to one").check()
    page.get_by_label("Friendships").check()
    page.get_by_label("Note").fill("Talked at break about the art club.")
    # A double tap sends the form once.
    page.get_by_role("button", name="Log interaction").dblclick()
    page.get_by_text("Interaction with Amara Example logged.").wait_for()
    assert Interaction.objects.get(pupil=amara).minutes == 10

    # Two allocated sessions missed in a row: the partner's registers raise a flag at once.
    for day in (last_week, today):
        record_register(
            actor=partner_user,
            service=service,
            session_date=day,
            marks=[RegisterMark(amara.pk, "absent")],
        )
    page.goto(reverse("support:caseload"))
    assert page.get_by_text("Missed the last 2 allocated sessions in a row").is_visible()
    page.get_by_role("link", name="Amara Example").first.click()
    page.locator("#status").wait_for()
    assert page.locator("#status").inner_text() == "Amber"
    axe_check(page)

    # Amara came after all: the partner corrects today's register and the flag clears.
    record_register(
        actor=partner_user,
        service=service,
        session_date=today,
        marks=[RegisterMark(amara.pk, "attended")],
    )
    page.reload()
    assert page.locator("#status").inner_text() == "Green"
    assert page.get_by_text("No open flags.").is_visible()
    assert Flag.objects.get(pupil=amara).cleared_at is not None
