import pytest
from django.urls import reverse

from linkwork.measures.models import Instrument

from .test_documents import GOOD

pytestmark = pytest.mark.django_db


def test_manager_loads_a_definition(client, manager):
    client.force_login(manager)
    url = reverse("measures:instruments")
    assert b"Strengths and Difficulties Questionnaire" in client.get(url).content
    response = client.post(url, {"text": GOOD})
    assert response.status_code == 302
    assert Instrument.objects.get(code="MINI").version == 1


def test_bad_definition_is_located_and_not_stored(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("measures:instruments"),
        {"text": GOOD.replace("reverse_scored: [m2]", "reverse_scored: [m9]")},
    )
    assert b"instrument.yaml:6: reverse_scored: not an item of this instrument (m9)" in (
        response.content
    )
    assert not Instrument.objects.filter(code="MINI").exists()


def test_only_managers(client, link_worker):
    client.force_login(link_worker)
    assert client.get(reverse("measures:instruments")).status_code == 403
