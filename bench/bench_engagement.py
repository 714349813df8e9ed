"""Registers, flags and the caseload dashboard on a zone-sized PostgreSQL database.

    .venv/bin/python bench/bench_engagement.py                       # 10,000 children
    .venv/bin/python bench/bench_engagement.py --children 1000       # quicker

Fills a scratch database with COPY: `--children` enrolled children in schools of 250,
a Link Worker per 25 children, three services per school, each child allocated to two
and marked on every weekly session for `--weeks` weeks (about 100 register rows a
child), interactions every fortnight and a support plan each. Then measures, in this
process through Django's test client (server time, no network):

- recomputing every child's flags from scratch (`refresh_all_flags`);
- submitting a 30-child register, flags refreshed in the same request (target 150 ms);
- the caseload dashboard for a Link Worker of 25 and of 50 children: time and queries.
"""

import argparse
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import linkwork, scratch_postgres  # noqa: E402

CHILDREN_PER_SCHOOL = 250
CHILDREN_PER_WORKER = 25
SERVICES_PER_SCHOOL = 3


def fill(children: int, weeks: int, seed: int) -> dict:
    """Write the zone with COPY; returns the ids the measurements need."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from linkwork.accounts.models import Role, User
    from linkwork.core.upn import make_upn
    from linkwork.people.models import Cohort, Pupil
    from linkwork.schools.models import Area, School
    from linkwork.support.models import Partner, Service

    rng = random.Random(seed)
    today = dt.date.today()
    area = Area.objects.create(name="Bench Borough")
    schools = School.objects.bulk_create(
        School(urn=f"{700000 + s}", name=f"Bench School {s}", phase="primary", area=area)
        for s in range(max(1, children // CHILDREN_PER_SCHOOL))
    )
    partner = Partner.objects.create(code="BENCH", name="Bench Arts Trust")
    services = Service.objects.bulk_create(
        Service(
            code=f"S{school.pk}-{n}",
            partner=partner,
            name=f"Club {n}",
            school=school,
            weekday=rng.randrange(5),
            capacity=200,
            outcome_areas=["wellbeing"],
        )
        for school in schools
        for n in range(SERVICES_PER_SCHOOL)
    )
    by_school = {}
    for service in services:
        by_school.setdefault(service.school_id, []).append(service)
    cohort = Cohort.objects.create(code="BENCH", name="Bench cohort")
    password = make_password("demo-password-only")
    workers = User.objects.bulk_create(
        User(
            email=f"lw{n}@bench.example.org",
            role=Role.LINK_WORKER,
            password=password,
            name=f"Worker {n}",
        )
        for n in range(max(1, children // CHILDREN_PER_WORKER))
    )
    User.schools.through.objects.bulk_create(
        User.schools.through(user_id=w.pk, school_id=s.pk) for w in workers for s in schools
    )
    partner_user = User.objects.create(
        email="partner@bench.example.org", role=Role.PARTNER, partner=partner, password=password
    )
    start = today - dt.timedelta(weeks=weeks)
    cursor = connection.cursor().cursor
    with cursor.copy(
        "COPY people_pupil (upn, school_id, given_name, family_name, date_of_birth, "
        "year_group, sex, sen, statutory_status, received_on) FROM STDIN"
    ) as copy:
        for n in range(children):
            school = schools[n * len(schools) // children]
            copy.write_row(
                (
                    make_upn(f"30{n:010d}"),
                    school.pk,
                    f"Child{n}",
                    "Example",
                    dt.date(2015, 1, 1),
                    "5",
                    "",
                    "N",
                    "none",
                    today,
                )
            )
    pupils = list(Pupil.objects.order_by("pk").values_list("pk", "school_id"))
    with cursor.copy(
        "COPY people_consent (pupil_id, purpose, given_by, given_on) FROM STDIN"
    ) as copy:
        for pid, _ in pupils:
            for purpose in ("support", "partner_sharing", "evidence"):
                copy.write_row((pid, purpose, "parent", start))
    with cursor.copy(
        "COPY people_enrolment (pupil_id, cohort_id, enrolled_on, link_worker_id, end_reason) "
        "FROM STDIN"
    ) as copy:
        for n, (pid, _) in enumerate(pupils):
            copy.write_row(
                (pid, cohort.pk, start, workers[n // CHILDREN_PER_WORKER % len(workers)].pk, "")
            )
    allocations = []
    with cursor.copy(
        "COPY support_allocation (pupil_id, service_id, start_date) FROM STDIN"
    ) as copy:
        for pid, school_id in pupils:
            for service in rng.sample(by_school[school_id], 2):
                copy.write_row((pid, service.pk, start))
                allocations.append((pid, service))
    rows = 0
    with cursor.copy(
        "COPY support_registerentry (service_id, session_date, pupil_id, attended, engaged) "
        "FROM STDIN"
    ) as copy:
        for pid, service in allocations:
            first = start + dt.timedelta(days=(service.weekday - start.weekday()) % 7)
            keen = rng.random()
            day = first
            while day < today:
                attended = rng.random() < 0.5 + keen / 2
                copy.write_row(
                    (service.pk, day, pid, attended, (rng.random() < 0.7) if attended else None)
                )
                rows += 1
                day += dt.timedelta(days=7)
    with cursor.copy(
        "COPY support_interaction (pupil_id, occurred_on, minutes, kind, topics, note) FROM STDIN"
    ) as copy:
        for pid, _ in pupils:
            day = start + dt.timedelta(days=rng.randrange(14))
            while day < today:
                copy.write_row((pid, day, 20, "one_to_one", "[]", ""))
                day += dt.timedelta(days=rng.choice((7, 14, 21)))
    with cursor.copy(
        "COPY support_supportplan (pupil_id, started_on, next_review_due, informal_engagement, "
        "formal_engagement, developmental_support, specialist_support, needs_and_strengths) "
        "FROM STDIN"
    ) as copy:
        for pid, _ in pupils:
            due = today + dt.timedelta(days=rng.randrange(-20, 90))
            copy.write_row((pid, start, due, "", "", "", "", "{}"))
    # The register measured: a service of its own meeting today, 30 children on it.
    register_service = Service.objects.create(
        code="BENCH-REG",
        partner=partner,
        name="Bench register club",
        school=schools[0],
        weekday=today.weekday(),
        capacity=30,
    )
    first_school = [pid for pid, school_id in pupils if school_id == schools[0].pk][:30]
    with cursor.copy(
        "COPY support_allocation (pupil_id, service_id, start_date) FROM STDIN"
    ) as copy:
        for pid in first_school:
            copy.write_row((pid, register_service.pk, start))
    # A Link Worker with a double caseload, for the query count against caseload size.
    big = workers[0]
    with connection.cursor() as plain:
        plain.execute(
            "UPDATE people_enrolment SET link_worker_id = %s WHERE link_worker_id = %s",
            [big.pk, workers[1].pk],
        )
        plain.execute("ANALYZE")
    return {
        "register_rows": rows,
        "register_service": register_service,
        "register_children": first_school,
        "partner_user": partner_user,
        "worker_25": workers[2],
        "worker_50": big,
    }


class QueryCounter:
    """Counts the queries run on a connection (and their time) while installed."""

    def __init__(self):
        self.count = 0
        self.ms = 0.0
        self.slowest = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            took = (time.perf_counter() - started) * 1000
            self.count += 1
            self.ms += took
            self.slowest = sorted([*self.slowest, (took, sql[:160])], reverse=True)[:5]


def timed(fn, repeat: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), times


def measure(world: dict, repeat: int) -> None:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from linkwork.engagement.models import Flag
    from linkwork.engagement.services import refresh_all_flags
    from linkwork.support.models import RegisterEntry

    print(f"register rows: {RegisterEntry.objects.count():,}")
    started = time.perf_counter()
    changes = refresh_all_flags(actor=None)
    seconds = time.perf_counter() - started
    print(
        f"recompute all flags from scratch: {seconds:.1f} s "
        f"({len(changes.raised):,} flags raised, {Flag.objects.count():,} flags)"
    )

    client = Client()
    client.force_login(world["partner_user"])
    service = world["register_service"]
    url = reverse(
        "support:register", kwargs={"service_pk": service.pk, "date": dt.date.today().isoformat()}
    )
    children = world["register_children"]
    states = iter(["attended", "absent", "engaged"] * (repeat + 1))

    shown = {"state": ""}

    def submit():
        # Each submission changes every child's mark from what the page showed.
        state = next(states)
        data = {"save": "1"}
        for pid in children:
            data[f"seen-{pid}"] = shown["state"]
            data[f"mark-{pid}"] = state
        shown["state"] = state
        response = client.post(url, data)
        assert response.status_code == 302, response.status_code

    # The first submission creates the session and 30 rows; the rest correct every mark.
    counter = QueryCounter()
    profile = None
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    with connection.execute_wrapper(counter):
        median, times = timed(submit, repeat)
    if profile is not None:
        import pstats

        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    if os.environ.get("BENCH_VERBOSE"):
        for took, sql in counter.slowest:
            print(f"    {took:.0f} ms  {sql}")
    assert RegisterEntry.objects.filter(service=service).count() == len(children)
    print(
        f"submit a {len(children)}-child register with flag refresh: median {median:.0f} ms "
        f"(first {times[0]:.0f} ms, max {max(times):.0f} ms, {repeat} runs; target 150 ms; "
        f"{counter.count // repeat} queries, {counter.ms / repeat:.0f} ms in the database)"
    )

    from linkwork.support.services import RegisterMark, record_register

    def service_only():
        state = next(states)
        record_register(
            actor=world["partner_user"],
            service=service,
            session_date=dt.date.today(),
            marks=[RegisterMark(pid, state) for pid in children],
        )

    median, _ = timed(service_only, repeat)
    print(f"  of which record_register itself (flags included): median {median:.0f} ms")

    for key in ("worker_25", "worker_50"):
        worker = world[key]
        client.force_login(worker)
        caseload_url = reverse("support:caseload")
        client.get(caseload_url)
        counter = QueryCounter()
        with connection.execute_wrapper(counter):
            client.get(caseload_url)
        median, _ = timed(lambda url=caseload_url: client.get(url), repeat)
        size = worker.caseload.count()
        print(
            f"caseload dashboard, {size} children: median {median:.0f} ms, "
            f"{counter.count} queries ({counter.ms:.0f} ms in the database)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with scratch_postgres("linkwork_bench_engagement") as url:
        env = {**os.environ, "DATABASE_URL": url}
        subprocess.run(linkwork("migrate", "-v0"), env=env, check=True)
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linkwork.config.settings")
        import django

        django.setup()
        from django.conf import settings
        from django.db import connection

        settings.ALLOWED_HOSTS = ["testserver"]
        settings.STORAGES = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        started = time.perf_counter()
        world = fill(args.children, args.weeks, args.seed)
        print(
            f"zone of {args.children:,} enrolled children, {world['register_rows']:,} "
            f"register rows written in {time.perf_counter() - started:.0f} s"
        )
        measure(world, args.repeat)
        connection.close()


if __name__ == "__main__":
    main()
