import datetime as dt
import re

import pytest

from linkwork.audit.services import record
from linkwork.people.models import Cohort, Enrolment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def children(make_pupil, link_worker):
    cohort = Cohort.objects.create(code="2025", name="Cohort 2025")
    amara = make_pupil(given_name="Amara", family_name="Example", year_group="5")
    for n in range(30):
        make_pupil(given_name=f"Child{n}", family_name="Sample")
    Enrolment.objects.create(
        pupil=amara,
        cohort=cohort,
        link_worker=link_worker,
        enrolled_on=dt.date.today() - dt.timedelta(days=10),
    )
    return amara


def test_link_worker_finds_a_child_and_opens_the_record(page, login, link_worker, children):
    login(page, link_worker)
    page.get_by_role("link", name="Children").first.click()
    page.get_by_role("heading", name="Children", level=1).wait_for()
    assert page.get_by_text("31 children found").is_visible()
    # Live search: typing updates the results without a page load.
    page.get_by_label("Name or UPN").fill("amara")
    page.get_by_text("1 child found").wait_for()
    assert "q=amara" in page.url
    page.get_by_role("link", name="Amara Example").click()
    page.get_by_role("heading", name="Amara Example", level=1).wait_for()
    assert page.get_by_role("heading", name="History").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], "the page scrolls sideways"


def test_search_works_without_javascript(browser, live_server, link_worker, children):
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(link_worker.email)
    page.get_by_label("Password").fill("demo-password-only")
    page.get_by_role("button", name="Sign in").click()
    page.goto("/children/")
    page.get_by_label("Name or UPN").fill("Example")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_text("1 child found").is_visible()
    context.close()


def test_sign_out_from_the_user_menu(page, login, manager):
    login(page, manager)
    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()


def test_a_long_navigation_folds_behind_a_menu_button_on_a_phone(
    page, login, axe_check, visit, manager
):
    login(page, manager)
    visit(page, "contracts:contract_list")
    button = page.locator(".nav-toggle")
    contracts = page.locator("#site-nav-list").get_by_role("link", name="Contracts")
    if page.viewport_name == "desktop":
        assert button.is_hidden() and contracts.is_visible()
        return
    assert button.inner_text().endswith("Menu: Contracts")
    assert button.get_attribute("aria-expanded") == "false" and contracts.is_hidden()
    button.click()
    assert button.get_attribute("aria-expanded") == "true" and contracts.is_visible()
    axe_check(page)
    page.locator("#site-nav-list").get_by_role("link", name="Outcomes").click()
    page.get_by_role("heading", name="Outcomes").wait_for()


def test_the_audit_trail_stacks_each_entry_on_a_phone(page, login, axe_check, visit, admin_user):
    record(
        actor=admin_user,
        action="support.plan_saved",
        summary="Support plan saved",
        changes={"informal_engagement": ["", "Lunch club on Tuesdays and a weekly check-in"]},
    )
    login(page, admin_user)
    visit(page, "audit:entry_list")
    table = page.get_by_role("table", name="Audit entries")
    summary = table.get_by_role("cell", name="Support plan saved")
    header = table.get_by_role("columnheader", name="Summary")
    assert summary.is_visible() and header.count() == 1
    box = summary.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]
    if page.viewport_name == "desktop":
        assert header.is_visible()  # a table as before, headers on top
    else:
        # Each cell on its own line under the last, headed by its column's name; the
        # header row is hidden only visually, so the columns keep their names.
        assert table.locator("thead").bounding_box()["height"] <= 1
        when = summary.locator("xpath=..").get_by_role("cell").first
        assert when.get_attribute("data-label") == "When"
        assert when.bounding_box()["y"] < box["y"]
        label = summary.evaluate("cell => getComputedStyle(cell, '::before').content")
        assert "Summary" in label
    axe_check(page)


def test_pages_have_no_serious_accessibility_violations(
    page, login, axe_check, visit, link_worker, children
):
    visit(page, "account_login")
    axe_check(page)
    login(page, link_worker)
    axe_check(page)  # home
    visit(page, "people:child_list")
    axe_check(page)
    page.goto(page.url + "?q=amara&status=enrolled")
    axe_check(page)
    visit(page, "people:child_detail", pk=children.pk)
    axe_check(page)


def test_account_and_admin_pages_have_no_serious_accessibility_violations(
    desktop_page, login, axe_check, visit, admin_user, children
):
    page = desktop_page
    login(page, admin_user)
    for name in (
        "home",
        "account_change_password",
        "mfa_index",
        "audit:entry_list",
        "outcomes:report",
    ):
        visit(page, name)
        axe_check(page)
    visit(page, "people:subject_access", pk=children.pk)
    axe_check(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the export").click()
    assert download.value.suggested_filename.startswith("subject-access-")


def test_the_dpo_erases_a_child(page, login, axe_check, visit, admin_user, children):
    login(page, admin_user)
    visit(page, "people:child_detail", pk=children.pk)
    page.get_by_role("link", name="Erase this child's data").click()
    axe_check(page)
    page.get_by_label("Request reference").fill("SAR-2026-031")
    page.get_by_label("The child's UPN, typed to confirm").fill("A000000000000")
    page.get_by_role("button", name="Erase this child's data").click()
    assert page.get_by_text("This is not the child's UPN.").is_visible()
    axe_check(page)
    page.get_by_label("The child's UPN, typed to confirm").fill(children.upn)
    page.get_by_role("button", name="Erase this child's data").click()
    page.wait_for_url("**/erasures/")
    assert page.get_by_role("cell", name="SAR-2026-031").is_visible()
    axe_check(page)


def test_the_sessions_services_and_outcomes_pages_have_no_serious_accessibility_violations(
    page, login, axe_check, visit, partner_user, school_staff, service, children
):
    login(page, partner_user)
    visit(page, "support:sessions")
    page.get_by_label("Day of the session").wait_for()
    axe_check(page)
    visit(page, "support:catalogue")
    page.get_by_role("link", name="Monday art club").click()
    page.get_by_label("Starts at").fill("15:30")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_text("Choose the day it meets").is_visible()
    axe_check(page)
    page.get_by_label("Day it meets").select_option("Monday")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/support/services/")
    assert page.get_by_role("cell", name="Monday 15:30").is_visible()
    axe_check(page)
    page.context.clear_cookies()
    login(page, school_staff)
    visit(page, "outcomes:report")
    page.get_by_role("heading", name=re.compile(r"^Outcomes: .*, Riverside Primary$")).wait_for()
    axe_check(page)


def test_adding_a_service_has_no_serious_accessibility_violations(
    page, login, axe_check, visit, manager, service
):
    login(page, manager)
    visit(page, "support:catalogue")
    page.get_by_role("link", name="Add a service").click()
    page.get_by_role("heading", name="Add a service").wait_for()
    page.locator("#id_partner").select_option(label="Riverside Arts Trust")
    page.locator("#id_school").select_option(index=1)
    page.get_by_label("Code").fill("bad code")
    page.locator("#id_name").fill("Tuesday drama")
    page.get_by_label("Confidence and aspiration").check()
    page.get_by_role("button", name="Add the service").click()
    page.get_by_text("Letters, digits, dots, hyphens and underscores only.").wait_for()
    axe_check(page)
    page.get_by_label("Code").fill("ARTS-TUE")
    page.get_by_role("button", name="Add the service").click()
    page.get_by_role("link", name="Tuesday drama").wait_for()
