"""Who may open the outcomes report (read by the persona walk)."""

from linkwork.accounts.models import Role

ACCESS = {
    "outcomes:report": {
        "allowed": {Role.MANAGER, Role.ADMIN, Role.FUNDER, Role.SCHOOL_STAFF, Role.LINK_WORKER},
        "kwargs": None,
    },
}
