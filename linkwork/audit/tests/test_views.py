import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from linkwork.audit.services import record, record_view

URL = reverse("audit:entry_list")


@pytest.mark.django_db
def test_administrator_searches_the_trail(client, admin_user, manager, make_pupil):
    pupil = make_pupil(given_name="Amara", family_name="Example")
    record_view(actor=manager, pupil=pupil)
    record(actor=admin_user, action="admin.school.added", summary="school Brookside added")
    client.force_login(admin_user)
    found = client.get(URL, {"q": "manager@example"}).context["page"]
    assert [e.action for e in found] == ["child.viewed"]
    found = client.get(URL, {"pupil": pupil.pk, "action": "child.viewed"}).context["page"]
    assert [e.actor_label for e in found] == ["manager@example.org"]
    assert client.get(URL, {"action": "admin.school.added"}).context["page"].paginator.count == 1


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["manager", "link_worker", "funder"])
def test_only_administrators_read_the_whole_trail(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(URL).status_code == 403


@pytest.mark.django_db
def test_trail_query_count_is_constant(
    client, admin_user, manager, make_pupil, django_assert_num_queries
):
    client.force_login(admin_user)
    pupil = make_pupil()
    record_view(actor=manager, pupil=pupil)
    with CaptureQueriesContext(connection) as one:
        client.get(URL)
    for _ in range(60):
        record_view(actor=manager, pupil=pupil)
    with django_assert_num_queries(len(one)):
        assert len(client.get(URL).context["page"]) == 50
