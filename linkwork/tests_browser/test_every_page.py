"""Every page, as every persona allowed to open it, on a phone (375 px wide): no serious or
critical accessibility violation (axe-core, WCAG 2.2 AA), no sideways scrolling, and every
stacked table read downwards within the screen.

The pages are the persona walk's (linkwork/accounts/tests/test_access_walk.py): every URL
pattern with the path arguments its ACCESS entry fills from the walk's world, opened by
each role the entry allows. Sign-in, password and two-factor pages come from allauth,
which the walk leaves out, so they are listed here. Each persona signs in once.
"""

import datetime as dt
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from linkwork import engagement
from linkwork.accounts.models import Role
from linkwork.accounts.tests.test_access_walk import build_world, declared_access, walked_patterns
from linkwork.core.upn import make_upn
from linkwork.engagement.services import save_rules
from linkwork.measures.models import Administration, Score
from linkwork.measures.services import store_instrument
from linkwork.measures.shipped import shipped_instruments
from linkwork.people.models import Pupil
from linkwork.screening.services import delete_screening_round, run_screening
from linkwork.support.queries import ENGAGED
from linkwork.support.services import RegisterMark, record_interaction, record_register

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "every-page-walk"
ENGAGEMENT_RULES = Path(engagement.__file__).parent / "engagement.yaml"
LEVELS = ("serious", "critical")

# What is folded away (forms and explanations in <details>, the account menu) is checked
# open; the page's own script has a moment to respond to the toggle events first.
UNFOLD = """() => new Promise((done) => {
  document.querySelectorAll("details:not([open])").forEach((d) => { d.open = true; });
  requestAnimationFrame(() => setTimeout(done, 0));
})"""

# A table that stacks on a phone (class "stack", docs/ui.md) reads downwards: the table
# does not scroll sideways, every cell is within the screen, and every cell with something
# in it is headed by its column's name, shown, with the table's roles kept.
STACKED = """() => [...document.querySelectorAll("table.stack")].flatMap((table, t) => {
  const found = [], name = `stacked table ${t + 1}`;
  if (table.getAttribute("role") !== "table") found.push(`${name} lost its table role`);
  const wrap = table.closest(".table-wrap") || table;
  if (wrap.scrollWidth > wrap.clientWidth + 1) found.push(`${name} scrolls sideways`);
  table.querySelectorAll(":scope > tbody > tr > :is(td, th)").forEach((cell) => {
    const box = cell.getBoundingClientRect(), label = cell.dataset.label;
    const what = `${name}, cell "${label || cell.textContent.trim().slice(0, 30)}"`;
    if (box.left < 0 || box.right > window.innerWidth + 0.5) {
      found.push(`${what} is off the screen`);
    }
    if (!["cell", "rowheader"].includes(cell.getAttribute("role"))) {
      found.push(`${what} lost its role`);
    }
    if (!cell.textContent.trim()) return;
    if (!label) found.push(`${what} has no data-label`);
    else if (getComputedStyle(cell, "::before").content === "none") {
      found.push(`${what} does not show its label`);
    }
  });
  return found;
})"""

# URLs in the walk that are not pages, so are not opened here.
NOT_PAGES = {
    "screening:run": "POST only (the round list's form)",
    "screening:review": "POST only (a shortlist row's form)",
    "screening:round_delete": "POST only (the round page's form)",
    "screening:withdraw": "POST only (the consent page's form)",
    "screening:upload_load": "POST only (the upload page's form)",
    "screening:upload_status": "htmx fragment: the status block the upload page polls",
    "support:goal_add": "POST only (the support page's form)",
    "support:goal_update": "POST only (the support page's form)",
    "support:allocate": "POST only (the support page's form)",
    "support:allocation_end": "POST only (the support page's form)",
    "support:allocation_cancel": "POST only (the support page's form)",
    "support:follow_up_complete": "POST only (the follow-ups page's form)",
    "support:follow_up_assign": "POST only (the follow-ups page's form)",
    "support:register_cancel": "POST only (the register page's form)",
    "support:register_sheet": "download: the register as a spreadsheet",
    "support:register_sheets": "download: several sessions' registers as a spreadsheet",
    "contracts:claim_run": "POST only (the claim page's form)",
    "contracts:claim_submit": "POST only (the claim page's form)",
    "contracts:claim_paid": "POST only (the claim page's form)",
    "contracts:claim_evidence": "download: the evidence pack (CSV)",
    "contracts:claim_statement": "download: a payer's statement (PDF or CSV)",
}

# allauth's pages (outside the walk): signed out, and signed in (from the account menu).
# Setting up an authenticator asks for the password again first, so it is opened last.
SIGNED_OUT_PAGES = ["account_login", "account_signup", "account_reset_password"]
ACCOUNT_PAGES = ["account_change_password", "mfa_index", "account_logout", "account_reauthenticate"]

# The pages that say why there is nothing to show, each opened once.
ERROR_PAGES = {
    Role.PARTNER: [("contracts:contract_list", 403)],  # a page the role does not open
    Role.FUNDER: [("people:child_detail", 404)],  # a child outside what the role sees
    Role.MANAGER: [("screening:run", 405)],  # a form's address opened as a link
}


@pytest.fixture
def world(transactional_db):
    """The persona walk's world with a row in the lists it leaves empty (instruments and
    scores, engagement rules, an interaction, a register, a shortlist), so the pages are
    checked with their tables and not only their empty states."""
    world = build_world()
    for user in world.users.values():
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    manager = world.users[Role.MANAGER]
    for document, source in shipped_instruments():
        store_instrument(actor=manager, document=document, source=source)
    save_rules(actor=manager, source=ENGAGEMENT_RULES.read_text(encoding="utf-8"))
    baseline = Administration.objects.create(
        pupil=world.pupil,
        instrument_code="SDQ",
        administered_on=world.today - dt.timedelta(days=50),
        respondent="parent",
    )
    for scale, score in {"emotional": 6, "peer": 5, "prosocial": 4}.items():
        Score.objects.create(administration=baseline, scale=scale, score=score)
    record_interaction(
        actor=world.users[Role.LINK_WORKER],
        pupil=world.pupil,
        occurred_on=world.today - dt.timedelta(days=2),
        kind="one_to_one",
        minutes=30,
        topics=["friendships", "homework"],
        note="Talked about the art club. Her mum sent https://example.org/a-very-long-link-"
        "that-does-not-break-anywhere-on-a-phone-screen-at-all",
    )
    record_register(
        actor=manager,
        service=world.service,
        session_date=world.today,
        marks=[RegisterMark(pupil_id=world.pupil.pk, state=ENGAGED)],
    )
    Pupil.objects.create(
        upn=make_upn("901000000003"),
        school=world.school,
        given_name="Cai",
        family_name="Shortlisted",
        year_group="4",
        fsm=True,
    )
    delete_screening_round(actor=manager, screening_round=world.screening_round)
    world.screening_round = run_screening(actor=manager, school=world.school, on=world.today)
    return world


def url_of(name, world) -> str:
    entry = declared_access()[name]
    return reverse(name, kwargs=entry["kwargs"](world) if entry["kwargs"] else None)


def pages_for(role, world) -> list[str]:
    """The URL of every page in the walk the role may open, in the walk's order."""
    access = declared_access()
    return [
        url_of(name, world)
        for name, _, _ in walked_patterns()
        if name not in NOT_PAGES and role in {Role(r) for r in access[name]["allowed"]}
    ]


def test_skipped_urls_are_in_the_walk():
    names = {name for name, _, _ in walked_patterns()}
    assert not set(NOT_PAGES) - names, "NOT_PAGES names URLs the walk does not have"


def test_every_page_passes_axe_and_fits_a_phone(phone_page, login, axe_run, world):
    page = phone_page
    assert page.viewport_size["width"] == 375
    visited = {}
    problems = []  # (role, URL, what is wrong): every one found, not just the first

    def check(role, url, response, status=200):
        if response is None or response.status != status or urlsplit(page.url).path != url:
            got = response.status if response else "no response"
            problems.append((role, url, f"not the page expected: {got}, ended at {page.url}"))
            return
        visited.setdefault(role, []).append(url)
        page.evaluate(UNFOLD)
        violations = axe_run(page).response["violations"]
        ids = sorted(
            f"{v['id']} ({v['impact']}, {len(v['nodes'])})"
            for v in violations
            if v.get("impact") in LEVELS
        )
        if ids:
            problems.append((role, url, ", ".join(ids)))
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > page.evaluate("window.innerWidth"):
            problems.append((role, url, f"scrolls sideways ({width} px wide)"))
        problems.extend((role, url, problem) for problem in page.evaluate(STACKED))

    def visit(role, url):
        check(role, url, page.goto(url))

    for name in SIGNED_OUT_PAGES:
        visit("signed out", reverse(name))
    activate = reverse("mfa_activate_totp")
    for role, user in world.users.items():
        page.context.clear_cookies()
        login(page, user, password=PASSWORD)
        for url in pages_for(role, world) + [reverse(name) for name in ACCOUNT_PAGES]:
            visit(role, url)
        page.goto(f"{reverse('account_reauthenticate')}?next={activate}")
        page.get_by_label("Password").fill(PASSWORD)
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name="Confirm").click()
        check(role, activate, navigation.value)
        for name, status in ERROR_PAGES.get(role, []):
            url = url_of(name, world)
            check(role, url, page.goto(url), status)

    print("\n".join(f"{role}: {len(urls)} pages" for role, urls in visited.items()))
    report = [f"{role} {url}: {problem}" for role, url, problem in problems]
    assert not report, f"{len(report)} problems:\n" + "\n".join(report)
