"""Who may open the screening app's pages (read by the persona walk)."""

from linkwork.accounts.models import Role

SCREENING = {Role.MANAGER, Role.ADMIN, Role.LINK_WORKER, Role.SCHOOL_STAFF}
REVIEWERS = {Role.MANAGER, Role.LINK_WORKER, Role.SCHOOL_STAFF}
CONSENT = {Role.MANAGER, Role.ADMIN, Role.LINK_WORKER}


def build(world):
    from django.utils import timezone

    from linkwork.people.models import Purpose
    from linkwork.screening.documents import parse_screening_rules
    from linkwork.screening.models import Upload
    from linkwork.screening.services import run_screening, store_screening_rules

    source = (
        "min_risk_areas: 1\nexclude_statutory: [CIN, CP, LAC]\n"
        "areas:\n  economic_disadvantage: {pupil_flag: fsm}\n"
    )
    manager = world.users[Role.MANAGER]
    store_screening_rules(
        actor=manager,
        document=parse_screening_rules(source, filename="screening.yaml"),
        source=source,
    )
    world.screening_round = run_screening(actor=manager, school=world.school, on=world.today)
    world.support_consent = world.pupil.consents.get(purpose=Purpose.SUPPORT)
    world.upload = Upload.objects.create(
        resource="pupils",
        original_name="pupils.csv",
        folder="/nonexistent/walk",
        uploaded_by=manager,
        uploaded_at=timezone.now(),
        status="checked",
        rows=1,
    )


def _round(world):
    return {"pk": world.screening_round.pk}


def _upload(world):
    return {"pk": world.upload.pk}


ACCESS = {
    "screening:round_list": {"allowed": SCREENING, "kwargs": None},
    "screening:run": {"allowed": {Role.MANAGER}, "kwargs": None},  # POST only
    "screening:rules": {"allowed": {Role.MANAGER}, "kwargs": None},
    # the round is of world.school: Link Workers and staff of that school, managers, admins
    "screening:round_detail": {"allowed": SCREENING, "kwargs": _round},
    "screening:review": {"allowed": REVIEWERS, "kwargs": _round},  # POST only
    "screening:round_delete": {"allowed": {Role.MANAGER}, "kwargs": _round},  # POST only
    "screening:consent": {"allowed": CONSENT, "kwargs": lambda world: {"pk": world.pupil.pk}},
    "screening:enrol": {
        "allowed": {Role.MANAGER, Role.LINK_WORKER},
        "kwargs": lambda world: {"pk": world.pupil.pk},
    },
    "screening:withdraw": {  # POST only
        "allowed": CONSENT,
        "kwargs": lambda world: {"pk": world.support_consent.pk},
    },
    "screening:upload": {"allowed": {Role.MANAGER}, "kwargs": None},
    "screening:upload_detail": {"allowed": {Role.MANAGER}, "kwargs": _upload},
    "screening:upload_status": {"allowed": {Role.MANAGER}, "kwargs": _upload},
    "screening:upload_load": {"allowed": {Role.MANAGER}, "kwargs": _upload},  # POST only
}
