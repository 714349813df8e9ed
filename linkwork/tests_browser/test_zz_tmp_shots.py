import pytest
from linkwork.tests_browser.test_pages import children  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_shots(page, login, link_worker, children, admin_user):  # noqa: F811
    login(page, link_worker)
    v = page.viewport_name
    page.screenshot(path=f"/tmp/lw-web-home-{v}.png", full_page=True)
    page.goto("/children/")
    page.screenshot(path=f"/tmp/lw-web-list-{v}.png", full_page=True)
    page.goto(f"/children/{children.pk}/")
    page.screenshot(path=f"/tmp/lw-web-detail-{v}.png", full_page=True)
    page.locator(".user-menu summary").click()
    page.screenshot(path=f"/tmp/lw-web-menu-{v}.png")
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.keyboard.press("Tab")
    page.screenshot(path=f"/tmp/lw-web-login-{v}.png")
