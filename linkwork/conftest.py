"""Shared test fixtures: a small cast of personas and a few factories.

Personas (healthchecks-style): `manager`, `admin_user`, `link_worker` (Riverside
school), `other_link_worker` (Hillside school), `school_staff` (Riverside),
`partner_user` (Arts partner), `funder` (payer LA).
"""

import datetime as dt
import itertools
from pathlib import Path

import pytest

from linkwork.accounts.models import Role, User
from linkwork.core.upn import make_upn
from linkwork.people.models import Cohort, Consent, Enrolment, Pupil
from linkwork.schools.models import Area, School
from linkwork.support.models import Allocation, Partner, Service

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def _static_root(tmp_path_factory):
    from django.conf import settings

    # The live server's handler is built before per-test settings apply.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    return tmp_path_factory.mktemp("static")


@pytest.fixture(autouse=True)
def _plain_static_storage(settings, _static_root):
    # The manifest storage needs collectstatic; tests render templates without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.STATIC_ROOT = _static_root  # whitenoise warns about a missing folder
    # A deliberately slow password hash only slows the tests down.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def _flush_past_append_only_triggers():
    # Transactional tests empty the database with DELETE on SQLite, which the append-only
    # triggers refuse (audit entries, submitted claims and what they claimed); the test
    # flush alone lifts the triggers of the tables it empties and puts them back as stored.
    from django.db import connection

    if connection.vendor != "sqlite":
        yield
        return
    DatabaseOperations = type(connection.ops)
    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, **kwargs):
        statements = original(self, style, tables, **kwargs)
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
            triggers = [(name, sql) for name, table, sql in cursor.fetchall() if table in tables]
        drop = [f'DROP TRIGGER "{name}"' for name, _ in triggers]
        return [*drop, *statements, *(sql for _, sql in triggers)]

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original


@pytest.fixture
def area(db):
    return Area.objects.create(name="Hammersmith and Fulham")


@pytest.fixture
def school(area):
    return School.objects.create(urn="100001", name="Riverside Primary", phase="primary", area=area)


@pytest.fixture
def other_school(area):
    return School.objects.create(urn="100002", name="Hillside Primary", phase="primary", area=area)


@pytest.fixture
def make_pupil(school):
    def make(**fields):
        n = next(_counter)
        fields.setdefault("school", school)
        fields.setdefault("upn", make_upn(f"2013000{n:05d}"))
        fields.setdefault("given_name", f"Test{n}")
        fields.setdefault("family_name", "Example")
        fields.setdefault("year_group", "4")
        fields.setdefault("date_of_birth", dt.date(2015, 1, 1))
        return Pupil.objects.create(**fields)

    return make


@pytest.fixture
def partner(db):
    return Partner.objects.create(code="ARTS", name="Riverside Arts Trust")


@pytest.fixture
def service(partner, school):
    return Service.objects.create(
        code="ARTS-MON",
        partner=partner,
        name="Monday art club",
        school=school,
        outcome_areas=["wellbeing"],
    )


@pytest.fixture
def make_user(db):
    def make(role, email=None, schools=(), **fields):
        user = User.objects.create_user(
            email or f"{role}{next(_counter)}@example.org",
            "demo-password-only",
            role=role,
            **fields,
        )
        if schools:
            user.schools.set(schools)
        return user

    return make


@pytest.fixture
def manager(make_user):
    return make_user(Role.MANAGER, "manager@example.org", name="Morgan Manager")


@pytest.fixture
def admin_user(make_user):
    return make_user(
        Role.ADMIN, "admin@example.org", name="Ada Admin", is_staff=True, is_superuser=True
    )


@pytest.fixture
def link_worker(make_user, school):
    return make_user(Role.LINK_WORKER, "lw@example.org", schools=[school], name="Lee Worker")


@pytest.fixture
def other_link_worker(make_user, other_school):
    return make_user(Role.LINK_WORKER, "lw2@example.org", schools=[other_school], name="Kim Worker")


@pytest.fixture
def school_staff(make_user, school):
    return make_user(Role.SCHOOL_STAFF, "teacher@example.org", schools=[school], name="Sam Staff")


@pytest.fixture
def partner_user(make_user, partner):
    return make_user(Role.PARTNER, "partner@example.org", partner=partner, name="Pat Partner")


@pytest.fixture
def funder(make_user):
    return make_user(Role.FUNDER, "funder@example.org", payer_code="LA", name="Fran Funder")


@pytest.fixture
def allocate(service):
    """Allocate a pupil to the arts service today, with partner-sharing consent."""

    def allocate(pupil, *, on=None, consent=True):
        on = on or dt.date.today()
        if consent:
            Consent.objects.create(
                pupil=pupil, purpose="partner_sharing", given_by="parent", given_on=on
            )
        return Allocation.objects.create(pupil=pupil, service=service, start_date=on)

    return allocate


@pytest.fixture
def cohort(db):
    return Cohort.objects.create(code="2025", name="Started 2025")


@pytest.fixture
def enrol(cohort, link_worker):
    """Enrol a pupil with the Link Worker (support and sharing consents given)."""

    def enrol(pupil, *, on=dt.date(2025, 9, 8), worker=None, sharing=True):
        Consent.objects.create(pupil=pupil, purpose="support", given_by="parent", given_on=on)
        if sharing:
            Consent.objects.create(
                pupil=pupil, purpose="partner_sharing", given_by="parent", given_on=on
            )
        return Enrolment.objects.create(
            pupil=pupil, cohort=cohort, enrolled_on=on, link_worker=worker or link_worker
        )

    return enrol
