"""Which pages each role's navigation shows."""

from django.urls import NoReverseMatch, reverse

from .models import Role

ALL = set(Role)

# (url name, label, roles that see it). Later pages add a row here.
NAVIGATION = [
    ("home", "Home", ALL),
    ("people:child_list", "Children", {Role.LINK_WORKER, Role.SCHOOL_STAFF, Role.PARTNER,
                                       Role.MANAGER, Role.ADMIN}),
]


def links_for(user) -> list[dict]:
    links = []
    for name, label, roles in NAVIGATION:
        if user.role not in roles:
            continue
        try:
            links.append({"url": reverse(name), "label": label, "name": name})
        except NoReverseMatch:
            continue
    return links
