"""Reads for screening: the data a round looks at, and rounds scoped to a user."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q
from django.shortcuts import get_object_or_404

from linkwork.accounts.models import Role
from linkwork.people.models import Enrolment, Pupil

from .explanations import AreaInWords, explain_in_words, risk_in_words
from .models import ProfileStatus, RiskProfile, ScreeningRound, ScreeningRules
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


# A round reads the schools in batches of about this many pupils (a school is never
# split), one query per batch, its rows taken this many at a time: memory is that of a
# few batches, whatever the number of pupils.
BATCH = 2500
CHUNK = 1000
# At most this many distinct data values of each source are kept for sharing.
SHARED = 4096


def screening_batches(schools, size: int | None = None) -> list[list]:
    """The schools in id order (each once), in groups of about `size` pupils on roll.

    The first groups are smaller (from an eighth of `size`, doubling), so that the
    first pupils are stored soon while the next are read.
    """
    size = size or BATCH
    schools = sorted({s.pk: s for s in schools}.values(), key=lambda s: s.pk)
    on_roll = dict(
        Pupil.objects.filter(school__in=[s.pk for s in schools])
        .values_list("school_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    batches, batch, pupils = [], [], 0
    limit = max(size // 8, 1)
    for school in schools:
        if batch and pupils + on_roll.get(school.pk, 0) > limit:
            batches.append(batch)
            batch, pupils = [], 0
            limit = min(limit * 2, size)
        batch.append(school)
        pupils += on_roll.get(school.pk, 0)
    if batch:
        batches.append(batch)
    return batches


def _latest_sql(
    columns: str, source: str, where: tuple, partition: str, order: tuple
) -> tuple[str, list]:
    """SQL keeping the first row of each `partition` in `order`: the latest on record.
    `where` and `order` are (SQL, parameters); returns the SQL and its parameters.

    PostgreSQL picks it with DISTINCT ON; elsewhere a ROW_NUMBER() window does.
    """
    (where, where_params), (order, order_params) = where, order
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT DISTINCT ON ({partition}) {columns} FROM {source} WHERE {where} "  # noqa: S608
            f"ORDER BY {partition}, {order}"
        )
        return sql, [*where_params, *order_params]
    sql = (
        f"SELECT * FROM (SELECT {columns}, ROW_NUMBER() OVER (PARTITION BY {partition} "  # noqa: S608
        f"ORDER BY {order}) AS place FROM {source} WHERE {where}) AS ranked WHERE place = 1"
    )
    return sql, [*order_params, *where_params]


class _Query:
    """The SQL of one round's read, built part by part with its parameters in order."""

    def __init__(self):
        self.sql: list[str] = []
        self.params: list = []

    def add(self, sql: str, *params) -> None:
        self.sql.append(sql)
        self.params.extend(params)


def _pupils_in_batch(column: str) -> str:
    # An array of ids leads PostgreSQL to each source's pupil index, batch by batch.
    if connection.vendor == "postgresql":
        return f"{column} = ANY(ARRAY(SELECT id FROM batch))"  # noqa: S608
    return f"{column} IN (SELECT id FROM batch)"  # noqa: S608


def _score_specs(rules: Rules) -> list[tuple[str, str, str | None]]:
    """(instrument, scale, respondent or None) of each score rule, once each."""
    specs = []
    for area in rules.areas:
        if area.kind == "score":
            instrument, scale = area.subject.split("/", 1)
            spec = (instrument, scale, area.respondent)
            if spec not in specs:
                specs.append(spec)
    return specs


def _screening_sql(rules: Rules, school_ids: list[int], on: date) -> tuple[str, list]:
    """One row per pupil on roll at the schools, by school: the pupil's flags, then per
    source the row the rules will use, chosen in the database (NULLs when none):

    - the latest attendance period ending on or before `on` with sessions (by end, then
      start): start, end, possible, present, if a rule looks at attendance;
    - per subject a rule names, the latest result on or before `on`: date, value,
      expected;
    - per score rule, the latest score on the scale on or before `on`, on one date self
      before parent before teacher, only the respondent named if the rule names one:
      date, respondent, score.
    """
    query = _Query()
    marks = ", ".join(["%s"] * len(school_ids))
    query.add(
        "WITH batch AS (SELECT id, school_id, upn, fsm, eal, statutory_status "  # noqa: S608
        f"FROM people_pupil WHERE school_id IN ({marks}))",
        *school_ids,
    )
    columns = ["b.school_id", "b.id", "b.upn", "b.fsm", "b.eal", "b.statutory_status"]
    joins = _Query()
    if any(a.kind == "attendance" for a in rules.areas):
        where = (
            f"{_pupils_in_batch('a.pupil_id')} AND a.period_end <= %s AND a.possible_sessions > 0"
        )
        latest, params = _latest_sql(
            "a.pupil_id, a.period_start, a.period_end, a.possible_sessions, a.present_sessions",
            "people_schoolattendance a",
            (where, [on]),
            "a.pupil_id",
            ("a.period_end DESC, a.period_start DESC", []),
        )
        query.add(f", attendance AS ({latest})", *params)
        columns += [
            "attendance.period_start",
            "attendance.period_end",
            "attendance.possible_sessions",
            "attendance.present_sessions",
        ]
        joins.add(" LEFT JOIN attendance ON attendance.pupil_id = b.id")
    subjects = sorted(rules.subjects)
    if subjects:
        where = (
            f"{_pupils_in_batch('t.pupil_id')} AND t.assessed_on <= %s "
            f"AND t.subject IN ({', '.join(['%s'] * len(subjects))})"
        )
        latest, params = _latest_sql(
            "t.pupil_id, t.subject, t.assessed_on, t.value, t.expected",
            "people_attainment t",
            (where, [on, *subjects]),
            "t.pupil_id, t.subject",
            ("t.assessed_on DESC", []),
        )
        query.add(f", results AS ({latest})", *params)
        for n, subject in enumerate(subjects):
            columns += [f"r{n}.assessed_on", f"r{n}.value", f"r{n}.expected"]
            joins.add(
                f" LEFT JOIN results r{n} ON r{n}.pupil_id = b.id AND r{n}.subject = %s", subject
            )
    specs = _score_specs(rules)
    # one source per respondent named (or none), holding every scale of its rules
    respondents = list(dict.fromkeys(respondent for _, _, respondent in specs))
    order = " ".join(["WHEN %s THEN %s"] * len(RESPONDENT_ORDER))
    for k, respondent in enumerate(respondents):
        scales = sorted({(i, s) for i, s, r in specs if r == respondent})
        wanted = " OR ".join(["(ad.instrument_code = %s AND s.scale = %s)"] * len(scales))
        where = f"{_pupils_in_batch('ad.pupil_id')} AND ad.administered_on <= %s AND ({wanted})"
        where_params = [on, *(x for pair in scales for x in pair)]
        if respondent is not None:
            where += " AND ad.respondent = %s"
            where_params.append(respondent)
        latest, params = _latest_sql(
            "ad.pupil_id, ad.instrument_code, s.scale, ad.administered_on, ad.respondent, s.score",
            "measures_score s JOIN measures_administration ad ON ad.id = s.administration_id",
            (where, where_params),
            "ad.pupil_id, ad.instrument_code, s.scale",
            (
                f"ad.administered_on DESC, CASE ad.respondent {order} ELSE %s END",
                [*(x for pair in RESPONDENT_ORDER.items() for x in pair), len(RESPONDENT_ORDER)],
            ),
        )
        query.add(f", scores{k} AS ({latest})", *params)
    for n, (instrument, scale, respondent) in enumerate(specs):
        k = respondents.index(respondent)
        columns += [f"s{n}.administered_on", f"s{n}.respondent", f"s{n}.score"]
        joins.add(
            f" LEFT JOIN scores{k} s{n} ON s{n}.pupil_id = b.id "
            f"AND s{n}.instrument_code = %s AND s{n}.scale = %s",
            instrument,
            scale,
        )
    query.add(f" SELECT {', '.join(columns)} FROM batch b")  # noqa: S608
    query.add("".join(joins.sql), *joins.params)
    query.add(" ORDER BY b.school_id, b.id")
    return "".join(query.sql), query.params


def _as_date(value):
    return value if value is None or isinstance(value, date) else date.fromisoformat(value)


def _as_decimal(value):
    return value if value is None or isinstance(value, Decimal) else Decimal(str(value))


def _as_flag(value):
    return value if value is None else bool(value)


def _typed(rows, rules: Rules):
    """Rows with the types PostgreSQL gives (SQLite gives text dates, numbers as floats
    and flags as integers from a raw query)."""
    kinds = [None, None, None, _as_flag, _as_flag, None]
    if any(a.kind == "attendance" for a in rules.areas):
        kinds += [_as_date, _as_date, None, None]
    kinds += [_as_date, _as_decimal, _as_decimal] * len(rules.subjects)
    kinds += [_as_date, None, _as_decimal] * len(_score_specs(rules))
    for row in rows:
        yield tuple(v if kind is None else kind(v) for kind, v in zip(kinds, row, strict=True))


def _maker(shared: dict, source, make):
    """`make(*key)`, made once for equal keys of one source: the same term, score or
    result, common across a borough, is one object (and the engine judges it once). A
    bounded number is kept, so memory stays flat."""
    values = shared.setdefault(source, {})

    def made(key: tuple):
        value = values.get(key)
        if value is None:
            if len(values) >= SHARED:
                values.clear()
            value = values[key] = make(*key)
        return value

    return made


def screening_data_for(schools, on: date, rules: Rules, shared: dict | None = None):
    """For each of `schools` (in id order): (school, {pupil id: upn}, [PupilData]) with
    what the rules look at, read in one query (see `_screening_sql`) and yielded school
    by school as its rows arrive. Equal values are shared between pupils, and between
    calls given the same `shared` dict.

    The database keeps per pupil only the rows the rules can use; the pure rules make
    the same choice from these rows as from every row on record.
    """
    schools = sorted(schools, key=lambda s: s.pk)
    if not schools:
        return
    shared = {} if shared is None else shared
    # where each source's columns start in a row, and how its value is made
    attendance = any(a.kind == "attendance" for a in rules.areas)
    period = _maker(shared, ("attendance",), Attendance)
    start = 10 if attendance else 6
    results = [
        (start + 3 * n, _maker(shared, ("attainment", subject), partial(AttainmentResult, subject)))
        for n, subject in enumerate(sorted(rules.subjects))
    ]
    start += 3 * len(results)
    specs = _score_specs(rules)
    scores = [
        (start + 3 * n, _maker(shared, ("score", *spec), partial(ScaleScore, spec[0], spec[1])))
        for n, spec in enumerate(specs)
    ]
    # two score rules on one scale may see the same score
    overlap = len({spec[:2] for spec in specs}) < len(specs)
    waiting = iter(schools)
    school = next(waiting)
    school_pk = school.pk
    upns: dict[int, str] = {}
    data: list[PupilData] = []
    sql, params = _screening_sql(rules, [s.pk for s in schools], on)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK):
            if connection.vendor != "postgresql":
                rows = _typed(rows, rules)
            for row in rows:
                school_id, pupil_id, upn, fsm, eal, status = row[:6]
                while school_id != school_pk:  # rows come by school, in id order
                    yield school, upns, data
                    school, upns, data = next(waiting), {}, []
                    school_pk = school.pk
                seen = tuple([made(row[i : i + 3]) for i, made in scores if row[i] is not None])
                upns[pupil_id] = upn
                data.append(
                    PupilData(
                        upn=upn,
                        phase=school.phase,
                        statutory_status=status,
                        fsm=fsm,
                        eal=eal,
                        attendance=(
                            (period(row[6:10]),) if attendance and row[7] is not None else ()
                        ),
                        attainment=tuple(
                            [made(row[i : i + 3]) for i, made in results if row[i] is not None]
                        ),
                        scores=tuple(dict.fromkeys(seen)) if overlap else seen,
                    )
                )
    yield school, upns, data
    for school in waiting:  # no pupils on roll
        yield school, {}, []


def screening_data(school, on: date, rules: Rules) -> tuple[dict[int, str], list[PupilData]]:
    """One school's pupils on roll with what the rules look at ({pupil id: upn}, [PupilData])."""
    ((_, upns, data),) = screening_data_for([school], on, rules)
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


# On the shortlist whatever the rules said: added on professional advice, or reviewed.
REVIEWED = (ProfileStatus.ADDED, ProfileStatus.ACCEPTED, ProfileStatus.DECLINED)


def open_enrolments(on: date):
    """Enrolments not ended before `on` (one starting later counts: the child is enrolled)."""
    return Enrolment.objects.filter(Q(ended_on__isnull=True) | Q(ended_on__gte=on))


def _enrolled(today: date) -> Exists:
    return Exists(open_enrolments(today).filter(pupil=OuterRef("pupil_id")))


def _on_shortlist(screening_round):
    return RiskProfile.objects.filter(round=screening_round).filter(
        Q(rank__isnull=False) | Q(status__in=REVIEWED)
    )


def shortlist_for(screening_round, *, today: date, to_review: bool = False):
    """The round's shortlist in order: the rules' ranks, then the pupils added on
    professional advice, each by UPN. Every profile carries `enrolled` (an open
    enrolment on `today`); with `to_review`, only those still to review: shortlisted,
    not yet decided and not enrolled.
    """
    profiles = (
        _on_shortlist(screening_round)
        .annotate(enrolled=_enrolled(today))
        .select_related("pupil")
        .order_by(F("rank").asc(nulls_last=True), "pupil__upn")
    )
    if to_review:
        profiles = profiles.filter(status=ProfileStatus.SHORTLISTED, enrolled=False)
    return profiles


def _before(profile) -> Q:
    """Profiles ahead of `profile` in shortlist order."""
    upn = profile.pupil.upn
    if profile.rank is None:
        return Q(rank__isnull=False) | Q(rank__isnull=True, pupil__upn__lt=upn)
    return Q(rank__lt=profile.rank) | Q(rank=profile.rank, pupil__upn__lt=upn)


def _after(profile) -> Q:
    """Profiles behind `profile` in shortlist order."""
    upn = profile.pupil.upn
    if profile.rank is None:
        return Q(rank__isnull=True, pupil__upn__gt=upn)
    return (
        Q(rank__gt=profile.rank) | Q(rank=profile.rank, pupil__upn__gt=upn) | Q(rank__isnull=True)
    )


def place_on_shortlist(profiles, profile) -> int:
    """How many of `profiles` (a `shortlist_for`) come before `profile`."""
    return profiles.filter(_before(profile)).count()


def at_or_after(profiles, profile):
    """`profile` if it is among `profiles` (a `shortlist_for`), else the next one after
    where it would be; None at the end."""
    return profiles.filter(Q(pk=profile.pk) | _after(profile)).first()


def shortlist_counts(screening_round, *, today: date) -> dict[str, int]:
    """How many are on the shortlist, still to review, decided, and already enrolled
    (whatever was decided: nothing is left to decide for them)."""
    enrolled = _enrolled(today)
    counts = _on_shortlist(screening_round).aggregate(
        total=Count("pk"),
        to_review=Count("pk", filter=Q(status=ProfileStatus.SHORTLISTED) & ~enrolled),
        enrolled=Count("pk", filter=enrolled),
    )
    counts["decided"] = counts["total"] - counts["to_review"] - counts["enrolled"]
    return counts


def excluded_from(screening_round):
    """The round's statutory cases, by UPN."""
    return (
        screening_round.profiles.filter(status=ProfileStatus.EXCLUDED)
        .select_related("pupil")
        .order_by("pupil__upn")
    )


def others_for(screening_round, *, today: date):
    """Pupils of the round neither on the shortlist, excluded nor enrolled, by UPN: those
    a reviewer may add on professional advice (only what the choice shows)."""
    return (
        RiskProfile.objects.filter(round=screening_round, rank__isnull=True)
        .exclude(status__in=(*REVIEWED, ProfileStatus.EXCLUDED))
        .exclude(pupil__in=open_enrolments(today).values("pupil_id"))
        .select_related("pupil")
        .only("pupil", "risk_areas", "pupil__given_name", "pupil__family_name", "pupil__upn")
        .order_by("pupil__upn")
    )


@dataclass(frozen=True)
class ShortlistRow:
    """A profile on the shortlist page with its areas in words; `form` holds a decision
    on it that was not recorded."""

    profile: RiskProfile
    areas: tuple[AreaInWords, ...]
    form: object | None = None

    @property
    def enrolled(self) -> bool:
        return self.profile.enrolled

    @property
    def accepted(self) -> bool:
        return self.profile.status in (ProfileStatus.ACCEPTED, ProfileStatus.ADDED)

    @property
    def risk(self) -> str:
        return risk_in_words(self.profile.risk_areas, self.profile.priority_areas)


def shortlist_rows(profiles, screening_round, *, failed=None) -> list[ShortlistRow]:
    """One row per profile (from `shortlist_for`), with its explanation in words as the
    round's rules version reads it. `failed` is (pupil id, form) of a decision that was
    not recorded, shown again on that row."""
    rules = {rule.name: rule for rule in Rules.from_document(screening_round.rules.document).areas}
    failed_pupil, failed_form = failed or (None, None)
    return [
        ShortlistRow(
            profile,
            explain_in_words(profile.explanation, rules),
            failed_form if profile.pupil_id == failed_pupil else None,
        )
        for profile in profiles
    ]
