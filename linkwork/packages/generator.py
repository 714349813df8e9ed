"""A synthetic zone data package (see spec/zone-package.md), deterministic by seed.

`generate_package` writes a realistic but plainly synthetic zone: schools in a few
boroughs, every pupil on roll with school data and a wellbeing survey, and the enrolled
children with consents, Link Workers, allocations, registers and interactions over two
school years. Rows are written as they are made, one school at a time, so time and
memory grow linearly with the number of children. `docs/demo.md` describes the result.
"""

import csv
import itertools
import math
import random
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from linkwork.core.upn import make_upn

from . import names

DAY = timedelta(days=1)
DEFAULT_START = date(2023, 9, 1)
CHILDREN_PER_LINK_WORKER = 25
SERVICES_PER_SCHOOL = 3
MAX_PARTNERS = 20
COHORTS = 2  # enrolled in the first two school years, each supported for two years

BOROUGHS = (
    ("Hammersmith and Fulham", "205"),
    ("Kensington and Chelsea", "207"),
    ("Westminster", "213"),
    ("Brent", "304"),
)

# (code stem, partner name ending, service name, outcome areas)
ACTIVITIES = (
    ("ARTS", "Arts Trust", "art club", "wellbeing;confidence"),
    ("FOOTBALL", "Football Foundation", "football", "relationships;confidence"),
    ("TUTOR", "Tutoring", "maths tutoring", "school"),
    ("READ", "Reading Partners", "reading club", "school"),
    ("MUSIC", "Music Collective", "music workshop", "wellbeing;confidence"),
    ("DRAMA", "Theatre Company", "drama club", "confidence;relationships"),
    ("COUNSEL", "Counselling Service", "counselling group", "wellbeing"),
    ("SPEECH", "Speech and Language", "speech and language group", "school;relationships"),
    ("MENTOR", "Mentoring", "mentoring", "confidence;relationships"),
    ("DANCE", "Dance Company", "dance", "wellbeing;confidence"),
)
ACTIVITY = {activity[0]: activity for activity in ACTIVITIES}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
TOPICS = (
    "wellbeing",
    "friendships",
    "attendance",
    "learning",
    "family",
    "behaviour",
    "aspirations",
    "transition",
    "plan",
    "sessions",
)
TOPIC_SETS = [
    ";".join(combination)
    for size in (1, 2, 3)
    for combination in itertools.combinations(sorted(TOPICS), size)
    if size < 3 or "plan" in combination
]
# (kind, cumulative weight, fewest minutes, most minutes)
INTERACTION_KINDS = (
    ("one_to_one", 0.55, 15, 45),
    ("group", 0.70, 30, 60),
    ("family", 0.85, 10, 40),
    ("school", 0.95, 10, 20),
    ("other", 1.00, 5, 15),
)

COLUMNS = {
    "schools": ("urn", "name", "phase", "local_authority"),
    "pupils": (
        "upn",
        "school_urn",
        "given_name",
        "family_name",
        "date_of_birth",
        "year_group",
        "sex",
        "fsm",
        "sen",
        "eal",
        "statutory_status",
    ),
    "school_attendance": (
        "upn",
        "period_start",
        "period_end",
        "possible_sessions",
        "present_sessions",
    ),
    "attainment": ("upn", "assessed_on", "subject", "value", "expected"),
    "scores": ("upn", "administered_on", "instrument", "scale", "respondent", "score"),
    "partners": ("code", "name"),
    "services": ("code", "partner_code", "name", "school_urn", "outcome_areas"),
    "link_workers": ("email", "name", "school_urns"),
    "enrolments": (
        "upn",
        "cohort",
        "enrolled_on",
        "link_worker_email",
        "ended_on",
        "end_reason",
    ),
    "consents": ("upn", "purpose", "given_by", "given_on", "withdrawn_on"),
    "allocations": ("upn", "service_code", "start_date", "end_date"),
    "registers": ("service_code", "session_date", "upn", "attended", "engaged"),
    "interactions": ("upn", "occurred_on", "minutes", "kind", "topics"),
}

SCREENING_YAML = """\
min_risk_areas: 2            # shortlisted when at risk in at least this many areas
priority_areas: [economic_disadvantage]
exclude_statutory: [CIN, CP, LAC]
areas:
  economic_disadvantage: {pupil_flag: fsm}
  attendance: {attendance_rate_below: 0.90}        # over the latest period on record
  emotional_wellbeing: {score: SDQ/emotional, at_risk_from: 5}
  relationships: {score: SDQ/peer, at_risk_from: 4}
  english: {attainment: reading, below_expected_by: 1}   # value <= expected - 1
  maths: {attainment: maths, below_expected_by: 1}
"""

EXPECTED_SCORE = 100  # attainment on a scaled-score-like scale, 100 = expected


# --- the school calendar -------------------------------------------------------------


def _on_or_after(day: date, weekday: int) -> date:
    return day + (weekday - day.weekday()) % 7 * DAY


def _on_or_before(day: date, weekday: int) -> date:
    return day - (day.weekday() - weekday) % 7 * DAY


def _last_monday(year: int, month: int) -> date:
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return _on_or_before(first_of_next - DAY, 0)


@dataclass(frozen=True)
class SchoolYear:
    """One English school year: six half-terms of school days (Monday to Friday)."""

    year: int
    half_terms: tuple[tuple[date, date], ...]

    @classmethod
    def starting(cls, year: int) -> "SchoolYear":
        autumn = date(year, 9, 3)
        if autumn.weekday() > 4:
            autumn = _on_or_after(autumn, 0)
        october = _last_monday(year, 10)
        december = _on_or_before(date(year, 12, 20), 4)
        january = _on_or_after(date(year + 1, 1, 5), 0)
        february = _on_or_after(date(year + 1, 2, 12), 0)
        easter = _on_or_before(date(year + 1, 3, 31), 4)
        may = _last_monday(year + 1, 5)
        july = _on_or_before(date(year + 1, 7, 22), 4)
        return cls(
            year,
            (
                (autumn, october - 3 * DAY),
                (october + 7 * DAY, december),
                (january, february - 3 * DAY),
                (february + 7 * DAY, easter),
                (easter + 17 * DAY, may - 3 * DAY),
                (may + 7 * DAY, july),
            ),
        )

    @property
    def first_day(self) -> date:
        return self.half_terms[0][0]

    @property
    def last_day(self) -> date:
        return self.half_terms[-1][1]

    def school_days(self) -> list[date]:
        days = []
        for first, last in self.half_terms:
            day = first
            while day <= last:
                if day.weekday() < 5:
                    days.append(day)
                day += DAY
        return days


def _school_days_between(first: date, last: date) -> int:
    whole_weeks, rest = divmod((last - first).days + 1, 7)
    days = whole_weeks * 5
    weekday = first.weekday()
    for offset in range(rest):
        if (weekday + offset) % 7 < 5:
            days += 1
    return days


# --- the plan: schools, partners, services, Link Workers -------------------------------


@dataclass
class SchoolPlan:
    index: int
    urn: str
    name: str
    phase: str
    borough: str
    la_code: str
    dfe_number: str
    roll: int
    enrolled: int
    services: list  # of (code, weekday)
    link_workers: list  # one email per enrolled child, in enrolment order


def _split(total: int, weights: list[int]) -> list[int]:
    """`total` split in proportion to `weights` (largest remainder, ties to the first)."""
    whole = sum(weights)
    shares = [total * w // whole for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def _plan_schools(rng: random.Random, children: int) -> list[SchoolPlan]:
    target = children * rng.uniform(6.5, 7.5)
    places = names.place_names(rng)
    rolls = []
    phases = []
    while sum(rolls) < target or not rolls:
        if target - sum(rolls) >= 900 and rng.random() < 0.25:
            phases.append("secondary")
            rolls.append(rng.randint(900, 1400))
        else:
            phases.append("primary")
            rolls.append(rng.randint(200, 450))
    count = len(rolls)
    boroughs = BOROUGHS[: min(count, 3 if count < 12 else 4)]
    enrolled = _split(children, rolls)
    urn = rng.randint(100000, 140000)
    dfe_numbers: dict[str, int] = {}
    plans = []
    for index, (phase, roll) in enumerate(zip(phases, rolls, strict=True)):
        borough, la_code = boroughs[index % len(boroughs)]
        urn += rng.randint(1, 40)
        base = 2000 if phase == "primary" else 4000
        dfe = dfe_numbers.get(la_code + phase, base) + rng.randint(1, 4)
        dfe_numbers[la_code + phase] = dfe
        place = next(places)
        name = f"{place} Primary School" if phase == "primary" else f"{place} Academy"
        plans.append(
            SchoolPlan(
                index=index,
                urn=str(urn),
                name=name,
                phase=phase,
                borough=borough,
                la_code=la_code,
                dfe_number=f"{dfe:04d}",
                roll=roll,
                enrolled=enrolled[index],
                services=[],
                link_workers=[],
            )
        )
    return plans


def _plan_partners(rng: random.Random, schools: list[SchoolPlan]) -> list[tuple[str, str]]:
    count = min(MAX_PARTNERS, max(SERVICES_PER_SCHOOL, SERVICES_PER_SCHOOL * len(schools)))
    places = names.place_names(rng)
    partners = []
    for i in range(count):
        stem, ending, _, _ = ACTIVITIES[i % len(ACTIVITIES)]
        partners.append((f"{stem}{i // len(ACTIVITIES) + 1}", f"{next(places)} {ending}"))
    for school in schools:
        for code, _ in rng.sample(partners, SERVICES_PER_SCHOOL):
            school.services.append((f"{code}-{school.urn}", rng.randrange(5)))
    return partners


def _plan_link_workers(rng: random.Random, schools: list[SchoolPlan]) -> list[tuple]:
    """Link Workers in school order, each holding up to 25 children; (email, name, urns)."""
    workers: list[list] = []
    emails: set[str] = set()
    room = 0
    for school in schools:
        for _ in range(school.enrolled):
            if room == 0:
                given, family = names.given_name(rng), names.family_name(rng)
                email = f"{given}.{family}@example.org".lower()
                n = 2
                while email in emails:
                    email = f"{given}.{family}{n}@example.org".lower()
                    n += 1
                emails.add(email)
                workers.append([email, f"{given} {family}", []])
                room = CHILDREN_PER_LINK_WORKER
            worker = workers[-1]
            if school.urn not in worker[2]:
                worker[2].append(school.urn)
            school.link_workers.append(worker[0])
            room -= 1
    return [(email, name, ";".join(urns)) for email, name, urns in workers]


# --- pupils ------------------------------------------------------------------------------


class Pupil:
    """One pupil's generated facts; kept only while their school is being written."""

    __slots__ = tuple(
        "upn given family born year_group grade sex fsm sen eal statutory absence reading "
        "maths emotional peer years attendance attainment surveys cohort".split()
    )


def _clamp(value: float, low: int, high: int) -> int:
    return max(low, min(high, round(value)))


def _make_pupils(rng: random.Random, school: SchoolPlan, years: list[SchoolYear]) -> list:
    """Every pupil on roll in the final year, with their data before any support."""
    primary = school.phase == "primary"
    grades = list(range(0, 7)) if primary else list(range(7, 12))
    per_grade = _split(school.roll, [1] * len(grades))
    final = years[-1].year
    first_grade = grades[0]
    possible = {ht: 2 * _school_days_between(*ht) for year in years for ht in year.half_terms}
    serials: dict[int, int] = {}
    pupils = []
    for grade, count in zip(grades, per_grade, strict=True):
        for _ in range(count):
            p = Pupil()
            joined = final - (grade if primary else grade - 7)
            serials[joined] = serials.get(joined, 0) + 1
            p.upn = make_upn(
                f"{school.la_code}{school.dfe_number}{joined % 100:02d}{serials[joined]:03d}"
            )
            p.given, p.family = names.given_name(rng), names.family_name(rng)
            p.born = date(final - grade - 5, 9, 1) + rng.randrange(365) * DAY
            p.grade = grade
            p.year_group = "R" if grade == 0 else str(grade)
            r = rng.random()
            p.sex = "F" if r < 0.495 else "M" if r < 0.99 else "X" if r < 0.995 else ""
            need = rng.gauss(0, 1)
            p.fsm = 0.6 * need + 0.8 * rng.gauss(0, 1) > 0.674  # a quarter
            sen = 0.4 * need + 0.917 * rng.gauss(0, 1)
            p.sen = "E" if sen > 2.054 else "K" if sen > 0.954 else "N"
            p.eal = rng.random() < 0.2
            r = rng.random()
            p.statutory = (
                "CIN" if r < 0.018 else "CP" if r < 0.024 else "LAC" if r < 0.03 else "none"
            )
            p.absence = min(0.5, math.exp(-3.1 + 0.9 * (0.5 * need + 0.866 * rng.gauss(0, 1))))
            reading = -0.4 * need + 0.917 * rng.gauss(0, 1)
            p.reading = 103 + 7 * reading
            p.maths = 103 + 7 * (0.6 * reading + 0.8 * rng.gauss(0, 1))
            p.emotional = 2.8 + 2.3 * (0.4 * need + 0.917 * rng.gauss(0, 1))
            p.peer = 2.0 + 1.8 * (0.4 * need + 0.917 * rng.gauss(0, 1))
            # The years this pupil has been at the school.
            p.years = [y for y in years if grade - (final - y.year) >= first_grade]
            p.attendance = []
            p.attainment = []
            p.surveys = []
            for year in p.years:
                for first, last in year.half_terms:
                    absence = min(0.6, p.absence * math.exp(0.3 * rng.gauss(0, 1) - 0.045))
                    p.attendance.append((first, last, possible[(first, last)], absence))
                for when in (0, 1):  # autumn and summer assessments
                    p.attainment.append(
                        (year, when, p.reading + rng.gauss(0, 2), p.maths + rng.gauss(0, 2))
                    )
                p.surveys.append((year, p.emotional + rng.gauss(0, 1), p.peer + rng.gauss(0, 1)))
            p.cohort = None
            pupils.append(p)
    return pupils


def _risk_areas(p: Pupil, year: SchoolYear) -> int:
    """Risk areas by the rules written to screening.yaml, on the data of the year's autumn.

    Screening follows the first half-term, once its attendance is on record.
    """
    areas = int(p.fsm)
    for first, _, possible, absence in p.attendance:
        if first == year.first_day:
            areas += round(possible * (1 - absence)) < 0.9 * possible
    for survey_year, emotional, peer in p.surveys:
        if survey_year is year:
            areas += _clamp(emotional, 0, 10) >= 5
            areas += _clamp(peer, 0, 10) >= 4
    for attain_year, when, reading, maths in p.attainment:
        if attain_year is year and when == 0:
            areas += _clamp(reading, 80, 120) <= EXPECTED_SCORE - 1
            areas += _clamp(maths, 80, 120) <= EXPECTED_SCORE - 1
    return areas


def _choose_cohorts(rng: random.Random, school: SchoolPlan, pupils: list, years: list) -> list:
    """Mark the enrolled pupils: the most at risk, never statutory, half in each cohort."""
    primary = school.phase == "primary"
    per_year = _split(school.enrolled, [1] * COHORTS)
    enrolled = []
    for year, wanted in zip(years[:COHORTS], per_year, strict=True):
        offset = year.year - years[-1].year
        candidates = []
        for p in pupils:
            grade = p.grade + offset
            if p.cohort is not None or p.statutory != "none" or year not in p.years:
                continue
            if not (1 <= grade <= 6 if primary else 7 <= grade <= 10):
                continue
            priority = _risk_areas(p, year) + 0.5 * p.fsm + 1.5 * rng.random()
            candidates.append((-priority, p.upn, p))
        candidates.sort(key=lambda c: (c[0], c[1]))
        for _, _, p in candidates[:wanted]:
            p.cohort = year
            enrolled.append(p)
    return enrolled


# --- writing -------------------------------------------------------------------------------


class _Files:
    """The package's CSV files, open together, counting rows as they are written.

    Rows of a school's pupils are buffered in `rows` and written when the school is done.
    """

    def __init__(self, path: Path):
        self.handles = {}
        self.writers = {}
        self.counts = dict.fromkeys(COLUMNS, 0)
        self.rows = {resource: [] for resource in COLUMNS}
        for resource, columns in COLUMNS.items():
            handle = open(path / f"{resource}.csv", "w", encoding="utf-8", newline="")
            self.handles[resource] = handle
            self.writers[resource] = csv.writer(handle, lineterminator="\n")
            self.writers[resource].writerow(columns)

    def write_many(self, resource: str, rows: list) -> None:
        self.writers[resource].writerows(rows)
        self.counts[resource] += len(rows)

    def flush(self) -> None:
        for resource, rows in self.rows.items():
            if rows:
                self.write_many(resource, rows)
                rows.clear()

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()


def _yn(flag: bool) -> str:
    return "Y" if flag else "N"


def _weekday(day: date) -> date:
    return day if day.weekday() < 5 else _on_or_after(day, 0)


@dataclass
class _Child:
    """An enrolled child's programme: dates, Link Worker, and how it goes for them."""

    enrolled_on: date
    ended_on: date  # the planned end, perhaps after the data ends
    end_reason: str
    link_worker: str
    withdrawn_on: date | None
    consents: list
    allocations: list  # [service code, weekday, start, end]
    disengages_on: date | None
    attendance: float
    engagement: float
    improvement: float
    gain: float


def _plan_child(rng, school: SchoolPlan, p: Pupil, link_worker: str, years: list) -> _Child:
    """A child's two years: consents (some late), an end for a few, services, engagement."""
    year = p.cohort
    following = years[years.index(year) + 1]
    autumn2, spring1 = year.half_terms[1][0], year.half_terms[2][0]
    if rng.random() < 0.9:
        enrolled_on = _weekday(autumn2 + rng.randint(0, 34) * DAY)
    else:
        enrolled_on = _weekday(spring1 + rng.randint(0, 25) * DAY)
    base = _weekday(enrolled_on - rng.randint(0, 10) * DAY)
    r = rng.random()
    given_by = "parent" if r < 0.85 else "carer" if r < 0.95 or p.grade < 9 else "child"
    late = {"partner_sharing": 0.06, "evidence": 0.12}
    consents = []
    for purpose in ("support", "partner_sharing", "evidence", "research"):
        if purpose == "research" and rng.random() > 0.35:
            continue
        given_on = base
        if rng.random() < late.get(purpose, 0):
            given_on = _weekday(enrolled_on + rng.randint(14, 70) * DAY)
        consents.append([purpose, given_by, given_on])
    ended_on, end_reason, withdrawn_on = following.last_day, "Completed the programme", None
    last = ended_on
    r = rng.random()
    if r < 0.05:
        if r < 0.02:
            latest = max(c[2] for c in consents)
            early_end = _weekday(latest + rng.randint(40, 400) * DAY)
            reason = "Consent withdrawn"
        else:
            early_end = _weekday(enrolled_on + rng.randint(90, 450) * DAY)
            reason = "Moved school"
        if early_end < ended_on:
            ended_on, end_reason, last = early_end, reason, early_end - DAY
            withdrawn_on = early_end if reason == "Consent withdrawn" else None
    consented = max(enrolled_on, *(c[2] for c in consents if c[0] != "evidence"))
    start = _weekday(consented + rng.randint(7, 28) * DAY)
    chosen = rng.sample(school.services, 1 if rng.random() < 0.45 else 2)
    allocations = []
    for n, (code, weekday) in enumerate(chosen):
        begins = start if n == 0 else _weekday(start + rng.randint(0, 40) * DAY)
        allocations.append([code, weekday, begins, last])
    remaining = [s for s in school.services if s not in chosen]
    if remaining and rng.random() < 0.3:
        # Moved to another service for the second year.
        code, weekday = rng.choice(remaining)
        allocations[0][3] = min(last, year.last_day)
        second_year = _weekday(following.first_day + rng.randint(7, 21) * DAY)
        allocations.append([code, weekday, second_year, last])
    allocations = [a for a in allocations if a[3] >= a[2]]
    disengages = rng.random() < 0.18
    return _Child(
        enrolled_on=enrolled_on,
        ended_on=ended_on,
        end_reason=end_reason,
        link_worker=link_worker,
        withdrawn_on=withdrawn_on,
        consents=consents,
        allocations=allocations,
        disengages_on=start + rng.randint(30, 300) * DAY if disengages else None,
        attendance=rng.uniform(0.72, 0.97),
        engagement=rng.uniform(0.55, 0.95),
        improvement=rng.gauss(0.3, 1.0) if disengages else rng.gauss(1.8, 1.5),
        gain=rng.gauss(0.5, 1.5) if disengages else rng.gauss(2.0, 2.0),
    )


def _effect(child: _Child | None, on: date, full_after_days: int) -> float:
    """How much of the child's improvement has happened by `on` (0 before enrolment)."""
    if child is None or on <= child.enrolled_on:
        return 0.0
    return min(1.0, (on - child.enrolled_on).days / full_after_days)


class _Calendar:
    """School days by weekday across the generated years, with ISO strings ready."""

    def __init__(self, years: list[SchoolYear], last_day: date):
        self.days = {wd: [] for wd in range(5)}
        self.weeks: list[list[date]] = []
        for year in years:
            for day in year.school_days():
                if day > last_day:
                    break
                self.days[day.weekday()].append(day)
                if not self.weeks or day - self.weeks[-1][0] >= 7 * DAY or day.weekday() == 0:
                    self.weeks.append([])
                self.weeks[-1].append(day)
        self.iso = {wd: [d.isoformat() for d in days] for wd, days in self.days.items()}


def _write_school(
    rng, files: _Files, school: SchoolPlan, years: list, calendar: _Calendar, last_day: date
) -> None:
    pupils = _make_pupils(rng, school, years)
    enrolled = _choose_cohorts(rng, school, pupils, years)
    children = {
        p.upn: _plan_child(rng, school, p, lw, years)
        for p, lw in zip(enrolled, school.link_workers, strict=False)
    }
    # Per school, the dates of the wellbeing survey, the follow-up survey and assessments.
    survey_on = {y.year: _weekday(y.first_day + rng.randint(12, 24) * DAY) for y in years}
    follow_up_on = {y.year: _weekday(y.half_terms[5][0] + rng.randint(18, 30) * DAY) for y in years}
    assessed_on = {(y.year, 0): _weekday(y.first_day + rng.randint(25, 35) * DAY) for y in years}
    assessed_on |= {(y.year, 1): _weekday(y.last_day - rng.randint(10, 20) * DAY) for y in years}
    assessed_iso = {key: on.isoformat() for key, on in assessed_on.items()}
    half_term_iso = {
        ht: (ht[0].isoformat(), ht[1].isoformat()) for y in years for ht in y.half_terms
    }
    pupil_rows = files.rows["pupils"]
    attendance_rows = files.rows["school_attendance"]
    attainment_rows = files.rows["attainment"]
    for p in pupils:
        upn = p.upn
        child = children.get(upn)
        pupil_rows.append(
            (upn, school.urn, p.given, p.family, p.born.isoformat(), p.year_group, p.sex)
            + (_yn(p.fsm), p.sen, _yn(p.eal), p.statutory)
        )
        for first, last, possible, absence in p.attendance:
            if last > last_day:
                continue
            if child is not None and last > child.enrolled_on:
                change = _effect(child, last, 200)
                absence *= 1 + (0.5 if child.disengages_on else -0.3) * change
            present = round(possible * (1 - min(absence, 0.9)))
            attendance_rows.append((upn, *half_term_iso[(first, last)], possible, present))
        for year, when, reading, maths in p.attainment:
            key = (year.year, when)
            if assessed_on[key] > last_day:
                continue
            gain = child.gain * _effect(child, assessed_on[key], 365) if child else 0.0
            on = assessed_iso[key]
            reading = max(80, min(120, round(reading + gain)))
            maths = max(80, min(120, round(maths + gain)))
            attainment_rows.append((upn, on, "reading", reading, EXPECTED_SCORE))
            attainment_rows.append((upn, on, "maths", maths, EXPECTED_SCORE))
        for year, emotional, peer in p.surveys:
            _write_survey(files, p, child, survey_on[year.year], year, emotional, peer, last_day)
        if child is None:
            continue
        # Follow-up surveys for enrolled children each July while enrolled.
        for year in years:
            on = follow_up_on[year.year]
            if child.enrolled_on < on <= min(child.ended_on, last_day):
                emotional, peer = p.emotional + rng.gauss(0, 1), p.peer + rng.gauss(0, 1)
                _write_survey(files, p, child, on, year, emotional, peer, last_day)
        _write_child(rng, files, upn, p, child, calendar, last_day)
    files.flush()


def _write_survey(files, p: Pupil, child, on: date, year, emotional, peer, last_day) -> None:
    """The SDQ emotional, peer and prosocial scale scores (the child's own for Year 3 up,
    else a parent's) and, from Year 4, the child's Stirling wellbeing score."""
    if on > last_day:
        return
    grade = p.grade + year.year - p.years[-1].year
    respondent = "self" if grade >= 3 else "parent"
    better = child.improvement * _effect(child, on, 300) if child else 0.0
    iso = on.isoformat()
    # Prosocial behaviour and the Stirling scale follow the child's difficulties, with
    # noise of their own drawn from the pupil and date (so the main stream is unchanged).
    own = random.Random(f"{p.upn}:{iso}")
    prosocial = 8.3 - 0.35 * (p.emotional - 2.8) - 0.25 * (p.peer - 2.0) + own.gauss(0, 1.2)
    wellbeing = 46 - 1.8 * (p.emotional - 2.8) - 1.2 * (p.peer - 2.0) + own.gauss(0, 5)
    emotional = max(0, min(10, round(emotional - better)))
    peer = max(0, min(10, round(peer - 0.7 * better)))
    rows = files.rows["scores"]
    rows.append((p.upn, iso, "SDQ", "emotional", respondent, emotional))
    rows.append((p.upn, iso, "SDQ", "peer", respondent, peer))
    rows.append(
        (p.upn, iso, "SDQ", "prosocial", respondent, max(0, min(10, round(prosocial + better))))
    )
    if grade >= 4:  # the Stirling scale is for ages 8 to 15, answered by the child
        wellbeing = max(12, min(60, round(wellbeing + 3 * better)))
        rows.append((p.upn, iso, "SCWBS", "total", "self", wellbeing))


def _interaction_kind(r: float) -> tuple[str, int, int]:
    for kind, weight, fewest, most in INTERACTION_KINDS:
        if r < weight:
            return kind, fewest, most
    return INTERACTION_KINDS[-1][0], INTERACTION_KINDS[-1][2], INTERACTION_KINDS[-1][3]


def _write_child(
    rng, files: _Files, upn: str, p: Pupil, child: _Child, calendar: _Calendar, last_day: date
) -> None:
    if child.enrolled_on > last_day:
        return
    ended = child.ended_on if child.ended_on <= last_day else None
    files.rows["enrolments"].append(
        (upn, str(p.cohort.year), child.enrolled_on.isoformat(), child.link_worker)
        + ((ended.isoformat(), child.end_reason) if ended else ("", ""))
    )
    withdrawn = child.withdrawn_on.isoformat() if ended and child.withdrawn_on else ""
    for purpose, given_by, given_on in child.consents:
        if given_on <= last_day:
            files.rows["consents"].append((upn, purpose, given_by, given_on.isoformat(), withdrawn))
    for code, weekday, start, end in child.allocations:
        if start > last_day:
            continue
        shown_end = end.isoformat() if end <= last_day else ""
        files.rows["allocations"].append((upn, code, start.isoformat(), shown_end))
        days = calendar.days[weekday]
        iso = calendar.iso[weekday]
        first = bisect_left(days, start)
        stop = bisect_right(days, min(end, last_day))
        rows = []
        draw = rng.random
        disengages_on = child.disengages_on
        for i in range(first, stop):
            attend_p = child.attendance
            engage_p = child.engagement
            if disengages_on and days[i] > disengages_on:
                fall = min(0.65, (days[i] - disengages_on).days / 150)
                attend_p -= fall
                engage_p -= fall
            if draw() < attend_p:
                rows.append((code, iso[i], upn, "Y", "Y" if draw() < engage_p else "N"))
            else:
                rows.append((code, iso[i], upn, "N", ""))
        files.write_many("registers", rows)
    # Interactions: most term weeks, one contact on a school day of that week.
    stop_on = min(child.ended_on, last_day)
    rows = []
    for week in calendar.weeks:
        if week[-1] < child.enrolled_on:
            continue
        if week[0] > stop_on:
            break
        if rng.random() > 0.8:
            continue
        day = rng.choice(week)
        if day < child.enrolled_on or day > stop_on:
            continue
        kind, fewest, most = _interaction_kind(rng.random())
        topics = TOPIC_SETS[int(rng.random() * len(TOPIC_SETS))]
        rows.append((upn, day.isoformat(), rng.randint(fewest, most) // 5 * 5, kind, topics))
    files.write_many("interactions", rows)


CONTRACT_YAML = """\
code: ZONE-1
name: Demonstration zone outcomes contract
starts_on: {first}-09-01
ends_on: {end}-08-31
cohorts: [{cohorts}]
periods:
{periods}
payers:
  - {{code: LA, name: West London boroughs (joint commissioning)}}
  - {{code: FUND, name: National outcomes fund, cap: {fund_cap}.00}}
  - {{code: PHIL, name: Philanthropy}}
caps:
  per_child: 3000.00
  contract: {contract_cap}.00
triggers:
  - code: signup
    kind: enrolment
    price: 400.00
    shares: {{LA: 0.5, FUND: 0.3, PHIL: 0.2}}
  - code: engaged
    kind: engagement
    price: 150.00
    max_per_child: 6
    min_sessions: 6
    min_attendance: 0.75
    min_engaged: 0.5
    shares: {{LA: 0.5, FUND: 0.3, PHIL: 0.2}}
  - code: wellbeing
    kind: outcome
    score: SDQ/emotional
    at_risk_from: 5
    achieved_when: either
    sd: 2.0
    reliability: 0.8
    follow_up_after_days: 230
    price: 700.00
    shares: {{LA: 0.5, FUND: 0.3, PHIL: 0.2}}
  - code: relationships
    kind: outcome
    score: SDQ/peer
    at_risk_from: 4
    achieved_when: no_longer_at_risk
    follow_up_after_days: 230
    price: 500.00
    shares: {{LA: 0.5, FUND: 0.3, PHIL: 0.2}}
  - code: reading
    kind: outcome
    attainment: reading
    below_expected_by: 1
    achieved_when: gap_closed_by
    min_gain: 2
    follow_up_after_days: 230
    price: 500.00
    shares: {{LA: 1}}
  - code: maths
    kind: outcome
    attainment: maths
    below_expected_by: 1
    achieved_when: gap_closed_by
    min_gain: 2
    follow_up_after_days: 230
    price: 500.00
    shares: {{LA: 1}}
"""


def _contract_yaml(years: list[SchoolYear], children: int) -> str:
    """The zone's outcomes contract: both cohorts, a claim period per term, to the last August."""
    periods = []
    for year in years:
        y, name = year.year, f"{year.year}-{(year.year + 1) % 100:02d}"
        for term, starts_on, ends_on in (
            ("T1", f"{y}-09-01", f"{y}-12-31"),
            ("T2", f"{y + 1}-01-01", f"{y + 1}-04-30"),
            ("T3", f"{y + 1}-05-01", f"{y + 1}-08-31"),
        ):
            periods.append(
                f"  - {{code: {name}-{term}, starts_on: {starts_on}, ends_on: {ends_on}}}"
            )
    return CONTRACT_YAML.format(
        first=years[0].year,
        end=years[-1].year + 1,
        cohorts=", ".join(f'"{year.year}"' for year in years[:COHORTS]),
        periods="\n".join(periods),
        fund_cap=children * 600,
        contract_cap=children * 2500,
    )


def service_weekdays(*, children: int, seed: int) -> dict[str, int]:
    """The weekday (0 = Monday) each service of the zone `generate_package` writes for
    these arguments meets on: its registers fall on that day. The package has no column
    for it; a zone sets it in the admin."""
    rng = random.Random(f"linkwork-zone-{seed}")
    schools = _plan_schools(rng, children)
    _plan_partners(rng, schools)  # gives each school its services, as generate_package does
    return {code: weekday for school in schools for code, weekday in school.services}


def generate_package(
    path, *, children: int, seed: int, start: date | None = None, until: date | None = None
) -> dict[str, int]:
    """Write a synthetic zone package for `children` enrolled children into `path`.

    Three school years from the one containing `start` (default 2023-09-01); nothing is
    dated after `until` if given. The same arguments write byte-identical files.
    Returns the number of rows written to each CSV file.
    """
    if children < 1:
        raise ValueError("children must be at least 1")
    start = start or DEFAULT_START
    first_year = start.year if start.month >= 8 else start.year - 1
    years = [SchoolYear.starting(first_year + n) for n in range(COHORTS + 1)]
    last_day = min(years[-1].last_day, until) if until else years[-1].last_day
    path = Path(path)
    (path / "contracts").mkdir(parents=True, exist_ok=True)

    rng = random.Random(f"linkwork-zone-{seed}")
    schools = _plan_schools(rng, children)
    partners = _plan_partners(rng, schools)
    link_workers = _plan_link_workers(rng, schools)
    calendar = _Calendar(years, last_day)

    files = _Files(path)
    try:
        for school in schools:
            files.rows["schools"].append((school.urn, school.name, school.phase, school.borough))
            for code, weekday in school.services:
                partner_code = code.rsplit("-", 1)[0]
                activity = ACTIVITY[partner_code.rstrip("0123456789")]
                name = f"{WEEKDAYS[weekday]} {activity[2]}"
                files.rows["services"].append((code, partner_code, name, school.urn, activity[3]))
        files.rows["partners"] += partners
        files.rows["link_workers"] += link_workers
        files.flush()
        for school in schools:
            school_rng = random.Random(f"linkwork-zone-{seed}-{school.index}")
            _write_school(school_rng, files, school, years, calendar, last_day)
    finally:
        files.close()
    (path / "screening.yaml").write_text(SCREENING_YAML, encoding="utf-8")
    (path / "contracts" / "ZONE-1.yaml").write_text(
        _contract_yaml(years, children), encoding="utf-8"
    )
    return dict(files.counts)
