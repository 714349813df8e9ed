"""The data migration that gives a database's shipped definitions their outcome areas."""

import importlib

import pytest
from django.apps import apps

from linkwork.measures.models import Instrument
from linkwork.measures.shipped import shipped_instruments

AREAS = importlib.import_module(
    "linkwork.measures.migrations.0005_outcome_areas_in_shipped_instruments"
)


def _store(code: str, definition: dict) -> Instrument:
    latest = Instrument.objects.filter(code=code).order_by("-version").first()
    return Instrument.objects.create(
        code=code, version=latest.version + 1, name=definition["name"], definition=definition
    )


@pytest.mark.django_db
def test_the_old_shipped_definition_gets_the_new_one_and_a_zones_own_is_left():
    shipped = {document["code"]: document for document, _ in shipped_instruments()}
    old_sdq = AREAS._without_areas(shipped["SDQ"])
    assert old_sdq != shipped["SDQ"]
    _store("SDQ", old_sdq)
    own = AREAS._without_areas(shipped["SCWBS"])
    own["scales"]["total"]["sd"] = "8"  # a zone's own version
    _store("SCWBS", own)
    versions = {code: Instrument.objects.filter(code=code).count() for code in shipped}

    AREAS.add_areas(apps, None)

    sdq = Instrument.objects.filter(code="SDQ").order_by("-version").first()
    assert sdq.definition == shipped["SDQ"]
    assert sdq.definition["scales"]["emotional"]["outcome_area"] == "wellbeing"
    assert Instrument.objects.filter(code="SDQ").count() == versions["SDQ"] + 1
    assert Instrument.objects.filter(code="SCWBS").count() == versions["SCWBS"]
    # Run again: nothing more to do.
    AREAS.add_areas(apps, None)
    assert Instrument.objects.filter(code="SDQ").count() == versions["SDQ"] + 1
