import pytest
from django.urls import reverse

from linkwork.accounts.models import Role


@pytest.mark.django_db
def test_login_with_email_and_password_lands_on_home(client, link_worker):
    page = client.get(reverse("account_login"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'lang="en-GB"' in html and "Skip to main content" in html
    assert "sign up" not in html.lower()
    response = client.post(
        reverse("account_login"),
        {"login": "lw@example.org", "password": "demo-password-only"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("home")


@pytest.mark.django_db
def test_wrong_password_shows_an_error(client, link_worker):
    response = client.post(
        reverse("account_login"), {"login": "lw@example.org", "password": "wrong-password"}
    )
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()


@pytest.mark.django_db
def test_logout_is_a_post(client, link_worker):
    client.force_login(link_worker)
    home = client.get(reverse("home")).content.decode()
    assert f'action="{reverse("account_logout")}"' in home and 'method="post"' in home
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


@pytest.mark.django_db
def test_signup_is_closed(client):
    response = client.get(reverse("account_signup"))
    assert "created by an administrator" in response.content.decode()


@pytest.mark.django_db
def test_anonymous_home_redirects_to_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", ["account_change_password", "mfa_index", "mfa_activate_totp"])
def test_account_pages_render_in_the_layout(client, link_worker, url_name):
    client.force_login(link_worker)
    html = client.get(reverse(url_name), follow=True).content.decode()
    assert 'class="site-header"' in html and '<main id="main"' in html


@pytest.mark.django_db
def test_password_reset_page_renders(client):
    response = client.get(reverse("account_reset_password"))
    assert response.status_code == 200 and 'class="site-header"' in response.content.decode()


@pytest.mark.django_db
def test_funder_home_says_claims_appear_there(client, funder):
    client.force_login(funder)
    html = client.get(reverse("home")).content.decode()
    assert "Claims addressed to you appear here" in html
    assert reverse("people:child_list") not in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    "persona, shows_children",
    [
        ("link_worker", True),
        ("partner_user", True),
        ("school_staff", True),
        ("manager", True),
        ("admin_user", True),
        ("funder", False),
    ],
)
def test_navigation_follows_the_role(client, request, persona, shows_children):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    html = client.get(reverse("home")).content.decode()
    assert (f'href="{reverse("people:child_list")}"' in html) is shows_children
    assert 'aria-current="page"' in html
    assert (reverse("admin:index") in html) is (user.role == Role.ADMIN)


@pytest.mark.django_db
def test_sign_in_asks_for_the_authenticator_code_once_totp_is_on(client, link_worker):
    import time

    from allauth.mfa.totp.internal.auth import (
        TOTP,
        format_hotp_value,
        generate_totp_secret,
        hotp_value,
    )

    secret = generate_totp_secret()
    TOTP.activate(link_worker, secret)
    response = client.post(
        reverse("account_login"), {"login": "lw@example.org", "password": "demo-password-only"}
    )
    assert response["Location"] == reverse("mfa_authenticate")
    page = client.get(reverse("mfa_authenticate")).content.decode()
    assert 'class="site-header"' in page and "authenticator code" in page.lower()
    assert client.get(reverse("home")).status_code == 302  # not signed in yet

    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


@pytest.mark.django_db
def test_sign_in_sign_out_and_failures_are_audited(client, link_worker):
    from linkwork.audit.models import AuditEntry

    client.post(reverse("account_login"), {"login": "lw@example.org", "password": "wrong-one"})
    client.post(
        reverse("account_login"), {"login": "lw@example.org", "password": "demo-password-only"}
    )
    client.post(reverse("account_logout"))
    entries = AuditEntry.objects.filter(action__startswith="account.").order_by("pk")
    actions = list(entries.values_list("action", "actor_label"))
    assert actions == [
        ("account.sign_in_failed", "system"),
        ("account.signed_in", "lw@example.org"),
        ("account.signed_out", "lw@example.org"),
    ]
    failed = AuditEntry.objects.get(action="account.sign_in_failed")
    assert "lw@example.org" in failed.summary and "wrong-one" not in failed.summary
