"""Reads for one child's outcomes: load the rows the pure modules need, in six queries."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from linkwork.measures.models import Score
from linkwork.measures.queries import current_definitions
from linkwork.people.models import Attainment, Enrolment, SchoolAttendance
from linkwork.schools.models import Phase
from linkwork.screening.queries import latest_rules
from linkwork.support.models import RegisterEntry

from .areas import (
    AreaSummary,
    AttainmentRow,
    AttendanceRow,
    ScoreRow,
    child_outcomes,
    measure_rules,
)
from .progress import YEAR_TWO
from .report import ChildRows
from .sessions import SessionAttendance, session_attendance


@dataclass(frozen=True)
class ChildOutcomes:
    enrolment: object | None  # None: not enrolled, so nothing to count from
    areas: tuple[AreaSummary, ...] = ()
    sessions: SessionAttendance | None = None
    rules_version: int | None = None


def measured(rules) -> tuple[Q, list[str]]:
    """The scores (as a filter on Score) and attainment subjects the rules count."""
    wanted = Q(pk__in=[])
    subjects = []
    for rule in rules:
        if rule.measure.kind == "score":
            instrument, scale = rule.measure.subject.split("/", 1)
            wanted |= Q(administration__instrument_code=instrument, scale=scale)
        elif rule.measure.kind == "attainment":
            subjects.append(rule.measure.subject)
    return wanted, subjects


def outcome_enrolment(enrolments, today: dt.date):
    """The enrolment outcomes are counted from: the active one, else the latest."""
    for enrolment in enrolments:
        if enrolment.active_on(today):
            return enrolment
    return max(enrolments, key=lambda e: e.enrolled_on, default=None)


def rules_for_child(pupil):
    """(the latest screening rules or None, the outcome measures' rules for the child's
    phase): two queries."""
    screening = latest_rules()
    rules = measure_rules(
        screening.document if screening else None,
        screening.version if screening else None,
        current_definitions(),
        pupil.school.phase,
    )
    return screening, rules


def child_measure_rows(pupil, rules, *, until: dt.date | None = None):
    """(scores, attainment, school attendance) of one child in the measures of `rules`,
    up to `until` when given: three queries."""
    wanted, subjects = measured(rules)
    scores = Score.objects.filter(wanted, administration__pupil=pupil)
    attainment = Attainment.objects.filter(pupil=pupil, subject__in=subjects)
    attendance = SchoolAttendance.objects.filter(pupil=pupil, possible_sessions__gt=0)
    if until is not None:
        scores = scores.filter(administration__administered_on__lte=until)
        attainment = attainment.filter(assessed_on__lte=until)
        attendance = attendance.filter(period_end__lte=until)
    return (
        [
            ScoreRow(*row)
            for row in scores.values_list(
                "administration__administered_on",
                "administration__instrument_code",
                "scale",
                "administration__respondent",
                "score",
            )
        ],
        [
            AttainmentRow(*row)
            for row in attainment.values_list("assessed_on", "subject", "value", "expected")
        ],
        [
            AttendanceRow(*row)
            for row in attendance.values_list("period_end", "possible_sessions", "present_sessions")
        ],
    )


def outcomes_for_child(pupil, enrolments, *, today: dt.date) -> ChildOutcomes:
    """The four outcome areas and session attendance of one child over an enrolment.

    `enrolments` are the child's, already loaded (no queries without one). Six queries
    whatever the child's history: the latest screening rules, the instrument
    definitions, and the child's scores, attainment, school attendance and register marks.
    """
    enrolment = outcome_enrolment(enrolments, today)
    if enrolment is None:
        return ChildOutcomes(enrolment=None)
    screening, rules = rules_for_child(pupil)
    scores, attainment, attendance = child_measure_rows(
        pupil, rules, until=enrolment.enrolled_on + YEAR_TWO
    )
    marks = RegisterEntry.objects.filter(
        pupil=pupil, session_date__gte=enrolment.enrolled_on, session_date__lte=today
    ).values_list("session_date", "attended")
    return ChildOutcomes(
        enrolment=enrolment,
        areas=child_outcomes(
            rules,
            enrolled_on=enrolment.enrolled_on,
            scores=scores,
            attainment=attainment,
            attendance=attendance,
        ),
        sessions=session_attendance(
            marks, enrolled_on=enrolment.enrolled_on, ended_on=enrolment.ended_on, today=today
        ),
        rules_version=screening.version if screening else None,
    )


def cohort_outcome_rows(cohort, school=None) -> tuple[dict, list[ChildRows], int | None]:
    """The inputs of a cohort's outcome report: rules by phase and every enrolled child's
    rows (only the children of `school` when given).

    Four queries for the rows whatever the cohort's size (enrolments, scores, attainment,
    school attendance), each limited to the cohort's children and the measures counted.
    """
    screening = latest_rules()
    definitions = current_definitions()
    rules_by_phase = {
        phase: measure_rules(
            screening.document if screening else None,
            screening.version if screening else None,
            definitions,
            phase,
        )
        for phase in Phase.values
    }
    # Every phase counts the same measures; only their thresholds differ.
    wanted, subjects = measured(next(iter(rules_by_phase.values()), ()))

    members = Enrolment.objects.filter(cohort=cohort)
    in_cohort = {"pupil__enrolments__cohort": cohort}
    scored = {"administration__pupil__enrolments__cohort": cohort}
    if school is not None:
        members = members.filter(pupil__school=school)
        in_cohort["pupil__school"] = school
        scored["administration__pupil__school"] = school
    enrolments = list(members.values_list("pupil_id", "enrolled_on", "pupil__school__phase"))
    scores, attainment, attendance = {}, {}, {}
    for pupil_id, *row in Score.objects.filter(wanted, **scored).values_list(
        "administration__pupil_id",
        "administration__administered_on",
        "administration__instrument_code",
        "scale",
        "administration__respondent",
        "score",
    ):
        scores.setdefault(pupil_id, []).append(ScoreRow(*row))
    for pupil_id, *row in Attainment.objects.filter(subject__in=subjects, **in_cohort).values_list(
        "pupil_id", "assessed_on", "subject", "value", "expected"
    ):
        attainment.setdefault(pupil_id, []).append(AttainmentRow(*row))
    for pupil_id, *row in SchoolAttendance.objects.filter(
        possible_sessions__gt=0, **in_cohort
    ).values_list("pupil_id", "period_end", "possible_sessions", "present_sessions"):
        attendance.setdefault(pupil_id, []).append(AttendanceRow(*row))
    children = [
        ChildRows(
            enrolled_on=enrolled_on,
            phase=phase,
            scores=tuple(scores.get(pupil_id, ())),
            attainment=tuple(attainment.get(pupil_id, ())),
            attendance=tuple(attendance.get(pupil_id, ())),
        )
        for pupil_id, enrolled_on, phase in enrolments
    ]
    return rules_by_phase, children, screening.version if screening else None
