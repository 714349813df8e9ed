import shutil

import pytest

from .example import EXAMPLE


@pytest.fixture
def example_package(tmp_path):
    """A copy of the worked example: `package/` and `corrected/` under tmp_path."""
    shutil.copytree(EXAMPLE / "package", tmp_path / "package")
    shutil.copytree(EXAMPLE / "corrected", tmp_path / "corrected")
    return tmp_path


@pytest.fixture
def shipped(transactional_db):
    """The shipped instruments, stored again where an earlier test emptied the database
    (a test that commits is followed by every table emptied, the migrations' rows too)."""
    from linkwork.measures.models import Instrument
    from linkwork.measures.services import store_instrument
    from linkwork.measures.shipped import shipped_instruments

    if not Instrument.objects.exists():
        for document, source in shipped_instruments():
            store_instrument(actor=None, document=document, source=source)
