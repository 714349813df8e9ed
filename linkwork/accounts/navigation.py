"""Which pages each role's navigation shows."""

from django.urls import NoReverseMatch, reverse

from .models import Role

ALL = set(Role)

# (url name, label, roles that see it[, description for the home page]).
# Later pages add a row here.
NAVIGATION = [
    ("home", "Home", ALL),
    (
        "people:child_list",
        "Children",
        {Role.LINK_WORKER, Role.SCHOOL_STAFF, Role.PARTNER, Role.MANAGER, Role.ADMIN},
        "Find a child by name (staff also by UPN) and open their record.",
    ),
    (
        "support:caseload",
        "Caseload",
        {Role.LINK_WORKER},
        "Your children by who needs attention first: flags, last contact, attendance.",
    ),
    (
        "support:follow_ups",
        "Follow-ups",
        {Role.LINK_WORKER, Role.MANAGER},
        "Follow-ups assigned to you, opened by hand or by a flag.",
    ),
    (
        "support:sessions",
        "Sessions",
        {Role.PARTNER, Role.MANAGER},
        "Today's and this week's sessions, and their registers.",
    ),
    (
        "support:catalogue",
        "Services",
        {Role.LINK_WORKER, Role.PARTNER, Role.MANAGER},
        "Partners' services in each school, with places used.",
    ),
    (
        "engagement:rules",
        "Engagement rules",
        {Role.MANAGER},
        "The rules that flag a child who stops engaging.",
    ),
    (
        "screening:round_list",
        "Screening",
        {Role.MANAGER, Role.ADMIN, Role.LINK_WORKER, Role.SCHOOL_STAFF},
        "Screening rounds and shortlists to review, with the reason for every verdict.",
    ),
    (
        "screening:rules",
        "Screening rules",
        {Role.MANAGER},
        "The rules that decide who is shortlisted, versioned.",
    ),
    (
        "screening:upload",
        "Upload data",
        {Role.MANAGER},
        "Upload school data and survey files (CSV or XLSX): checked, then loaded.",
    ),
    (
        "measures:instruments",
        "Instruments",
        {Role.MANAGER},
        "Questionnaire definitions: scales, scoring, thresholds; load a new version.",
    ),
    (
        "contracts:contract_list",
        "Contracts",
        {Role.MANAGER, Role.ADMIN, Role.FUNDER},
        "Outcomes contracts: rate cards, caps, claims per period and statements per payer.",
    ),
    (
        "outcomes:report",
        "Outcomes",
        {Role.MANAGER, Role.ADMIN, Role.FUNDER, Role.SCHOOL_STAFF, Role.LINK_WORKER},
        "A cohort's outcomes in the four areas, counted, with small numbers suppressed.",
    ),
    (
        "audit:entry_list",
        "Audit trail",
        {Role.ADMIN},
        "Every change and every view of a child's record, searchable.",
    ),
    (
        "people:erasures",
        "Erasures and retention",
        {Role.ADMIN},
        "Children whose data was erased, and who is due under the retention schedule.",
    ),
]


def links_for(user, path: str = "") -> list[dict]:
    """The navigation rows `user`'s role may see; the one `path` is under is current."""
    links = []
    for name, label, roles, *rest in NAVIGATION:
        if user.role not in roles:
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        description = rest[0] if rest else ""
        links.append(
            {"url": url, "label": label, "name": name, "current": False, "description": description}
        )
    # The longest matching URL is the current section ("/" matches only itself).
    matches = [
        link
        for link in links
        if path == link["url"] or (link["url"] != "/" and path.startswith(link["url"]))
    ]
    if matches:
        max(matches, key=lambda link: len(link["url"]))["current"] = True
    return links


# Pages about one child, linked from the child's record: (url name taking the child's
# `pk`, label, roles that may open it). Apps add a row for each such page.
CHILD_PAGES = [
    (
        "support:child",
        "Support plan, interactions and follow-ups",
        {Role.LINK_WORKER, Role.MANAGER, Role.ADMIN},
    ),
    ("screening:consent", "Consent", {Role.LINK_WORKER, Role.MANAGER, Role.ADMIN}),
    ("screening:enrol", "Enrol", {Role.LINK_WORKER, Role.MANAGER}),
    ("contracts:child_achievements", "Achievements and payments", {Role.MANAGER, Role.ADMIN}),
    ("people:subject_access", "Subject access export", {Role.ADMIN}),
    ("people:erase", "Erase this child's data", {Role.ADMIN}),
]


def child_links_for(user, pupil_pk: int) -> list[dict]:
    """The pages about one child that `user`'s role may open, for the child's record."""
    links = []
    for name, label, roles in CHILD_PAGES:
        if user.role not in roles:
            continue
        try:
            links.append({"url": reverse(name, kwargs={"pk": pupil_pk}), "label": label})
        except NoReverseMatch:
            continue
    return links
