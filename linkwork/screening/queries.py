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
from .rules import AttainmentResult, Attendance, PupilData, Rules, ScaleScore

REVIEWERS = (Role.SCHOOL_STAFF, Role.LINK_WORKER, Role.MANAGER)


def latest_rules() -> ScreeningRules | None:
    return ScreeningRules.objects.order_by("-version").first()


def _rows(queryset, width: int):
    """A values_list queryset's rows; on PostgreSQL straight from the cursor, as the
    driver already returns dates and Decimals (a borough is millions of rows)."""
    if connection.vendor != "postgresql":
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[:width] for row in cursor.fetchall()]


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
    # Filtering by the pupils' ids (not by a join on school) lets the database walk each
    # table's (pupil, ...) key index instead of scanning the whole table per school.
    ids = [row[0] for row in pupils]
    attendance = defaultdict(list)
    periods = SchoolAttendance.objects.filter(
        pupil_id__in=ids, period_end__lte=on, possible_sessions__gt=0
    )
    if latest_only:
        periods = periods.order_by("pupil_id", "-period_end", "-period_start").distinct("pupil_id")
    columns = ("pupil_id", "period_start", "period_end", "possible_sessions", "present_sessions")
    for pupil_id, start, end, possible, present in _rows(periods.values_list(*columns), 5):
        attendance[pupil_id].append(Attendance(start, end, possible, present))

    attainment = defaultdict(list)
    if rules.subjects and ids:
        results = Attainment.objects.filter(
            pupil_id__in=ids, assessed_on__lte=on, subject__in=rules.subjects
        ).order_by()
        if latest_only:
            results = results.order_by("pupil_id", "subject", "-assessed_on").distinct(
                "pupil_id", "subject"
            )
        columns = ("pupil_id", "subject", "assessed_on", "value", "expected")
        for pupil_id, subject, assessed_on, value, expected in _rows(
            results.values_list(*columns), 5
        ):
            attainment[pupil_id].append(AttainmentResult(subject, assessed_on, value, expected))

    scores = defaultdict(list)
    if rules.score_scales and ids:
        wanted = Q()
        for instrument, scale in sorted(rules.score_scales):
            wanted |= Q(administration__instrument_code=instrument, scale=scale)
        found = Score.objects.filter(
            wanted,
            administration__pupil_id__in=ids,
            administration__administered_on__lte=on,
        ).order_by()
        if latest_only:
            key = (
                "administration__pupil_id",
                "administration__instrument_code",
                "scale",
                "administration__respondent",
            )
            found = found.order_by(*key, "-administration__administered_on").distinct(*key)
        columns = (
            "administration__pupil_id",
            "administration__instrument_code",
            "scale",
            "administration__administered_on",
            "administration__respondent",
            "score",
        )
        for pupil_id, instrument, scale, administered_on, respondent, score in _rows(
            found.values_list(*columns), 6
        ):
            scores[pupil_id].append(
                ScaleScore(instrument, scale, administered_on, respondent, score)
            )

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
