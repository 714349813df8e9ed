import pytest

from linkwork.audit.models import AuditEntry
from linkwork.measures.documents import parse_instrument
from linkwork.measures.models import Instrument
from linkwork.measures.queries import current_definitions
from linkwork.measures.services import store_instrument

from .test_documents import GOOD


@pytest.mark.django_db
def test_shipped_instruments_are_installed_by_migration():
    assert {"SDQ", "SCWBS"} <= set(current_definitions())
    assert "sdq03" in current_definitions()["SDQ"]["scales"]["emotional"]["items"]


@pytest.mark.django_db
def test_store_instrument_versions_and_is_idempotent(manager):
    doc = parse_instrument(GOOD, filename="mini.yaml")
    first = store_instrument(actor=manager, document=doc, source=GOOD)
    again = store_instrument(actor=manager, document=doc, source=GOOD)
    assert again.pk == first.pk and first.version == 1
    changed_source = GOOD.replace("A small test", "A renamed test")
    changed = store_instrument(
        actor=manager,
        document=parse_instrument(changed_source, filename="mini.yaml"),
        source=changed_source,
    )
    assert changed.version == 2
    assert Instrument.objects.filter(code="MINI").count() == 2
    assert AuditEntry.objects.filter(action="instrument.stored", actor=manager).count() == 2
    assert current_definitions()["MINI"]["name"] == "A renamed test instrument"
