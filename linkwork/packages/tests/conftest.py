import shutil
from pathlib import Path

import pytest

from linkwork.accounts.models import User
from linkwork.contracts.tests.example import EXAMPLE  # the spec's worked example, copied
from linkwork.measures.models import Administration, Response, Score
from linkwork.people.models import (
    Attainment,
    Cohort,
    Consent,
    Enrolment,
    Pupil,
    SchoolAttendance,
)
from linkwork.schools.models import Area, School
from linkwork.support.models import Allocation, Interaction, Partner, RegisterEntry, Service

# Every table a package load writes, children first (the order rows can be deleted in).
LOADED_MODELS = (
    RegisterEntry,
    Response,
    Score,
    Administration,
    Interaction,
    Allocation,
    Consent,
    Enrolment,
    Cohort,
    SchoolAttendance,
    Attainment,
    Pupil,
    Service,
    Partner,
    School,
    Area,
)


def row_counts() -> dict[str, int]:
    counts = {model.__name__: model.objects.count() for model in LOADED_MODELS}
    counts["User"] = User.objects.count()
    return counts


def wipe_loaded_rows() -> None:
    """Empty every table a load writes, as a fresh database would have them."""
    for model in LOADED_MODELS:
        model.objects.all().delete()
    User.objects.filter(role="link_worker").delete()


@pytest.fixture
def example_package(tmp_path) -> Path:
    """A copy of the worked example package in a temporary folder."""
    target = tmp_path / "package"
    shutil.copytree(EXAMPLE / "package", target)
    return target


@pytest.fixture
def corrected_registers() -> Path:
    return EXAMPLE / "corrected" / "registers.csv"
