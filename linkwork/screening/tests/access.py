"""Who may open the screening app's pages (read by the persona walk)."""

from linkwork.accounts.models import Role

SCREENING = {Role.MANAGER, Role.ADMIN, Role.LINK_WORKER, Role.SCHOOL_STAFF}
REVIEWERS = {Role.MANAGER, Role.LINK_WORKER, Role.SCHOOL_STAFF}
CONSENT = {Role.MANAGER, Role.ADMIN, Role.LINK_WORKER}


def build(world):
    from linkwork.people.models import Purpose
    from linkwork.screening.documents import parse_screening_rules
    from linkwork.screening.services import run_screening, store_screening_rules

    source = "min_risk_areas: 1\nareas:\n  economic_disadvantage: {pupil_flag: fsm}\n"
    manager = world.users[Role.MANAGER]
    store_screening_rules(
        actor=manager, document=parse_screening_rules(source, filename="screening.yaml"),
        source=source,
    )
    world.screening_round = run_screening(actor=manager, school=world.school, on=world.today)
    world.support_consent = world.pupil.consents.get(purpose=Purpose.SUPPORT)


ACCESS = {
    "screening:round_list": {"allowed": SCREENING, "kwargs": None},
    "screening:run": {"allowed": {Role.MANAGER}, "kwargs": None},  # POST only
    "screening:rules": {"allowed": {Role.MANAGER}, "kwargs": None},
    # the round is of world.school: Link Workers and staff of that school, managers, admins
    "screening:round_detail": {
        "allowed": SCREENING, "kwargs": lambda world: {"pk": world.screening_round.pk},
    },
    "screening:review": {  # POST only
        "allowed": REVIEWERS, "kwargs": lambda world: {"pk": world.screening_round.pk},
    },
    "screening:consent": {"allowed": CONSENT, "kwargs": lambda world: {"pk": world.pupil.pk}},
    "screening:enrol": {
        "allowed": {Role.MANAGER, Role.LINK_WORKER}, "kwargs": lambda world: {"pk": world.pupil.pk},
    },
    "screening:withdraw": {  # POST only
        "allowed": CONSENT, "kwargs": lambda world: {"pk": world.support_consent.pk},
    },
}
