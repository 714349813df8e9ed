"""From the shortlist to an enrolled child, in a real browser, every step audited."""

import pytest
from django.urls import reverse

from linkwork.audit.models import AuditEntry
from linkwork.people.models import Cohort, Enrolment
from linkwork.screening.documents import parse_screening_rules
from linkwork.screening.services import run_screening, store_screening_rules
from linkwork.screening.tests.conftest import put_pupil
from linkwork.screening.tests.example import ON, PUPILS, RULES_YAML

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def screened(manager, school):
    store_screening_rules(
        actor=manager,
        document=parse_screening_rules(RULES_YAML, filename="screening.yaml"),
        source=RULES_YAML,
    )
    pupils = [put_pupil(school, data, n) for n, data in enumerate(PUPILS, start=1)]
    Cohort.objects.create(code="2026-27", name="Cohort 2026–27")
    return run_screening(actor=manager, school=school, on=ON), pupils[0]


def fits(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} scrolls sideways"


def test_review_consent_enrolment(
    phone_page, desktop_page, login, axe_check, school_staff, link_worker, screened
):
    screening_round, child = screened
    round_url = reverse("screening:round_detail", args=[screening_round.pk])

    # School staff accept the first child on the shortlist, on a phone.
    staff = phone_page
    login(staff, school_staff)
    staff.goto(round_url)
    article = staff.get_by_role("article", name=f"{child.name} {child.upn}")
    article.get_by_text("Why: each area's value and threshold").click()
    assert article.get_by_role("cell", name="below 90%").is_visible()
    article.get_by_label("Accept").check()
    article.get_by_label("Reason").fill("Agreed at the pastoral meeting")
    article.get_by_role("button", name="Record decision").click()
    staff.get_by_role("article", name=f"{child.name} {child.upn}").get_by_text(
        "Accepted"
    ).wait_for()
    fits(staff)
    axe_check(staff)

    # The Link Worker tries to enrol before consent: refused with a clear message.
    worker = desktop_page
    login(worker, link_worker)
    worker.goto(round_url)
    worker.get_by_role("link", name=f"Consent and enrolment for {child.name}").click()
    worker.get_by_role("link", name=f"Enrol {child.name}").click()
    worker.get_by_label("Cohort").select_option(label="Cohort 2026–27")
    worker.get_by_label("Link Worker").select_option(label=str(link_worker))
    worker.get_by_label("Enrolled on").fill("2026-10-05")
    worker.get_by_role("button", name="Enrol").click()
    worker.get_by_text("cannot be enrolled: no consent for support").wait_for()
    assert not Enrolment.objects.filter(pupil=child).exists()

    # Consent from the parent, with the child's assent, then enrolment.
    worker.get_by_role("link", name="Back to consent").click()
    worker.get_by_label("Support from the programme").check()
    worker.get_by_label("Evidence for outcome payments").check()
    worker.get_by_label("Given by").select_option("parent")
    worker.get_by_label("Given on").fill("2026-10-01")
    worker.get_by_label("The child's own assent").select_option("yes")
    worker.get_by_role("button", name="Record consent").click()
    worker.get_by_text("Support from the programme: given by parent").wait_for()
    worker.get_by_role("link", name=f"Enrol {child.name}").click()
    worker.get_by_label("Cohort").select_option(label="Cohort 2026–27")
    worker.get_by_label("Link Worker").select_option(label=str(link_worker))
    worker.get_by_label("Enrolled on").fill("2026-10-05")
    worker.get_by_role("button", name="Enrol").click()
    worker.get_by_text("Cohort 2026–27 from 5 October 2026").wait_for()
    axe_check(worker)

    enrolment = Enrolment.objects.get(pupil=child)
    assert enrolment.link_worker == link_worker
    actions = list(
        AuditEntry.objects.filter(pupil=child).order_by("pk").values_list("action", "actor__email")
    )
    assert actions == [
        ("shortlist.accept", school_staff.email),
        ("consent.given", link_worker.email),
        ("consent.given", link_worker.email),
        ("child.enrolled", link_worker.email),
    ]
