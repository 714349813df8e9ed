"""Who may open the people app's pages (read by the persona walk)."""

from linkwork.accounts.models import Role

ACCESS = {
    "people:child_list": {
        "allowed": {Role.LINK_WORKER, Role.PARTNER, Role.SCHOOL_STAFF, Role.MANAGER, Role.ADMIN},
        "kwargs": None,
    },
    # world.pupil is in world.school, allocated to world.partner's service with consent.
    "people:child_detail": {
        "allowed": {Role.LINK_WORKER, Role.PARTNER, Role.SCHOOL_STAFF, Role.MANAGER, Role.ADMIN},
        "kwargs": lambda world: {"pk": world.pupil.pk},
    },
    "people:subject_access": {
        "allowed": {Role.ADMIN},
        "kwargs": lambda world: {"pk": world.pupil.pk},
    },
    "people:erase": {
        "allowed": {Role.ADMIN},
        "kwargs": lambda world: {"pk": world.pupil.pk},
    },
    "people:erasures": {"allowed": {Role.ADMIN}, "kwargs": None},
}
