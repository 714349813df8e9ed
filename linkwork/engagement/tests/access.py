"""Who may open the engagement app's pages (read by the persona walk)."""

from linkwork.accounts.models import Role

ACCESS = {
    "engagement:rules": {"allowed": {Role.MANAGER, Role.ADMIN}, "kwargs": None},
}
