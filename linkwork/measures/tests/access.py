"""Who may open the measures app's pages (read by the persona walk)."""

from linkwork.accounts.models import Role

ACCESS = {
    "measures:instruments": {"allowed": {Role.MANAGER}, "kwargs": None},
}
