"""The demonstration zone: one login per role over a generated zone (see docs/demo.md)."""

import secrets
import string
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from linkwork.accounts.models import Role, User
from linkwork.audit.services import record
from linkwork.contracts.models import Contract
from linkwork.support.models import Partner

DEMO_CONTRACT = "ZONE-1"


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str
    scope: str


def _new_password() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16))


def _login(email: str, role: str, *, name: str, scope: str, **fields) -> tuple[User, DemoLogin]:
    password = _new_password()
    user = User.objects.filter(email=email).first() or User(email=email)
    user.name = name
    user.role = role
    user.is_active = True
    for field, value in fields.items():
        setattr(user, field, value)
    user.set_password(password)
    user.save()
    return user, DemoLogin(role=role, email=email, password=password, scope=scope)


@transaction.atomic
def reset_demo_logins(*, actor) -> list[DemoLogin]:
    """Give each role one demo login with a new random password; return them to print.

    The Link Worker is the generated one with the most children enrolled today; school
    staff are scoped to that Link Worker's first school, partner staff to the partner with
    most allocations there today, the funder to the first payer of the demo contract.
    """
    today = timezone.localdate()
    active = Q(caseload__ended_on__isnull=True) | Q(caseload__ended_on__gte=today)
    worker = (
        User.objects.filter(role=Role.LINK_WORKER, email__endswith="@example.org")
        .annotate(children=Count("caseload", filter=active))
        .order_by("-children", "email")
        .first()
    )
    if worker is None:
        raise ValueError("the demo zone has no Link Workers: load it first")
    school = worker.schools.order_by("urn").first()
    allocated_today = Q(services__school=school, services__allocations__start_date__lte=today) & (
        Q(services__allocations__end_date__isnull=True)
        | Q(services__allocations__end_date__gte=today)
    )
    partner = (
        Partner.objects.filter(services__school=school)
        .annotate(children=Count("services__allocations", filter=allocated_today))
        .order_by("-children", "code")
        .first()
    )
    contract = Contract.objects.filter(code=DEMO_CONTRACT).order_by("-version").first()
    payer = contract.document["payers"][0] if contract else {"code": "LA", "name": "LA"}

    logins = []
    _, login = _login(
        "manager@example.org", Role.MANAGER, name="Demo Manager", scope="the whole zone"
    )
    logins.append(login)
    _, login = _login(
        "admin@example.org",
        Role.ADMIN,
        name="Demo Administrator",
        scope="the whole zone; also the Django admin",
        is_staff=True,
        is_superuser=True,
    )
    logins.append(login)
    password = _new_password()
    worker.set_password(password)
    worker.save(update_fields=["password"])
    schools = ", ".join(s.name for s in worker.schools.order_by("urn"))
    logins.append(DemoLogin(Role.LINK_WORKER, worker.email, password, schools))
    staff, login = _login(
        "school.staff@example.org", Role.SCHOOL_STAFF, name="Demo School Staff", scope=school.name
    )
    staff.schools.set([school])
    logins.append(login)
    _, login = _login(
        "partner.staff@example.org",
        Role.PARTNER,
        name="Demo Partner Staff",
        scope=partner.name if partner else "",
        partner=partner,
    )
    logins.append(login)
    _, login = _login(
        "funder@example.org",
        Role.FUNDER,
        name="Demo Funder",
        scope=f"payer {payer['code']} ({payer['name']})",
        payer_code=payer["code"],
    )
    logins.append(login)
    record(
        actor=actor,
        action="demo.logins_reset",
        summary="New passwords for the demo logins",
        changes={"emails": [login.email for login in logins]},
    )
    return logins
