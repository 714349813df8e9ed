"""Reads for screening: the data a round looks at, and rounds scoped to a user."""

from collections import defaultdict
from datetime import date
from itertools import groupby
from operator import itemgetter

from django.db import connection
from django.db.models import Case, F, Q, When, Window
from django.db.models.functions import RowNumber
from django.shortcuts import get_object_or_404

from linkwork.accounts.models import Role
from linkwork.measures.models import Score
from linkwork.people.models import Attainment, Pupil, SchoolAttendance

from .models import ScreeningRound, ScreeningRules
from .rules import (
    RESPONDENT_ORDER,
    AttainmentResult,
    Attendance,
    PupilData,
    Rules,
    ScaleScore,
)

REVIEWERS = (Role.SCHOOL_STAFF, Role.LINK_WORKER, Role.MANAGER)


def latest_rules() -> ScreeningRules | None:
    return ScreeningRules.objects.order_by("-version").first()


# Rows are streamed in chunks of this many; a school's data is held only while it is screened.
CHUNK = 5000
# At most this many distinct data values are kept for sharing between pupils.
SHARED = 50_000


def _latest(queryset, partition: list[str], order: list):
    """Keep only the first row of each `partition` in `order`: the latest on record.

    PostgreSQL picks it with DISTINCT ON; elsewhere a ROW_NUMBER() window does. The
    caller orders the result by school and pupil, which lead every partition.
    """
    if connection.vendor == "postgresql":
        return queryset.order_by(*partition, *order).distinct(*partition)
    first = Window(RowNumber(), partition_by=[F(p) for p in partition], order_by=order)
    return queryset.annotate(place=first).filter(place=1).order_by(*partition)


def _groups(rows, make):
    """Rows ordered by (school id, pupil id, ...) as (school id, {pupil id: [make(*rest)]}),
    one school at a time.

    The values are frozen, so equal rows (the same term, score or result, common across
    a borough) share one object: fewer to build, and a bounded cache keeps memory flat.
    """
    made = {}
    for school_id, school_rows in groupby(rows, key=itemgetter(0)):
        by_pupil = defaultdict(list)
        for row in school_rows:
            rest = row[2:]
            value = made.get(rest)
            if value is None:
                if len(made) >= SHARED:
                    made.clear()
                value = made[rest] = make(*rest)
            by_pupil[row[1]].append(value)
        yield school_id, by_pupil


def _for_school(stream, school_id: int) -> dict:
    """The next group of `stream` if it is this school's, else nothing (no such rows)."""
    head = stream.peek
    while head is not None and head[0] < school_id:
        head = stream.advance()
    if head is None or head[0] != school_id:
        return {}
    stream.advance()
    return head[1]


class _Stream:
    """A peekable iterator of (school id, data) groups."""

    __slots__ = ("groups", "peek")

    def __init__(self, groups):
        self.groups = groups
        self.peek = next(groups, None)

    def advance(self):
        self.peek = next(self.groups, None)
        return self.peek


def _respondent_order():
    return Case(
        *(When(administration__respondent=r, then=n) for r, n in RESPONDENT_ORDER.items()),
        default=len(RESPONDENT_ORDER),
    )


def screening_data_by_school(schools, on: date, rules: Rules):
    """For each school (by id), ({pupil id: upn}, [PupilData]) with what the rules look at.

    Four streamed queries for all the schools together, whatever their number or size:
    pupils on roll, and per pupil only the rows the rules can use, chosen in the
    database: the latest attendance period ending on or before `on` (with sessions),
    the latest result per subject the rules name, and the latest score per scale the
    rules name (on the same date, self before parent before teacher; per respondent too
    when a rule names one). The pure rules make the same choice from these rows as from
    every row. Yields (school, upns, pupils), one school at a time.
    """
    schools = sorted(schools, key=lambda s: s.pk)
    school_ids = [s.pk for s in schools]
    pupils = (
        Pupil.objects.filter(school_id__in=school_ids)
        .order_by("school_id", "id")
        .values_list("school_id", "id", "upn", "fsm", "eal", "statutory_status")
    )
    periods = _latest(
        SchoolAttendance.objects.filter(
            pupil__school_id__in=school_ids, period_end__lte=on, possible_sessions__gt=0
        ),
        ["pupil__school_id", "pupil_id"],
        [F("period_end").desc(), F("period_start").desc()],
    ).values_list(
        "pupil__school_id",
        "pupil_id",
        "period_start",
        "period_end",
        "possible_sessions",
        "present_sessions",
    )
    streams = [_Stream(_groups(periods.iterator(chunk_size=CHUNK), Attendance))]

    results = Attainment.objects.none()
    if rules.subjects:
        results = _latest(
            Attainment.objects.filter(
                pupil__school_id__in=school_ids, assessed_on__lte=on, subject__in=rules.subjects
            ),
            ["pupil__school_id", "pupil_id", "subject"],
            [F("assessed_on").desc()],
        )
    results = results.values_list(
        "pupil__school_id", "pupil_id", "subject", "assessed_on", "value", "expected"
    )
    streams.append(_Stream(_groups(results.iterator(chunk_size=CHUNK), AttainmentResult)))

    found = Score.objects.none()
    if rules.score_scales:
        wanted = Q()
        for instrument, scale in sorted(rules.score_scales):
            wanted |= Q(administration__instrument_code=instrument, scale=scale)
        partition = [
            "administration__pupil__school_id",
            "administration__pupil_id",
            "administration__instrument_code",
            "scale",
        ]
        if any(a.respondent for a in rules.areas if a.kind == "score"):
            partition.append("administration__respondent")
        found = _latest(
            Score.objects.filter(
                wanted,
                administration__pupil__school_id__in=school_ids,
                administration__administered_on__lte=on,
            ).alias(respondent_order=_respondent_order()),
            partition,
            [F("administration__administered_on").desc(), F("respondent_order").asc()],
        )
    found = found.values_list(
        "administration__pupil__school_id",
        "administration__pupil_id",
        "administration__instrument_code",
        "scale",
        "administration__administered_on",
        "administration__respondent",
        "score",
    )
    streams.append(_Stream(_groups(found.iterator(chunk_size=CHUNK), ScaleScore)))
    attendance, attainment, scores = streams

    by_school = groupby(pupils.iterator(chunk_size=CHUNK), key=itemgetter(0))
    on_roll = next(by_school, None)
    for school in schools:
        rows = []
        if on_roll is not None and on_roll[0] == school.pk:
            rows = list(on_roll[1])  # before the group is left behind
            on_roll = next(by_school, None)
        periods = _for_school(attendance, school.pk)
        results = _for_school(attainment, school.pk)
        found = _for_school(scores, school.pk)
        upns = {}
        data = []
        for _, pupil_id, upn, fsm, eal, status in rows:
            upns[pupil_id] = upn
            data.append(
                PupilData(
                    upn=upn,
                    phase=school.phase,
                    statutory_status=status,
                    fsm=fsm,
                    eal=eal,
                    attendance=tuple(periods.get(pupil_id, ())),
                    attainment=tuple(results.get(pupil_id, ())),
                    scores=tuple(found.get(pupil_id, ())),
                )
            )
        yield school, upns, data


def screening_data(school, on: date, rules: Rules) -> tuple[dict[int, str], list[PupilData]]:
    """One school's pupils on roll with what the rules look at ({pupil id: upn}, [PupilData])."""
    for _, upns, data in screening_data_by_school([school], on, rules):
        return upns, data
    return {}, []


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
