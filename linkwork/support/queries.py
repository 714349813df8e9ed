"""Reusable reads for support: scoped services, registers, caseloads, plan prefill."""

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, F, Max, Q
from django.shortcuts import get_object_or_404

from linkwork.accounts.models import Role
from linkwork.people.models import Consent, Enrolment, Pupil, Purpose

from .models import (
    Allocation,
    FollowUp,
    Interaction,
    OutcomeArea,
    RegisterEntry,
    Service,
    Session,
    SupportPlan,
)

ABSENT, ATTENDED, ENGAGED = "absent", "attended", "engaged"
# One tap marks attended, a second engaged, a third takes the mark back to absent.
NEXT_STATE = {"": ATTENDED, ABSENT: ATTENDED, ATTENDED: ENGAGED, ENGAGED: ABSENT}


def state_of(entry) -> str:
    """A register entry as one word: '' (not marked), absent, attended or engaged."""
    if entry is None:
        return ""
    if not entry.attended:
        return ABSENT
    return ENGAGED if entry.engaged else ATTENDED


def services_for(user):
    """The services this user may take registers for or see in the catalogue."""
    qs = Service.objects.select_related("partner", "school")
    if not user.is_authenticated:
        return qs.none()
    if user.role in (Role.MANAGER, Role.ADMIN):
        return qs
    if user.role == Role.PARTNER and user.partner_id:
        return qs.filter(partner_id=user.partner_id)
    if user.role == Role.LINK_WORKER:
        return qs.filter(school__in=user.schools.all())
    return qs.none()


def register_services_for(user):
    """Services whose registers this user may take: partner staff and managers only."""
    if user.is_authenticated and user.role in (Role.PARTNER, Role.MANAGER, Role.ADMIN):
        return services_for(user)
    return Service.objects.none()


def service_for(user, pk: int, *, register: bool = False) -> Service:
    qs = register_services_for(user) if register else services_for(user)
    return get_object_or_404(qs, pk=pk)


def allocated_pupils(service, on: dt.date):
    """The children on a service's register for a date: allocated that day, with a
    partner-sharing consent in force. Computed at request time, so late changes show."""
    sharing = Consent.objects.in_force(on).filter(purpose=Purpose.PARTNER_SHARING)
    allocated = Allocation.objects.active_on(on).filter(service=service)
    return (
        Pupil.objects.filter(pk__in=allocated.values("pupil_id"))
        .filter(pk__in=sharing.values("pupil_id"))
        .select_related("school")
        .order_by("given_name", "family_name", "pk")
    )


STATE_LABELS = {
    "": "Not marked",
    ABSENT: "Absent",
    ATTENDED: "Attended",
    ENGAGED: "Attended and engaged",
}


@dataclass(frozen=True)
class RegisterRow:
    pupil: Pupil
    state: str

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def next_label(self) -> str:
        return STATE_LABELS[NEXT_STATE[self.state]].lower()


def register_rows(service, on: dt.date) -> list[RegisterRow]:
    """One row per child allocated on the date, with their current mark."""
    pupils = list(allocated_pupils(service, on))
    entries = {
        e.pupil_id: e
        for e in RegisterEntry.objects.filter(
            service=service, session_date=on, pupil_id__in=[p.pk for p in pupils]
        ).order_by()
    }
    return [RegisterRow(pupil=p, state=state_of(entries.get(p.pk))) for p in pupils]


def session_dates(service, start: dt.date, end: dt.date) -> list[dt.date]:
    """The days from `start` to `end` a service meets: its regular day each week, and
    any other day whose register was taken (a session that moved), less the sessions
    recorded as cancelled."""
    days = set()
    if service.weekday is not None:
        day = start + dt.timedelta(days=(service.weekday - start.weekday()) % 7)
        while day <= end:
            days.add(day)
            day += dt.timedelta(weeks=1)
    days.update(
        RegisterEntry.objects.filter(service=service, session_date__range=(start, end))
        .values_list("session_date", flat=True)
        .distinct()
    )
    days.difference_update(
        Session.objects.filter(
            service=service, date__range=(start, end), cancelled=True
        ).values_list("date", flat=True)
    )
    return sorted(days)


def session_on(service, on: dt.date):
    return Session.objects.filter(service=service, date=on).first()


@dataclass(frozen=True)
class SessionDay:
    service: Service
    date: dt.date
    cancelled: bool
    marked: int
    today: bool


def sessions_this_week(user, today: dt.date) -> list[SessionDay]:
    """The user's sessions this week (Monday to Sunday), from each service's weekday."""
    monday = today - dt.timedelta(days=today.weekday())
    services = list(register_services_for(user).filter(weekday__isnull=False))
    dates = {s.pk: monday + dt.timedelta(days=s.weekday) for s in services}
    cancelled = set(
        Session.objects.filter(
            service__in=services,
            date__gte=monday,
            date__lte=monday + dt.timedelta(days=6),
            cancelled=True,
        ).values_list("service_id", "date")
    )
    # Marks on each service's own day: a register taken for another day this week (a
    # session that moved) is not this one's.
    marked = {
        (service_id, day): n
        for service_id, day, n in RegisterEntry.objects.filter(
            service__in=services,
            session_date__gte=monday,
            session_date__lte=monday + dt.timedelta(days=6),
        )
        .order_by()
        .values("service_id", "session_date")
        .annotate(n=Count("pk"))
        .values_list("service_id", "session_date", "n")
    }
    days = [
        SessionDay(
            service=s,
            date=dates[s.pk],
            cancelled=(s.pk, dates[s.pk]) in cancelled,
            marked=marked.get((s.pk, dates[s.pk]), 0),
            today=dates[s.pk] == today,
        )
        for s in services
    ]
    return sorted(days, key=lambda d: (not d.today, d.date, d.service.starts_at or dt.time(0)))


def places_used(services, on: dt.date) -> dict[int, int]:
    """Active allocations per service on a date."""
    return dict(
        Allocation.objects.active_on(on)
        .filter(service__in=services)
        .order_by()
        .values("service_id")
        .annotate(n=Count("pk"))
        .values_list("service_id", "n")
    )


def caseload_enrolments(user, today: dt.date):
    """The Link Worker's active enrolments, children they may see only."""
    visible = Pupil.objects.visible_to(user)
    return (
        Enrolment.objects.filter(link_worker=user, enrolled_on__lte=today, pupil__in=visible)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=today))
        .select_related("pupil", "pupil__school", "pupil__support_plan")
    )


def recent_attendance(pupil_ids, *, since: dt.date, until: dt.date) -> dict[int, tuple[int, int]]:
    """(attended, marked) per child over a period, cancelled sessions left out."""
    from django.db.models import Exists, OuterRef

    cancelled = Session.objects.filter(
        service_id=OuterRef("service_id"), date=OuterRef("session_date"), cancelled=True
    )
    rows = (
        RegisterEntry.objects.filter(
            pupil_id__in=pupil_ids, session_date__gte=since, session_date__lte=until
        )
        .exclude(Exists(cancelled))
        .order_by()
        .values("pupil_id")
        .annotate(attended=Count("pk", filter=Q(attended=True)), marked=Count("pk"))
        .values_list("pupil_id", "attended", "marked")
    )
    return {pid: (a, m) for pid, a, m in rows}


def last_contacts(pupil_ids) -> dict[int, dt.date]:
    return dict(
        Interaction.objects.filter(pupil_id__in=pupil_ids)
        .order_by()
        .values("pupil_id")
        .annotate(last=Max("occurred_on"))
        .values_list("pupil_id", "last")
    )


def open_follow_up_counts(pupil_ids, today: dt.date) -> dict[int, tuple[int, int]]:
    """(open, overdue: due before today) follow-ups per child, in one query."""
    rows = (
        FollowUp.objects.filter(pupil_id__in=pupil_ids, completed_at__isnull=True)
        .order_by()
        .values("pupil_id")
        .annotate(n=Count("pk"), overdue=Count("pk", filter=Q(due_on__lt=today)))
        .values_list("pupil_id", "n", "overdue")
    )
    return {pid: (n, overdue) for pid, n, overdue in rows}


def prefill_needs(pupil) -> dict:
    """Needs and strengths per outcome area, prefilled from what the school data shows.

    Uses the child's latest screening risk profile when there is one (areas at risk are
    needs, the others strengths); otherwise the latest value of each measure the outcome
    areas count (school attendance, attainment against expected, the scales of the
    instruments), judged by the screening rules' thresholds for the child's phase: at
    risk is a need, not at risk a strength. A measure with no threshold says nothing
    either way and is left out.
    """
    from linkwork.outcomes.progress import at_risk

    from_screening = _needs_from_screening(pupil)
    if from_screening is not None:
        return from_screening
    out = {area: {"needs": [], "strengths": []} for area in OutcomeArea.values}
    for label, observation, rule, area, kind in _latest_measures(pupil):
        verdict = at_risk(rule, observation)
        if verdict is None:
            continue
        line = f"{label}: {_observed(kind, observation)} ({observation.date:%-d %b %Y})"
        out[area]["needs" if verdict else "strengths"].append(line)
    return {
        area: {"needs": "\n".join(parts["needs"]), "strengths": "\n".join(parts["strengths"])}
        for area, parts in out.items()
    }


def _latest_measures(pupil):
    """(label, latest observation, rule, area, kind) of each outcome measure the child has
    data for: three queries (scores, attainment, school attendance) and the rules."""
    from linkwork.outcomes.areas import measure_observations
    from linkwork.outcomes.queries import child_measure_rows, rules_for_child

    _, rules = rules_for_child(pupil)
    scores, attainment, attendance = child_measure_rows(pupil, rules)
    for mr in rules:
        observations = measure_observations(mr, scores, attainment, attendance)
        if observations:
            latest = max(observations, key=lambda o: o.date)
            yield mr.measure.label, latest, mr.rule, mr.measure.area, mr.measure.kind


def _percent_of(part: int, whole: int) -> int:
    """part / whole as a whole percentage, halves rounded up (2 of 3 is 67%)."""
    return (part * 200 + whole) // (2 * whole)


def _observed(kind: str, observation) -> str:
    from linkwork.outcomes.areas import text

    if kind == "attendance":
        rate = (observation.value * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        return f"{text(rate)}%"
    if kind == "attainment":
        return f"{text(observation.value)} against expected {text(observation.expected)}"
    return text(observation.value)


@dataclass(frozen=True)
class CaseloadRow:
    pupil: Pupil
    status: str
    reasons: list
    last_contact: dt.date | None
    days_since_contact: int | None
    attended: int
    marked: int
    attendance_percent: int | None
    next_review_due: dt.date | None
    open_follow_ups: int
    overdue_follow_ups: int = 0


def caseload_rows(enrolments, today: dt.date) -> list[CaseloadRow]:
    """The caseload dashboard: a fixed handful of queries whatever the caseload's size,
    sorted so the child who most needs attention comes first."""
    from linkwork.engagement.queries import open_flags_for
    from linkwork.engagement.rules import severity, status_of

    enrolments = list(enrolments)
    ids = [e.pupil_id for e in enrolments]
    flags = open_flags_for(ids)
    contacts = last_contacts(ids)
    attendance = recent_attendance(ids, since=today - dt.timedelta(days=27), until=today)
    follow_ups = open_follow_up_counts(ids, today)
    rows = []
    for enrolment in enrolments:
        pupil = enrolment.pupil
        pid = pupil.pk
        plan = getattr(pupil, "support_plan", None) if _has_plan(pupil) else None
        attended, marked = attendance.get(pid, (0, 0))
        last = contacts.get(pid)
        child_flags = flags.get(pid, [])
        rows.append(
            CaseloadRow(
                pupil=pupil,
                status=status_of(f.level for f in child_flags),
                reasons=[f.reason for f in child_flags],
                last_contact=last,
                days_since_contact=(today - last).days if last else None,
                attended=attended,
                marked=marked,
                attendance_percent=_percent_of(attended, marked) if marked else None,
                next_review_due=plan.next_review_due if plan else None,
                open_follow_ups=follow_ups.get(pid, (0, 0))[0],
                overdue_follow_ups=follow_ups.get(pid, (0, 0))[1],
            )
        )
    far_past = dt.date.min
    rows.sort(
        key=lambda r: (
            -severity(r.status),
            -len(r.reasons),
            -r.overdue_follow_ups,
            -r.open_follow_ups,
            r.last_contact or far_past,
            r.pupil.family_name,
            r.pupil.given_name,
        )
    )
    return rows


def _has_plan(pupil) -> bool:
    try:
        pupil.support_plan  # noqa: B018 - loaded by select_related, no query
    except SupportPlan.DoesNotExist:
        return False
    return True


def child_support_context(user, pupil, today: dt.date) -> dict:
    """Everything the child's support page shows."""
    from django.db.models import Prefetch

    from linkwork.engagement.models import Flag
    from linkwork.engagement.rules import status_of

    from .models import Goal, GoalNote

    plan = (
        SupportPlan.objects.filter(pupil=pupil)
        .prefetch_related(
            Prefetch(
                "goals",
                queryset=Goal.objects.prefetch_related(
                    Prefetch("notes", queryset=GoalNote.objects.order_by("written_on", "pk"))
                ),
            )
        )
        .first()
    )
    flags = list(Flag.objects.filter(pupil=pupil).order_by("-raised_at")[:30])
    open_flags = [f for f in flags if f.cleared_at is None]
    allocations = (
        Allocation.objects.filter(pupil=pupil)
        .select_related("service", "service__partner")
        .order_by("-start_date")
    )
    attendance = recent_attendance([pupil.pk], since=today - dt.timedelta(days=27), until=today)
    return {
        "pupil": pupil,
        "plan": plan,
        "status": status_of(f.level for f in open_flags),
        "open_flags": open_flags,
        "flag_history": [f for f in flags if f.cleared_at is not None],
        "interactions": Interaction.objects.filter(pupil=pupil).select_related("recorded_by")[:10],
        "follow_ups": FollowUp.objects.filter(pupil=pupil, completed_at__isnull=True)
        .select_related("assigned_to")
        .order_by(F("due_on").asc(nulls_last=True), "opened_at"),
        "allocations": [{"allocation": a, "active": a.active_on(today)} for a in allocations],
        "attendance": attendance.get(pupil.pk, (0, 0)),
        "today": today,
        "review_overdue": bool(plan and plan.next_review_due and plan.next_review_due < today),
    }


def outcome_area_of(risk_area: str) -> str:
    """The outcome area a screening risk area speaks to (risk areas are configuration)."""
    name = risk_area.lower()
    if "wellbeing" in name or "emotional" in name:
        return "wellbeing"
    if "relationship" in name or "peer" in name:
        return "relationships"
    if "confidence" in name or "aspiration" in name:
        return "confidence"
    return "school"


def _needs_from_screening(pupil) -> dict | None:
    from linkwork.screening.explanations import explain_in_words
    from linkwork.screening.models import RiskProfile
    from linkwork.screening.rules import Rules

    profile = (
        RiskProfile.objects.filter(pupil=pupil)
        .order_by("-round__on", "-round_id")
        .select_related("round__rules")
        .first()
    )
    if profile is None or not profile.explanation:
        return None
    try:
        areas = Rules.from_document(profile.round.rules.document).areas
    except Exception:  # noqa: BLE001 - rules too old to read: the values are shown as stored
        areas = ()
    rules = {rule.name: rule for rule in areas}
    out = {area: {"needs": [], "strengths": []} for area in OutcomeArea.values}
    words = explain_in_words(dict(sorted(profile.explanation.items())), rules)
    for risk_area, seen in zip(sorted(profile.explanation), words, strict=True):
        rule = rules.get(risk_area)
        if not seen.at_risk and rule is not None and rule.kind == "pupil_flag":
            continue  # not having free school meals is no strength of the child's
        line = f"{seen.area}: {seen.value}"
        if seen.seen_on:
            line += f" ({seen.seen_on.day} {seen.seen_on:%b %Y})"
        line += f"; at risk when {seen.at_risk_when}" if seen.at_risk_when else ""
        side = "needs" if seen.at_risk else "strengths"
        out[outcome_area_of(risk_area)][side].append(line)
    return {
        area: {
            "needs": "\n".join(parts["needs"]),
            "strengths": "\n".join(parts["strengths"]),
        }
        for area, parts in out.items()
    }
