"""The persona walk: every URL declares who may open it, and each persona is checked.

Each app that adds URLs writes `linkwork/<app>/tests/access.py` with
`ACCESS = {"<namespace:url_name>": {"allowed": {roles}, "kwargs": callable(world) or None}}`
and optionally `build(world)` to create what its URLs need. See docs/access.md.
"""

import datetime as dt
import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from linkwork.accounts.models import Role, User
from linkwork.core.upn import make_upn
from linkwork.people.models import Cohort, Consent, Enrolment, Pupil, Purpose
from linkwork.schools.models import Area, School
from linkwork.support.models import Allocation, Partner, Service

# URL names outside the walk: the Django admin (tested in test_admin.py) and allauth's own
# sign-in, password and two-factor pages (tested in test_accounts.py).
SKIPPED_NAMESPACES = {"admin"}
SKIPPED_MODULE_PREFIXES = ("allauth",)


def linkwork_apps():
    return [config for config in apps.get_app_configs() if config.name.startswith("linkwork.")]


def access_modules():
    modules = []
    for config in linkwork_apps():
        name = f"{config.name}.tests.access"
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as error:
            if error.name not in (name, f"{config.name}.tests"):
                raise
    return modules


def declared_access() -> dict:
    """Every app's ACCESS entries merged; a name declared twice is an error."""
    merged = {}
    for module in access_modules():
        for name, entry in getattr(module, "ACCESS", {}).items():
            assert name not in merged, f"{name} is declared twice (again in {module.__name__})"
            merged[name] = entry
    return merged


def walked_patterns(resolvers=None, namespace=""):
    """(url name, owning module) for every pattern to walk, from the root resolver down."""
    found = []
    for item in resolvers if resolvers is not None else get_resolver().url_patterns:
        if isinstance(item, URLResolver):
            module = getattr(item.urlconf_module, "__name__", "")
            if item.namespace in SKIPPED_NAMESPACES or module.startswith(SKIPPED_MODULE_PREFIXES):
                continue
            inner = f"{namespace}{item.namespace}:" if item.namespace else namespace
            found.extend(walked_patterns(item.url_patterns, inner))
        elif isinstance(item, URLPattern):
            callback = item.callback
            module = getattr(callback, "__module__", "") or ""
            if str(item.pattern).startswith(settings.STATIC_URL.lstrip("/")):
                continue
            found.append((f"{namespace}{item.name}" if item.name else None, module, item))
    return found


def owner(module: str) -> str:
    parts = module.split(".")
    return f"linkwork/{parts[1]}" if len(parts) > 1 and parts[0] == "linkwork" else module


def test_every_url_declares_who_may_open_it():
    access = declared_access()
    missing = []
    for name, module, pattern in walked_patterns():
        if name is None:
            missing.append(f"unnamed pattern {pattern.pattern!r}: {owner(module)} must name it")
        elif name not in access:
            missing.append(f"{name}: {owner(module)}/tests/access.py must add an ACCESS entry")
    assert not missing, "URLs nobody declared access for:\n" + "\n".join(missing)


def test_every_access_entry_names_a_url():
    names = {name for name, _, _ in walked_patterns()}
    stale = sorted(set(declared_access()) - names)
    assert not stale, f"ACCESS entries for URLs that do not exist: {stale}"


@pytest.fixture
def world(db):
    return build_world()


def build_world() -> SimpleNamespace:
    """A small zone every app's pages can be walked in; apps add to it with build()."""
    w = SimpleNamespace()
    w.today = dt.date.today()
    w.area = Area.objects.create(name="Walk Borough", la_code="999")
    w.school = School.objects.create(
        urn="900001", name="Walk Primary", phase="primary", area=w.area
    )
    w.other_school = School.objects.create(
        urn="900002", name="Other Walk Primary", phase="primary", area=w.area
    )
    w.partner = Partner.objects.create(code="WALK", name="Walk Arts Trust")
    w.service = Service.objects.create(
        code="WALK-ART",
        partner=w.partner,
        name="Walk art club",
        school=w.school,
        outcome_areas=["wellbeing"],
    )
    w.cohort = Cohort.objects.create(code="WALK-2025", name="Walk cohort 2025")
    w.users = {
        Role.LINK_WORKER: User.objects.create_user(
            "walk-lw@example.org", role=Role.LINK_WORKER, name="Lane Walker"
        ),
        Role.PARTNER: User.objects.create_user(
            "walk-partner@example.org", role=Role.PARTNER, partner=w.partner, name="Parker Walker"
        ),
        Role.SCHOOL_STAFF: User.objects.create_user(
            "walk-school@example.org", role=Role.SCHOOL_STAFF, name="Sol Walker"
        ),
        Role.MANAGER: User.objects.create_user(
            "walk-manager@example.org", role=Role.MANAGER, name="Max Walker"
        ),
        Role.FUNDER: User.objects.create_user(
            "walk-funder@example.org", role=Role.FUNDER, payer_code="LA", name="Fen Walker"
        ),
        Role.ADMIN: User.objects.create_user(
            "walk-admin@example.org",
            role=Role.ADMIN,
            is_staff=True,
            is_superuser=True,
            name="Ash Walker",
        ),
    }
    w.users[Role.LINK_WORKER].schools.set([w.school])
    w.users[Role.SCHOOL_STAFF].schools.set([w.school])
    w.pupil = Pupil.objects.create(
        upn=make_upn("901000000001"),
        school=w.school,
        given_name="Amara",
        family_name="Example",
        year_group="5",
        date_of_birth=dt.date(2015, 3, 1),
    )
    w.other_pupil = Pupil.objects.create(
        upn=make_upn("901000000002"),
        school=w.other_school,
        given_name="Bea",
        family_name="Sample",
        year_group="5",
        date_of_birth=dt.date(2015, 4, 1),
    )
    start = w.today - dt.timedelta(days=60)
    for purpose in Purpose:
        Consent.objects.create(pupil=w.pupil, purpose=purpose, given_by="parent", given_on=start)
    w.enrolment = Enrolment.objects.create(
        pupil=w.pupil, cohort=w.cohort, enrolled_on=start, link_worker=w.users[Role.LINK_WORKER]
    )
    w.allocation = Allocation.objects.create(pupil=w.pupil, service=w.service, start_date=start)
    for module in access_modules():
        if hasattr(module, "build"):
            module.build(w)
    return w


def _login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def test_persona_walk(world, client):
    access = declared_access()
    problems = []
    for name, _, _ in walked_patterns():
        entry = access.get(name)
        if entry is None:
            continue  # reported by test_every_url_declares_who_may_open_it
        kwargs = entry["kwargs"](world) if entry.get("kwargs") else None
        url = reverse(name, kwargs=kwargs)
        client.logout()
        response = client.get(url)
        if not (_login_redirect(response) or response.status_code in (401, 403, 404, 405)):
            problems.append(f"{name} {url} anonymous: {response.status_code}")
        allowed = {Role(role) for role in entry["allowed"]}
        for role, user in world.users.items():
            client.force_login(user)
            try:
                status = client.get(url).status_code
            except Exception as error:  # noqa: BLE001 - a crash is reported like a 500
                status = f"exception {type(error).__name__}: {error}"
            if isinstance(status, str) or status >= 500:
                problems.append(f"{name} {url} as {role}: {status}")
            elif role in allowed and status in (403, 404):
                problems.append(f"{name} {url} as {role}: {status}, but the role is allowed")
            elif role not in allowed and status not in (403, 404):
                problems.append(f"{name} {url} as {role}: {status}, but the role is not allowed")
    assert not problems, "Persona walk failures:\n" + "\n".join(problems)


def test_walk_finds_undeclared_patterns_in_nested_namespaces():
    from django.urls import include, path

    def view(request):
        raise AssertionError("never called")

    view.__module__ = "linkwork.example.views"
    inner = ([path("x/", view, name="declared"), path("y/", view, name="forgotten")], "ex")
    patterns = [path("", include(inner)), path("z/", view)]
    found = [(name, owner(module)) for name, module, _ in walked_patterns(patterns)]
    assert found == [
        ("ex:declared", "linkwork/example"),
        ("ex:forgotten", "linkwork/example"),
        (None, "linkwork/example"),
    ]
