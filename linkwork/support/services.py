"""Every write in support: allocations, registers, interactions, follow-ups, plans."""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from linkwork.audit.services import changes_between, record
from linkwork.engagement.services import refresh_flags
from linkwork.people.models import Consent, Pupil, Purpose

from .models import (
    Allocation,
    FollowUp,
    Goal,
    GoalNote,
    GoalStatus,
    Interaction,
    OutcomeArea,
    Partner,
    PlanReview,
    RegisterEntry,
    Service,
    Session,
    SupportPlan,
    SupportPlanVersion,
)
from .queries import ABSENT, ATTENDED, ENGAGED, allocated_pupils, state_of


class Refused(Exception):
    """A write the rules do not allow; the message says why, in the user's words."""


# --- allocations ------------------------------------------------------------------


@transaction.atomic
def allocate_child(
    *, actor, pupil, service, start_date: dt.date, over_capacity_reason: str = ""
) -> Allocation:
    """Place a child on a service from a date.

    Refused without a partner-sharing consent in force on that date, when the child is
    already on the service, and when the service is full unless a reason is given.
    """
    if (
        not Consent.objects.in_force(start_date)
        .filter(pupil=pupil, purpose=Purpose.PARTNER_SHARING)
        .exists()
    ):
        raise Refused(
            f"{pupil.name} has no partner-sharing consent in force on {start_date:%-d %b %Y}."
        )
    overlapping = Q(end_date__isnull=True) | Q(end_date__gte=start_date)
    if Allocation.objects.filter(overlapping, pupil=pupil, service=service).exists():
        raise Refused(f"{pupil.name} is already allocated to {service.name}.")
    # Lock the service so two allocations cannot both take the last place.
    type(service).objects.select_for_update().filter(pk=service.pk).first()
    used = Allocation.objects.active_on(start_date).filter(service=service).count()
    over = service.capacity is not None and used >= service.capacity
    over_capacity_reason = over_capacity_reason.strip()
    if over and not over_capacity_reason:
        raise Refused(
            f"{service.name} is full ({used} of {service.capacity} places used). "
            "Give a reason to allocate over capacity."
        )
    allocation = Allocation.objects.create(pupil=pupil, service=service, start_date=start_date)
    changes = {"service": service.code, "start_date": start_date}
    if over:
        changes["over_capacity"] = f"{used + 1} of {service.capacity}: {over_capacity_reason}"
    record(
        actor=actor,
        action="support.child_allocated",
        obj=allocation,
        pupil=pupil,
        summary=f"Allocated to {service.name} from {start_date}"
        + (" over capacity" if over else ""),
        changes=changes,
    )
    return allocation


@transaction.atomic
def end_allocation(*, actor, allocation, end_date: dt.date) -> Allocation:
    """End a child's allocation on a date (the last day they are on the register)."""
    if end_date < allocation.start_date:
        raise Refused(f"The end date is before the start date ({allocation.start_date}).")
    before = allocation.end_date
    allocation.end_date = end_date
    allocation.save(update_fields=["end_date"])
    record(
        actor=actor,
        action="support.allocation_ended",
        obj=allocation,
        pupil=allocation.pupil,
        summary=f"Allocation to {allocation.service.name} ended {end_date}",
        changes=changes_between({"end_date": before}, {"end_date": end_date}),
    )
    return allocation


@transaction.atomic
def cancel_allocation(*, actor, allocation, today: dt.date) -> None:
    """Take back an allocation that has not started (a start date typed wrong, a plan
    changed): it is deleted, as if never made, and the audit entry keeps what it was."""
    if allocation.start_date <= today:
        raise Refused(f"The allocation to {allocation.service.name} has started; end it instead.")
    record(
        actor=actor,
        action="support.allocation_cancelled",
        obj=allocation,
        pupil=allocation.pupil,
        summary=(
            f"Allocation to {allocation.service.name} from {allocation.start_date} "
            "cancelled before it started"
        ),
    )
    allocation.delete()


# --- registers --------------------------------------------------------------------


@dataclass(frozen=True)
class RegisterMark:
    """One child's mark as submitted; `seen` is the mark the submitter's page showed.

    When `seen` is given and a colleague has changed the mark since, an unchanged row
    keeps the colleague's mark instead of overwriting it.
    """

    pupil_id: int
    state: str
    seen: str | None = None


@dataclass(frozen=True)
class RegisterResult:
    written: int
    corrected: int
    kept: int


def _lock_session(service, session_date: dt.date) -> Session:
    # Lock the session row (INSERT ... ON CONFLICT DO NOTHING first when it is new):
    # concurrent submissions of one register queue behind each other instead of racing.
    locked = (
        Session.objects.select_for_update()
        .filter(service=service, date=session_date)
        .order_by("pk")
    )
    session = locked.first()
    if session is None:
        Session.objects.bulk_create(
            [Session(service=service, date=session_date)], ignore_conflicts=True
        )
        session = locked.get()
    return session


def record_register(
    *,
    actor,
    service,
    session_date: dt.date,
    marks: list[RegisterMark],
    today: dt.date | None = None,
) -> RegisterResult:
    """Save marks on a session's register: one row per child, safe to submit again.

    Only children allocated on that date can be marked; a changed mark is a correction
    and is audited with before and after. Flags of the children marked are refreshed.
    """
    today = today or timezone.localdate()
    if session_date > today:
        raise Refused("A register can only be taken on or after the session's date.")
    with transaction.atomic():
        session = _lock_session(service, session_date)
        if session.cancelled:
            raise Refused("This session was cancelled; its register cannot be marked.")
        allowed = dict(allocated_pupils(service, session_date).values_list("pk", "upn"))
        existing = {
            e.pupil_id: e
            for e in RegisterEntry.objects.filter(
                service=service, session_date=session_date
            ).order_by()
        }
        rows, corrections, kept = [], {}, 0
        for mark in marks:
            if mark.state not in (ABSENT, ATTENDED, ENGAGED):
                raise Refused(f"Unknown mark {mark.state!r}.")
            upn = allowed.get(mark.pupil_id)
            if upn is None:
                raise Refused("A child on this register is not allocated to it on this date.")
            current = state_of(existing.get(mark.pupil_id))
            # Unchanged by this submitter (an unmarked child submitted as absent counts
            # as unchanged) but changed by a colleague since: keep the colleague's mark.
            if (
                mark.seen is not None
                and current != mark.seen
                and mark.state == (mark.seen or ABSENT)
            ):
                kept += 1
                continue
            if current == mark.state:
                continue
            if current:
                corrections[upn] = [current, mark.state]
            rows.append(
                RegisterEntry(
                    service=service,
                    session_date=session_date,
                    pupil_id=mark.pupil_id,
                    attended=mark.state != ABSENT,
                    engaged=True
                    if mark.state == ENGAGED
                    else (False if mark.state == ATTENDED else None),
                )
            )
        if rows:
            RegisterEntry.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["service", "session_date", "pupil"],
                update_fields=["attended", "engaged"],
            )
            late = session_date < today
            record(
                actor=actor,
                action="support.register_corrected" if corrections else "support.register_recorded",
                obj=session,
                pupil=Pupil(pk=rows[0].pupil_id) if len(rows) == 1 else None,
                summary=(
                    f"Register {service.code} {session_date}: {len(rows)} marks"
                    + (f", {len(corrections)} corrected" if corrections else "")
                    + (" (late)" if late and corrections else "")
                ),
                changes=corrections,
            )
            refresh_flags(actor=actor, pupils=[r.pupil_id for r in rows], today=today)
        return RegisterResult(written=len(rows), corrected=len(corrections), kept=kept)


@transaction.atomic
def cancel_session(*, actor, service, session_date: dt.date, reason: str) -> Session:
    """Record a session as cancelled: its marks then count for nobody."""
    session = _lock_session(service, session_date)
    if session.cancelled:
        return session
    session.cancelled = True
    session.cancelled_reason = reason.strip()[:200]
    session.save(update_fields=["cancelled", "cancelled_reason"])
    record(
        actor=actor,
        action="support.session_cancelled",
        obj=session,
        summary=f"{service.code} {session_date} cancelled: {session.cancelled_reason}",
    )
    marked = RegisterEntry.objects.filter(service=service, session_date=session_date)
    refresh_flags(actor=actor, pupils=marked.values_list("pupil_id", flat=True))
    return session


# --- partners and services --------------------------------------------------------

SCHEDULE = ("weekday", "starts_at", "capacity")
DETAILS = ("name", "outcome_areas")


def _snapshot(service) -> dict:
    return {
        "name": service.name,
        "outcome_areas": list(service.outcome_areas),
        "weekday": service.weekday_name or None,
        "starts_at": service.starts_at.strftime("%H:%M") if service.starts_at else None,
        "capacity": service.capacity,
    }


def _valid(instance) -> None:
    """full_clean, its complaints as Refused in the user's words."""
    try:
        instance.full_clean()
    except ValidationError as exc:
        raise Refused(" ".join(exc.messages)) from None


@transaction.atomic
def set_service_schedule(
    *, actor, service, weekday: int | None, starts_at: dt.time | None, capacity: int | None
):
    """Set when a service meets and how many places it has; recorded with what changed."""
    return change_service(
        actor=actor, service=service, weekday=weekday, starts_at=starts_at, capacity=capacity
    )


@transaction.atomic
def change_service(*, actor, service, **fields):
    """Change a service's schedule (`weekday`, `starts_at`, `capacity`) and, for a
    manager, its `name` and `outcome_areas`; recorded with what changed. Its code,
    partner and school stay: registers, allocations and packages name it by them."""
    unknown = set(fields) - set(SCHEDULE) - set(DETAILS)
    if unknown:
        raise ValueError(f"not a field to change: {', '.join(sorted(unknown))}")
    service = type(service).objects.select_for_update().get(pk=service.pk)
    before = _snapshot(service)
    for name, value in fields.items():
        setattr(service, name, value)
    _valid(service)
    changes = changes_between(before, _snapshot(service))
    if not changes:
        return service
    service.save(update_fields=list(fields))
    record(
        actor=actor,
        action="support.service_changed",
        obj=service,
        summary=f"{service.code}: {', '.join(changes)} changed",
        changes=changes,
    )
    return service


@transaction.atomic
def add_partner(*, actor, code: str, name: str) -> Partner:
    """A new delivery partner; its code is how packages and registers name it."""
    same = Partner.objects.filter(Q(code__iexact=code) | Q(name__iexact=name.strip())).first()
    if same is not None:
        raise Refused(f"There is already a partner {same.name} with the code {same.code}.")
    partner = Partner(code=code, name=name.strip())
    _valid(partner)
    partner.save()
    record(actor=actor, action="support.partner_added", obj=partner, summary=f"{code}: {name}")
    return partner


@transaction.atomic
def add_service(*, actor, code: str, partner, name: str, school, **fields) -> Service:
    """A new service of a partner in one school, with its areas and, if known, when it
    meets and its places."""
    same = Service.objects.filter(code__iexact=code).first() or (
        Service.objects.filter(partner=partner, school=school, name__iexact=name.strip()).first()
    )
    if same is not None:
        raise Refused(
            f"There is already a service {same.name} with the code {same.code} "
            f"({same.partner.name} at {same.school.name})."
        )
    service = Service(code=code, partner=partner, name=name.strip(), school=school, **fields)
    _valid(service)
    service.save()
    record(
        actor=actor,
        action="support.service_added",
        obj=service,
        summary=f"{code}: {service.name}, {partner.name} at {school.name}",
        changes={"added": _snapshot(service)},
    )
    return service


# --- interactions and follow-ups ---------------------------------------------------


@transaction.atomic
def record_interaction(
    *,
    actor,
    pupil,
    occurred_on: dt.date,
    kind: str,
    minutes: int | None = None,
    topics: list[str] | None = None,
    note: str = "",
) -> Interaction:
    """Log a Link Worker's interaction with or about a child, then refresh their flags.

    A second interaction of the same kind on the same day is added to the first
    (minutes summed, topics merged, notes appended).
    """
    topics = [t.strip() for t in (topics or []) if t.strip()]
    interaction = (
        Interaction.objects.select_for_update()
        .filter(pupil=pupil, occurred_on=occurred_on, kind=kind)
        .first()
    )
    if interaction is None:
        interaction = Interaction.objects.create(
            pupil=pupil,
            occurred_on=occurred_on,
            kind=kind,
            minutes=minutes,
            topics=topics,
            note=note.strip(),
            recorded_by=actor if getattr(actor, "pk", None) else None,
        )
        action = "support.interaction_logged"
    else:
        if minutes:
            interaction.minutes = (interaction.minutes or 0) + minutes
        interaction.topics = list(dict.fromkeys([*interaction.topics, *topics]))
        if note.strip():
            interaction.note = "\n\n".join(n for n in (interaction.note, note.strip()) if n)
        interaction.save(update_fields=["minutes", "topics", "note"])
        interaction.added_to = True  # tells the caller this joined an earlier one
        action = "support.interaction_added_to"
    record(
        actor=actor,
        action=action,
        obj=interaction,
        pupil=pupil,
        summary=f"{interaction.get_kind_display()} on {occurred_on}, {minutes or 0} minutes",
    )
    refresh_flags(actor=actor, pupils=[pupil])
    return interaction


@transaction.atomic
def open_follow_up(
    *, actor, pupil, reason: str, due_on: dt.date | None = None, assigned_to=None
) -> FollowUp:
    """Open a follow-up for a child, assigned to someone (by default the actor)."""
    follow_up = FollowUp.objects.create(
        pupil=pupil,
        reason=reason.strip()[:300],
        due_on=due_on,
        assigned_to=assigned_to or (actor if getattr(actor, "pk", None) else None),
        opened_at=timezone.now(),
    )
    record(
        actor=actor,
        action="support.follow_up_opened",
        obj=follow_up,
        pupil=pupil,
        summary=follow_up.reason,
    )
    return follow_up


@transaction.atomic
def assign_follow_up(*, actor, follow_up, assigned_to) -> FollowUp:
    """Give a follow-up to another member of staff."""
    before = follow_up.assigned_to_id
    follow_up.assigned_to = assigned_to
    follow_up.save(update_fields=["assigned_to"])
    record(
        actor=actor,
        action="support.follow_up_assigned",
        obj=follow_up,
        pupil=follow_up.pupil,
        summary=f"Assigned to {assigned_to}",
        changes={"assigned_to": [before, assigned_to.pk if assigned_to else None]},
    )
    return follow_up


@transaction.atomic
def complete_follow_up(*, actor, follow_up, outcome: str = "") -> FollowUp:
    """Mark a follow-up done, with what came of it."""
    if follow_up.completed_at is not None:
        return follow_up
    follow_up.completed_at = timezone.now()
    follow_up.outcome = outcome.strip()
    follow_up.save(update_fields=["completed_at", "outcome"])
    record(
        actor=actor,
        action="support.follow_up_completed",
        obj=follow_up,
        pupil=follow_up.pupil,
        summary=follow_up.reason,
    )
    return follow_up


# --- support plans ---------------------------------------------------------------

PLAN_FIELDS = (
    "started_on",
    "next_review_due",
    "informal_engagement",
    "formal_engagement",
    "developmental_support",
    "specialist_support",
    "needs_and_strengths",
)


def _plan_state(plan) -> dict:
    state = {name: getattr(plan, name) for name in PLAN_FIELDS}
    for key in ("started_on", "next_review_due"):
        state[key] = state[key].isoformat() if state[key] else None
    state["goals"] = [
        {
            "id": g.pk,
            "area": g.area,
            "text": g.text,
            "status": g.status,
            "target_date": g.target_date.isoformat() if g.target_date else None,
        }
        for g in plan.goals.order_by("pk")
    ]
    return state


def _keep_version(plan, actor, summary: str) -> SupportPlanVersion:
    number = (plan.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    return SupportPlanVersion.objects.create(
        plan=plan,
        number=number,
        snapshot=_plan_state(plan),
        saved_at=timezone.now(),
        saved_by=actor if getattr(actor, "pk", None) else None,
        summary=summary[:300],
    )


@transaction.atomic
def save_support_plan(*, actor, pupil, **fields) -> SupportPlan:
    """Create or change a child's support plan; each save keeps a version for history."""
    unknown = set(fields) - set(PLAN_FIELDS)
    if unknown:
        raise TypeError(f"not plan fields: {sorted(unknown)}")
    plan = SupportPlan.objects.select_for_update().filter(pupil=pupil).first()
    created = plan is None
    if created:
        fields.setdefault("started_on", timezone.localdate())
        plan = SupportPlan(pupil=pupil)
        before = {}
    else:
        before = {name: getattr(plan, name) for name in PLAN_FIELDS}
    for name, value in fields.items():
        setattr(plan, name, value)
    plan.save()
    after = {name: getattr(plan, name) for name in PLAN_FIELDS}
    changes = changes_between(before, after)
    summary = "Support plan written" if created else f"Changed: {', '.join(changes) or 'nothing'}"
    _keep_version(plan, actor, summary)
    record(
        actor=actor,
        action="support.plan_saved",
        obj=plan,
        pupil=pupil,
        summary=summary,
        changes={k: v for k, v in changes.items() if k != "needs_and_strengths"},
    )
    if "next_review_due" in changes:
        refresh_flags(actor=actor, pupils=[pupil])
    return plan


@transaction.atomic
def add_goal(*, actor, plan, area: str, text: str, target_date: dt.date | None = None) -> Goal:
    """Add a goal in the child's own words to their plan."""
    if area not in OutcomeArea.values:
        raise Refused(f"Unknown outcome area {area!r}.")
    goal = Goal.objects.create(plan=plan, area=area, text=text.strip(), target_date=target_date)
    _keep_version(plan, actor, f"Goal added: {goal.text[:80]}")
    record(
        actor=actor,
        action="support.goal_added",
        obj=goal,
        pupil=plan.pupil,
        summary=goal.text[:200],
    )
    return goal


@transaction.atomic
def set_goal_status(*, actor, goal, status: str) -> Goal:
    """Mark a goal open, achieved or dropped."""
    if status not in GoalStatus.values:
        raise Refused(f"Unknown goal status {status!r}.")
    before = goal.status
    goal.status = status
    goal.save(update_fields=["status"])
    _keep_version(goal.plan, actor, f"Goal {goal.get_status_display().lower()}: {goal.text[:60]}")
    record(
        actor=actor,
        action="support.goal_status_set",
        obj=goal,
        pupil=goal.plan.pupil,
        summary=goal.text[:200],
        changes={"status": [before, status]},
    )
    return goal


@transaction.atomic
def reword_goal(*, actor, goal, text: str, target_date: dt.date | None) -> Goal:
    """Change a goal's wording or target date; the old wording stays in the plan history."""
    text = text.strip()
    if not text:
        raise Refused("A goal needs its wording.")
    before = {"text": goal.text, "target_date": goal.target_date}
    goal.text, goal.target_date = text, target_date
    goal.save(update_fields=["text", "target_date"])
    _keep_version(goal.plan, actor, f"Goal reworded: {goal.text[:60]}")
    record(
        actor=actor,
        action="support.goal_reworded",
        obj=goal,
        pupil=goal.plan.pupil,
        summary=goal.text[:200],
        changes=changes_between(before, {"text": goal.text, "target_date": goal.target_date}),
    )
    return goal


@transaction.atomic
def add_goal_note(*, actor, goal, written_on: dt.date, text: str) -> GoalNote:
    """Add a dated progress note to a goal."""
    note = GoalNote.objects.create(
        goal=goal,
        written_on=written_on,
        text=text.strip(),
        written_by=actor if getattr(actor, "pk", None) else None,
    )
    record(
        actor=actor,
        action="support.goal_note_added",
        obj=note,
        pupil=goal.plan.pupil,
        summary=note.text[:200],
    )
    return note


@transaction.atomic
def record_review(
    *,
    actor,
    plan,
    held_on: dt.date,
    outcome: str,
    next_steps: str = "",
    next_review_due: dt.date | None = None,
) -> PlanReview:
    """Record a termly review: its outcome, next steps and when the next one is due."""
    review = PlanReview.objects.create(
        plan=plan,
        due_on=plan.next_review_due,
        held_on=held_on,
        outcome=outcome.strip(),
        next_steps=next_steps.strip(),
        next_review_due=next_review_due,
        recorded_by=actor if getattr(actor, "pk", None) else None,
    )
    plan.next_review_due = next_review_due
    plan.save(update_fields=["next_review_due"])
    _keep_version(plan, actor, f"Review held {held_on}")
    record(
        actor=actor,
        action="support.review_recorded",
        obj=review,
        pupil=plan.pupil,
        summary=f"Review held {held_on}; next due {next_review_due or 'not set'}",
    )
    refresh_flags(actor=actor, pupils=[plan.pupil_id])
    return review
