"""Reads of children's data, always scoped to the user asking."""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q
from django.shortcuts import get_object_or_404
from django.urls import reverse

from linkwork.accounts.models import Role
from linkwork.schools.models import School

from .models import Cohort, Consent, Enrolment, Pupil

RECENT = 20
RECENT_ADMINISTRATIONS = 10


class Status:
    ENROLLED = "enrolled"
    ENDED = "ended"
    NOT_ENROLLED = "not_enrolled"

    CHOICES = [
        (ENROLLED, "Enrolled"),
        (ENDED, "Enrolment ended"),
        (NOT_ENROLLED, "Not enrolled"),
    ]


def child_for(user, pk: int) -> Pupil:
    """The pupil with this id if `user` may see them, else 404."""
    return get_object_or_404(
        Pupil.objects.visible_to(user).select_related("school", "school__area"), pk=pk
    )


def sees_children(user) -> bool:
    """Funders never see person-level pages; every other role sees some children."""
    return user.is_authenticated and user.role != Role.FUNDER


def sees_details(user) -> bool:
    """Partner staff see only name, year group and school; everyone else who can see a
    child at all sees their record."""
    return user.role != Role.PARTNER


def sees_history(user) -> bool:
    """The audit history of a child: managers, administrators and Link Workers."""
    return user.role in (Role.MANAGER, Role.ADMIN, Role.LINK_WORKER)


def sees_interactions(user) -> bool:
    """Interaction notes are the Link Worker's: not for school or partner staff."""
    return user.role in (Role.MANAGER, Role.ADMIN, Role.LINK_WORKER)


def sees_achievements(user) -> bool:
    """A child's achievements and payments under the contracts: managers and administrators."""
    return user.role in (Role.MANAGER, Role.ADMIN)


def _active_enrolments(today):
    return Enrolment.objects.filter(
        Q(ended_on__isnull=True) | Q(ended_on__gte=today), enrolled_on__lte=today
    )


def search_children(user, *, today, q="", school=None, cohort=None, status=""):
    """The children `user` may see, matching a search and filters, in name order.

    `q` matches every word against given name, family name or (not for partner staff)
    the start of the UPN. Filters other than school are ignored for partner staff.
    """
    pupils = Pupil.objects.visible_to(user).select_related("school")
    for word in q.split():
        match = Q(given_name__icontains=word) | Q(family_name__icontains=word)
        if sees_details(user):
            match |= Q(upn__istartswith=word)
        pupils = pupils.filter(match)
    if school:
        pupils = pupils.filter(school_id=school)
    if sees_details(user):
        if cohort:
            pupils = pupils.filter(
                pk__in=Enrolment.objects.filter(cohort_id=cohort).values("pupil_id")
            )
        active = _active_enrolments(today).values("pupil_id")
        ever = Enrolment.objects.values("pupil_id")
        if status == Status.ENROLLED:
            pupils = pupils.filter(pk__in=active)
        elif status == Status.ENDED:
            pupils = pupils.filter(pk__in=ever).exclude(pk__in=active)
        elif status == Status.NOT_ENROLLED:
            pupils = pupils.exclude(pk__in=ever)
        pupils = pupils.prefetch_related(
            Prefetch(
                "enrolments",
                queryset=Enrolment.objects.select_related("cohort", "link_worker").order_by(
                    "-enrolled_on"
                ),
            )
        )
    return pupils


@dataclass(frozen=True)
class ChildRow:
    pupil: Pupil
    status: str
    status_label: str
    cohort: Cohort | None
    link_worker: object | None


def enrolment_status(enrolments, today) -> tuple[str, Enrolment | None]:
    """Enrolled (with the active enrolment), ended (with the latest) or not enrolled."""
    for enrolment in enrolments:
        if enrolment.active_on(today):
            return Status.ENROLLED, enrolment
    if enrolments:
        return Status.ENDED, max(enrolments, key=lambda e: e.enrolled_on)
    return Status.NOT_ENROLLED, None


def child_rows(pupils, today) -> list[ChildRow]:
    """One row per listed child with their enrolment status, from prefetched enrolments."""
    labels = dict(Status.CHOICES)
    rows = []
    for pupil in pupils:
        status, enrolment = enrolment_status(list(pupil.enrolments.all()), today)
        rows.append(
            ChildRow(
                pupil=pupil,
                status=status,
                status_label=labels[status],
                cohort=enrolment.cohort if enrolment else None,
                link_worker=enrolment.link_worker if enrolment else None,
            )
        )
    return rows


def filter_choices(user):
    """The schools and cohorts a user may filter the child list by."""
    if user.role in (Role.MANAGER, Role.ADMIN):
        schools = School.objects.all()
    elif user.role == Role.PARTNER:
        schools = School.objects.filter(services__partner_id=user.partner_id).distinct()
    else:
        schools = user.schools.all()
    cohorts = Cohort.objects.all() if sees_details(user) else Cohort.objects.none()
    return list(schools), list(cohorts)


def child_profile(user, pupil: Pupil, *, today) -> dict:
    """What `user` may see of one child, section by section; None for a hidden section.

    Partner staff get only their own service's allocations and registers.
    """
    from linkwork.measures.models import Administration, Score
    from linkwork.outcomes.queries import outcomes_for_child
    from linkwork.support.models import Allocation, Interaction, RegisterEntry, Session

    allocations = Allocation.objects.filter(pupil=pupil).select_related(
        "service", "service__partner", "service__school"
    )
    cancelled = Session.objects.filter(
        service=OuterRef("service"), date=OuterRef("session_date"), cancelled=True
    )
    registers = (
        RegisterEntry.objects.filter(pupil=pupil)
        .select_related("service")
        .annotate(cancelled=Exists(cancelled))
    )
    if user.role == Role.PARTNER:
        allocations = allocations.filter(service__partner_id=user.partner_id)
        registers = registers.filter(service__partner_id=user.partner_id)
    profile = {
        "allocations": list(allocations.order_by("-start_date")),
        "registers": list(registers.order_by("-session_date", "service__name")[:RECENT]),
        "consents": None,
        "enrolments": None,
        "family_contacts": None,
        "interactions": None,
        "administrations": None,
        "outcomes": None,
        "achievements_url": None,
        "history": None,
    }
    if not sees_details(user):
        return profile
    profile["consents"] = [
        {"consent": c, "in_force": c.in_force_on(today)}
        for c in Consent.objects.filter(pupil=pupil).order_by("purpose", "-given_on")
    ]
    enrolments = list(
        Enrolment.objects.filter(pupil=pupil)
        .select_related("cohort", "link_worker")
        .order_by("-enrolled_on")
    )
    profile["enrolments"] = [{"enrolment": e, "active": e.active_on(today)} for e in enrolments]
    profile["family_contacts"] = list(pupil.family_contacts.all())
    profile["administrations"] = list(
        Administration.objects.filter(pupil=pupil)
        .order_by("-administered_on", "instrument_code")
        .prefetch_related(Prefetch("scores", queryset=Score.objects.order_by("scale")))[
            :RECENT_ADMINISTRATIONS
        ]
    )
    # Outcomes are made of scores: shown to whoever may see the scores.
    profile["outcomes"] = outcomes_for_child(pupil, enrolments, today=today)
    if sees_achievements(user):
        profile["achievements_url"] = reverse(
            "contracts:child_achievements", kwargs={"pk": pupil.pk}
        )
    if sees_interactions(user):
        profile["interactions"] = list(
            Interaction.objects.filter(pupil=pupil)
            .select_related("recorded_by")
            .order_by("-occurred_on", "-pk")[:RECENT]
        )
    if sees_history(user):
        # Every view of the record is an entry too: the changes are listed apart, so a
        # week of views does not push them out of sight, and the views are counted, with
        # the latest few (the count is taken with them, in one query).
        from django.db.models import Count, Window

        from linkwork.audit.models import AuditEntry

        entries = AuditEntry.objects.filter(pupil=pupil).select_related("actor")
        views = list(entries.filter(action="child.viewed").annotate(total=Window(Count("pk")))[:5])
        profile["history"] = {
            "changes": list(entries.exclude(action="child.viewed")[:RECENT]),
            "views": views,
            "view_count": views[0].total if views else 0,
        }
    return profile
