"""Loading the worked example's package for the tests.

Uses the packages app's `load_package` when it exists; until then a small loader
for exactly the example's files, upserting by each resource's key as the package
spec says.
"""

from decimal import Decimal
from pathlib import Path

from linkwork.contracts.documents import parse_contract
from linkwork.contracts.services import store_contract

from .example import _date, rows


def load(path: Path, *, actor=None):
    try:
        from linkwork.packages.services import load_package
    except ImportError:
        load_package = None
    if load_package is not None:
        return load_package(actor=actor, path=path)
    return _load_example(path, actor=actor)


def _load_example(path: Path, *, actor=None):
    from linkwork.accounts.models import Role, User
    from linkwork.measures.models import Administration, Score
    from linkwork.people.models import Attainment, Cohort, Consent, Enrolment, Pupil
    from linkwork.schools.models import Area, School
    from linkwork.support.models import Allocation, Partner, RegisterEntry, Service

    def each(name):
        file = path / name
        return rows(file) if file.exists() else []

    for r in each("schools.csv"):
        area, _ = Area.objects.get_or_create(name=r["local_authority"])
        School.objects.update_or_create(
            urn=r["urn"], defaults={"name": r["name"], "phase": r["phase"], "area": area}
        )
    for r in each("pupils.csv"):
        Pupil.objects.update_or_create(
            upn=r["upn"],
            defaults={
                "school": School.objects.get(urn=r["school_urn"]),
                "given_name": r["given_name"],
                "family_name": r["family_name"],
                "date_of_birth": _date(r["date_of_birth"]),
                "year_group": r["year_group"],
                "sex": r["sex"],
                "fsm": r["fsm"] == "Y",
                "sen": r["sen"],
                "eal": r["eal"] == "Y",
                "statutory_status": r["statutory_status"],
            },
        )
    for r in each("partners.csv"):
        Partner.objects.update_or_create(code=r["code"], defaults={"name": r["name"]})
    for r in each("services.csv"):
        Service.objects.update_or_create(
            code=r["code"],
            defaults={
                "partner": Partner.objects.get(code=r["partner_code"]),
                "name": r["name"],
                "school": School.objects.get(urn=r["school_urn"]),
                "outcome_areas": r["outcome_areas"].split(";"),
            },
        )
    for r in each("link_workers.csv"):
        user = User.objects.filter(email=r["email"]).first() or User.objects.create_user(
            r["email"], role=Role.LINK_WORKER, name=r["name"]
        )
        user.schools.set(School.objects.filter(urn__in=r["school_urns"].split(";")))
    pupils = {p.upn: p for p in Pupil.objects.all()}
    for r in each("enrolments.csv"):
        cohort, _ = Cohort.objects.get_or_create(code=r["cohort"])
        Enrolment.objects.update_or_create(
            pupil=pupils[r["upn"]],
            cohort=cohort,
            defaults={
                "enrolled_on": _date(r["enrolled_on"]),
                "ended_on": _date(r["ended_on"]),
                "end_reason": r["end_reason"],
                "link_worker": User.objects.filter(email=r["link_worker_email"]).first(),
            },
        )
    for r in each("consents.csv"):
        Consent.objects.update_or_create(
            pupil=pupils[r["upn"]],
            purpose=r["purpose"],
            given_on=_date(r["given_on"]),
            defaults={"given_by": r["given_by"], "withdrawn_on": _date(r["withdrawn_on"])},
        )
    for r in each("allocations.csv"):
        Allocation.objects.update_or_create(
            pupil=pupils[r["upn"]],
            service=Service.objects.get(code=r["service_code"]),
            start_date=_date(r["start_date"]),
            defaults={"end_date": _date(r["end_date"])},
        )
    services = {s.code: s for s in Service.objects.all()}
    for r in each("registers.csv"):
        RegisterEntry.objects.update_or_create(
            service=services[r["service_code"]],
            session_date=_date(r["session_date"]),
            pupil=pupils[r["upn"]],
            defaults={
                "attended": r["attended"] == "Y",
                "engaged": {"Y": True, "N": False}.get(r["engaged"]),
            },
        )
    for r in each("scores.csv"):
        administration, _ = Administration.objects.get_or_create(
            pupil=pupils[r["upn"]],
            instrument_code=r["instrument"],
            administered_on=_date(r["administered_on"]),
            respondent=r["respondent"],
        )
        Score.objects.update_or_create(
            administration=administration,
            scale=r["scale"],
            defaults={"score": Decimal(r["score"])},
        )
    for r in each("attainment.csv"):
        Attainment.objects.update_or_create(
            pupil=pupils[r["upn"]],
            subject=r["subject"],
            assessed_on=_date(r["assessed_on"]),
            defaults={"value": Decimal(r["value"]), "expected": Decimal(r["expected"])},
        )
    for file in sorted((path / "contracts").glob("*.yaml")) if (path / "contracts").exists() else []:
        source = file.read_text(encoding="utf-8")
        document = parse_contract(source, filename=f"contracts/{file.name}")
        store_contract(actor=actor, document=document, source=source)
