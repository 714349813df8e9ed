"""Reading what the engagement rules need, for many children in a few queries."""

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from django.db.models import Exists, F, OuterRef, Q, Subquery, Window
from django.db.models.functions import RowNumber

from linkwork.people.models import Enrolment
from linkwork.support.models import Interaction, RegisterEntry, Session, SupportPlan

from .models import EngagementRules, Flag
from .rules import ChildEngagement, Mark, RuleSet, parse_rules, rules_from_document

DEFAULT_RULES_PATH = Path(__file__).with_name("engagement.yaml")


_DEFAULT_PARSED: dict[str, RuleSet] = {}


def default_rules_source() -> str:
    return DEFAULT_RULES_PATH.read_text(encoding="utf-8")


def current_rules() -> tuple[int | None, RuleSet, str]:
    """(version, rule set, source) in force: the latest saved version, else the default."""
    latest = EngagementRules.objects.order_by("-version").first()
    if latest is None:
        source = default_rules_source()
        if source not in _DEFAULT_PARSED:
            _DEFAULT_PARSED.clear()
            _DEFAULT_PARSED[source] = parse_rules(source, filename="engagement.yaml")
        return None, _DEFAULT_PARSED[source], source
    return latest.version, rules_from_document(latest.document), latest.source


@dataclass(frozen=True)
class EnrolledChild:
    pupil_id: int
    link_worker_id: int | None
    engagement: ChildEngagement


def engagement_inputs(pupil_ids, *, today: dt.date, sessions: int) -> dict[int, EnrolledChild]:
    """The rules' inputs for each of these pupils who is enrolled today (others left out).

    Two queries whatever the number of pupils: enrolments (with the last interaction
    and the plan's review date), and the latest `sessions` marks per child on sessions
    not cancelled.
    """
    ids = list(pupil_ids)
    last_contact = (
        Interaction.objects.filter(pupil_id=OuterRef("pupil_id"), occurred_on__lte=today)
        .order_by("-occurred_on")
        .values("occurred_on")[:1]
    )
    review_due = SupportPlan.objects.filter(pupil_id=OuterRef("pupil_id")).values(
        "next_review_due"
    )[:1]
    enrolments = (
        Enrolment.objects.filter(pupil_id__in=ids, enrolled_on__lte=today)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=today))
        .annotate(last_contact=Subquery(last_contact), review_due=Subquery(review_due))
        .order_by("enrolled_on")
        .values_list("pupil_id", "enrolled_on", "link_worker_id", "last_contact", "review_due")
    )
    enrolled = {pid: rest for pid, *rest in enrolments}
    if not enrolled:
        return {}
    ids = list(enrolled)
    cancelled = Session.objects.filter(
        service_id=OuterRef("service_id"), date=OuterRef("session_date"), cancelled=True
    )
    marks_rows = (
        RegisterEntry.objects.filter(pupil_id__in=ids, session_date__lte=today)
        .order_by()
        .exclude(Exists(cancelled))
        .annotate(
            position=Window(
                RowNumber(),
                partition_by=[F("pupil_id")],
                order_by=[F("session_date").desc(), F("service_id").desc()],
            )
        )
        .filter(position__lte=sessions)
        .values_list("pupil_id", "session_date", "service_id", "attended")
    )
    marks: dict[int, list] = {}
    for pid, on, service_id, attended in marks_rows:
        marks.setdefault(pid, []).append((on, service_id, attended))
    out = {}
    for pid, (enrolled_on, link_worker_id, last_contact_on, review_due_on) in enrolled.items():
        ordered = sorted(marks.get(pid, ()))
        out[pid] = EnrolledChild(
            pupil_id=pid,
            link_worker_id=link_worker_id,
            engagement=ChildEngagement(
                marks=tuple(Mark(date=on, attended=att) for on, _, att in ordered),
                last_interaction_on=last_contact_on,
                review_due_on=review_due_on,
                enrolled_on=enrolled_on,
            ),
        )
    return out


def open_flags_for(pupil_ids) -> dict[int, list[Flag]]:
    """Open flags per pupil, worst first."""
    out: dict[int, list[Flag]] = {}
    flags = Flag.objects.filter(pupil_id__in=list(pupil_ids), cleared_at__isnull=True).order_by(
        "pupil_id", "-level", "raised_at"
    )
    for flag in flags:
        out.setdefault(flag.pupil_id, []).append(flag)
    return out


def digest_for(worker, today: dt.date) -> dict:
    """A Link Worker's daily digest: open flags on their caseload, follow-ups due by today."""
    from linkwork.support.models import FollowUp

    caseload = (
        Enrolment.objects.filter(link_worker=worker, enrolled_on__lte=today)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=today))
        .values("pupil_id")
    )
    flags = (
        Flag.objects.filter(pupil_id__in=caseload, cleared_at__isnull=True)
        .select_related("pupil")
        .order_by("-level", "raised_at")
    )
    follow_ups = (
        FollowUp.objects.filter(assigned_to=worker, completed_at__isnull=True)
        .filter(Q(due_on__isnull=True) | Q(due_on__lte=today))
        .select_related("pupil")
        .order_by("due_on", "opened_at")
    )
    return {"flags": list(flags), "follow_ups": list(follow_ups), "today": today}
