"""Who may open the accounts app's pages (read by the persona walk)."""

from linkwork.accounts.models import Role

ACCESS = {
    "home": {"allowed": set(Role), "kwargs": None},
}
