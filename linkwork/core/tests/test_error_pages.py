"""Error pages: in the site's own layout, saying what happened and where to go."""

import pytest
from django.test import Client
from django.urls import reverse


@pytest.mark.django_db
def test_not_found_keeps_the_navigation(client, link_worker):
    client.force_login(link_worker)
    response = client.get("/support/sessions/1/2026-02-30/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Not found</h1>" in page and "Go to your start page" in page
    assert 'aria-label="Main"' in page  # the role's navigation is still there


@pytest.mark.django_db
def test_not_allowed_says_why(client, link_worker):
    client.force_login(link_worker)
    response = client.get(reverse("audit:entry_list"))
    assert response.status_code == 403
    assert "Only administrators read the whole audit trail." in response.content.decode()


@pytest.mark.django_db
def test_a_stale_form_says_nothing_was_saved(link_worker):
    client = Client(enforce_csrf_checks=True)
    client.force_login(link_worker)
    response = client.post(reverse("support:follow_ups"))
    assert response.status_code == 403
    assert "nothing was saved" in response.content.decode()


def test_server_error_page_renders_without_the_database(rf):
    from django.views.defaults import server_error

    response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert "saved whole or not at all" in response.content.decode()


@pytest.mark.django_db
def test_a_form_address_opened_as_a_link_says_so(client, link_worker, make_pupil):
    client.force_login(link_worker)
    response = client.get(reverse("support:follow_up_complete", kwargs={"pk": 1}))
    assert response.status_code == 405
    assert "Opened from a form only" in response.content.decode()
    assert 'aria-label="Main"' in response.content.decode()
