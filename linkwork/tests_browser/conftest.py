"""Fixtures for real-browser tests: Debian's Chromium driven by Playwright.

Use them like this (the whole module needs the live server's transactional database):

    pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

    def test_something(page, login, link_worker):
        login(page, link_worker)
        page.get_by_role("link", name="Children").click()

`page` runs each test twice, at phone size (375 x 812) and desktop size (1280 x 900);
`phone_page` and `desktop_page` give one size only. `login(page, user)` signs in through
the real sign-in form; `visit(page, "people:child_list")` opens a named URL. `axe_check(page)`
fails on serious or critical accessibility violations (axe-core's WCAG 2.2 AA rules, target
size included); `axe_run(page)` returns axe-core's results without judging them. Browser
tests are skipped, with the reason shown, where /usr/bin/chromium is missing.
"""

import os
from pathlib import Path

import pytest
from django.urls import reverse

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests
# make between browser steps are safe there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORTS = {"phone": {"width": 375, "height": 812}, "desktop": {"width": 1280, "height": 900}}
PASSWORD = "demo-password-only"  # the personas' password in linkwork/conftest.py


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(
            "browser tests need Debian's Chromium at /usr/bin/chromium "
            "(apt-get install -y chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _page(browser, live_server, viewport):
    context = browser.new_context(viewport=VIEWPORTS[viewport], base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.viewport_name = viewport
    return context, page


@pytest.fixture(params=list(VIEWPORTS))
def page(request, browser, live_server):
    context, page = _page(browser, live_server, request.param)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser, live_server):
    context, page = _page(browser, live_server, "phone")
    yield page
    context.close()


@pytest.fixture
def desktop_page(browser, live_server):
    context, page = _page(browser, live_server, "desktop")
    yield page
    context.close()


@pytest.fixture
def visit():
    def visit(page, name, *args, **kwargs):
        return page.goto(reverse(name, args=args or None, kwargs=kwargs or None))

    return visit


@pytest.fixture
def login():
    def login(page, user, password=PASSWORD):
        page.goto(reverse("account_login"))
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)

    return login


@pytest.fixture
def axe_run():
    """`axe_run(page)`: axe-core's results for the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    # WCAG 2.2 AA's target size (2.5.8) is off in axe-core by default.
    options = {"resultTypes": ["violations"], "rules": {"target-size": {"enabled": True}}}
    return lambda page: axe.run(page, options=options)


@pytest.fixture
def axe_check(axe_run):
    def check(page, levels=("serious", "critical")):
        results = axe_run(page)
        bad = [v for v in results.response["violations"] if v.get("impact") in levels]
        if bad:
            print(results.generate_report())
        assert not bad, f"{page.url}: " + "; ".join(
            f"{v['id']} ({v['impact']}): {v['help']} x{len(v['nodes'])}" for v in bad
        )
        # Reflow (WCAG 1.4.10): the page itself never scrolls sideways; wide tables
        # scroll inside their own box.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.viewport_size["width"], f"{page.url}: the page scrolls sideways"
        return results

    return check
