"""LINKWORK_REQUIRE_MFA: no page but two-factor set-up and sign-out until a second
factor is on."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.urls import reverse


@pytest.fixture
def require_mfa(settings):
    settings.LINKWORK_REQUIRE_MFA = True


@pytest.mark.django_db
def test_without_an_authenticator_every_page_leads_to_set_up(client, link_worker, require_mfa):
    client.force_login(link_worker)
    for name in ("home", "people:child_list"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"] == reverse("mfa_activate_totp")
    # Setting up asks for the password again first (allauth's reauthentication).
    page = client.get(reverse("mfa_activate_totp"), follow=True)
    assert page.status_code == 200
    assert page.redirect_chain[-1][0].startswith(reverse("account_reauthenticate"))
    assert "requires two-factor sign-in" in page.content.decode()
    client.post(reverse("account_reauthenticate"), {"password": "demo-password-only"})
    assert client.get(reverse("mfa_activate_totp")).status_code == 200
    assert client.post(reverse("account_logout")).status_code == 302


@pytest.mark.django_db
def test_htmx_requests_are_sent_to_set_up_too(client, link_worker, require_mfa):
    client.force_login(link_worker)
    response = client.get(reverse("people:child_list"), headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("mfa_activate_totp")


@pytest.mark.django_db
def test_with_an_authenticator_pages_open(client, link_worker, require_mfa):
    TOTP.activate(link_worker, generate_totp_secret())
    client.force_login(link_worker)
    assert client.get(reverse("home")).status_code == 200


@pytest.mark.django_db
def test_anonymous_visitors_still_go_to_sign_in(client, require_mfa):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db
def test_policy_off_lets_users_without_an_authenticator_in(client, link_worker, settings):
    settings.LINKWORK_REQUIRE_MFA = False
    client.force_login(link_worker)
    assert client.get(reverse("home")).status_code == 200
