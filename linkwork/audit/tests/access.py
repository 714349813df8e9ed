"""Who may open the audit app's pages (read by the persona walk)."""

from linkwork.accounts.models import Role

ACCESS = {
    "audit:entry_list": {"allowed": {Role.ADMIN}, "kwargs": None},
}
