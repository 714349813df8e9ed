"""Reads for screening: the data a round looks at, and rounds scoped to a user."""

from collections import defaultdict
from datetime import date

from django.db import connection
from django.db.models import Q
from django.shortcuts import get_object_or_404

from linkwork.accounts.models import Role
from linkwork.measures.models import Score
from linkwork.people.models import Attainment, Pupil, SchoolAttendance

from .models import ScreeningRound, ScreeningRules
from .rules import Attendance, AttainmentResult, PupilData, Rules, ScaleScore

REVIEWERS = (Role.SCHOOL_STAFF, Role.LINK_WORKER, Role.MANAGER)


def latest_rules() -> ScreeningRules | None:
    return ScreeningRules.objects.order_by("-version").first()


def screening_data(school, on: date, rules: Rules) -> tuple[dict[int, str], list[PupilData]]:
    """Every pupil on roll at `school` with what the rules look at, in four queries.

    Returns ({pupil id: upn}, [PupilData]). Only data on or before `on` is read, and
    only the subjects and scales the rules name. On PostgreSQL only the rows the rules
    can use are fetched (the latest per pupil, subject, scale and respondent); the
    result is the same as from every row.
    """
    latest_only = connection.vendor == "postgresql"
    pupils = list(
        Pupil.objects.filter(school=school)
        .order_by()
        .values_list("id", "upn", "fsm", "eal", "statutory_status")
    )
    attendance = defaultdict(list)
    periods = SchoolAttendance.objects.filter(pupil__school=school, period_end__lte=on,
                                              possible_sessions__gt=0)
    if latest_only:
        periods = periods.order_by("pupil_id", "-period_end", "-period_start").distinct(
            "pupil_id"
        )
    for pupil_id, start, end, possible, present in (
        periods.values_list("pupil_id", "period_start", "period_end", "possible_sessions",
                     "present_sessions")
    ):
        attendance[pupil_id].append(Attendance(start, end, possible, present))

    attainment = defaultdict(list)
    if rules.subjects:
        results = Attainment.objects.filter(
            pupil__school=school, assessed_on__lte=on, subject__in=rules.subjects
        ).order_by()
        if latest_only:
            results = results.order_by("pupil_id", "subject", "-assessed_on").distinct(
                "pupil_id", "subject"
            )
        for pupil_id, subject, assessed_on, value, expected in (
            results.values_list("pupil_id", "subject", "assessed_on", "value", "expected")
        ):
            attainment[pupil_id].append(AttainmentResult(subject, assessed_on, value, expected))

    scores = defaultdict(list)
    if rules.score_scales:
        wanted = Q()
        for instrument, scale in sorted(rules.score_scales):
            wanted |= Q(administration__instrument_code=instrument, scale=scale)
        found = Score.objects.filter(
            wanted,
            administration__pupil__school=school,
            administration__administered_on__lte=on,
        ).order_by()
        if latest_only:
            key = ("administration__pupil_id", "administration__instrument_code", "scale",
                   "administration__respondent")
            found = found.order_by(*key, "-administration__administered_on").distinct(*key)
        for pupil_id, instrument, scale, administered_on, respondent, score in (
            found.values_list("administration__pupil_id", "administration__instrument_code",
                         "scale", "administration__administered_on",
                         "administration__respondent", "score")
        ):
            scores[pupil_id].append(ScaleScore(instrument, scale, administered_on, respondent,
                                               score))

    upns = {}
    data = []
    for pupil_id, upn, fsm, eal, status in pupils:
        upns[pupil_id] = upn
        data.append(
            PupilData(
                upn=upn,
                phase=school.phase,
                statutory_status=status,
                fsm=fsm,
                eal=eal,
                attendance=tuple(attendance.pop(pupil_id, ())),
                attainment=tuple(attainment.pop(pupil_id, ())),
                scores=tuple(scores.pop(pupil_id, ())),
            )
        )
    return upns, data


def rounds_visible_to(user):
    """Rounds of the schools this user works in; managers and administrators see all."""
    if not user.is_authenticated or not user.is_active:
        return ScreeningRound.objects.none()
    if user.role in (Role.MANAGER, Role.ADMIN):
        return ScreeningRound.objects.all()
    if user.role in (Role.LINK_WORKER, Role.SCHOOL_STAFF):
        return ScreeningRound.objects.filter(school__in=user.schools.all())
    return ScreeningRound.objects.none()


def round_for(user, pk: int) -> ScreeningRound:
    """The round with this id if `user` may see it, else 404."""
    return get_object_or_404(
        rounds_visible_to(user).select_related("school", "rules", "run_by"), pk=pk
    )


def may_review(user, school) -> bool:
    """School staff and Link Workers of the school, and managers, review its shortlist."""
    if not user.is_authenticated or user.role not in REVIEWERS:
        return False
    return user.role == Role.MANAGER or user.schools.filter(pk=school.pk).exists()
