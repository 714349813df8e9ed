"""Server time and query count of the child pages at zone scale, on PostgreSQL.

    .venv/bin/python bench/bench_pages.py                # 10,000 children, 20 requests each
    .venv/bin/python bench/bench_pages.py --children 2000 --repeat 10   # quicker

Builds a zone in a scratch database with bulk inserts (schools, children, enrolments,
consents, allocations, registers, interactions, scored questionnaires), then requests the
child list (page 1, a name search, a filtered page, a deep page) and one well-documented
child's profile as a programme manager and as a Link Worker, through Django's test client
in this process. Prints the median and slowest server time and the queries per request.
"""

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import scratch_postgres  # noqa: E402

SCHOOLS = 20
BATCH = 5000


def build_zone(children: int, seed: int = 7):
    """Bulk-insert a zone; returns (manager, the child's Link Worker, a profiled child)."""
    from linkwork.accounts.models import Role, User
    from linkwork.core.upn import make_upn
    from linkwork.measures.models import Administration, Score
    from linkwork.packages.names import family_name, given_name
    from linkwork.people.models import Cohort, Consent, Enrolment, Pupil, Purpose
    from linkwork.schools.models import Area, School
    from linkwork.support.models import Allocation, Interaction, Partner, RegisterEntry, Service

    rng = random.Random(seed)
    today = dt.date.today()
    area = Area.objects.create(name="Bench Borough", la_code="998")
    schools = School.objects.bulk_create(
        School(urn=f"{800000 + i}", name=f"Bench School {i:02d}", phase="primary", area=area)
        for i in range(SCHOOLS)
    )
    partners = Partner.objects.bulk_create(
        Partner(code=f"P{i}", name=f"Bench Partner {i}") for i in range(5)
    )
    services = Service.objects.bulk_create(
        Service(code=f"S{s.pk}-{j}", partner=partners[(i + j) % 5], name=f"Club {i}-{j}", school=s)
        for i, s in enumerate(schools)
        for j in range(2)
    )
    cohorts = Cohort.objects.bulk_create(
        [Cohort(code="2024", name="Cohort 2024"), Cohort(code="2025", name="Cohort 2025")]
    )
    manager = User.objects.create_user(
        "bench-manager@example.org", role=Role.MANAGER, name="Bench Manager"
    )
    workers = []
    for i, school in enumerate(schools):
        worker = User.objects.create_user(
            f"bench-lw{i}@example.org", role=Role.LINK_WORKER, name=f"Bench Worker {i}"
        )
        worker.schools.set([school])
        workers.append(worker)

    pupils = Pupil.objects.bulk_create(
        (
            Pupil(
                upn=make_upn(f"{9100000000 + n:012d}"),
                school=schools[n % SCHOOLS],
                given_name=given_name(rng),
                family_name=family_name(rng),
                year_group=str(1 + n % 6),
                date_of_birth=dt.date(2014 + n % 6, 1 + n % 12, 1),
            )
            for n in range(children)
        ),
        batch_size=BATCH,
    )
    enrolled = [p for i, p in enumerate(pupils) if i % 10 < 3]
    worker_for = {school.pk: worker for school, worker in zip(schools, workers, strict=True)}
    start = today - dt.timedelta(days=200)
    Enrolment.objects.bulk_create(
        (
            Enrolment(
                pupil=p,
                cohort=cohorts[i % 2],
                enrolled_on=start,
                link_worker=worker_for[p.school_id],
                ended_on=today - dt.timedelta(days=5) if i % 3 == 0 else None,
            )
            for i, p in enumerate(enrolled)
        ),
        batch_size=BATCH,
    )
    Consent.objects.bulk_create(
        (
            Consent(pupil=p, purpose=purpose, given_by="parent", given_on=start)
            for p in enrolled
            for purpose in Purpose
        ),
        batch_size=BATCH,
    )
    by_school = {s.pk: [v for v in services if v.school_id == s.pk] for s in schools}
    Allocation.objects.bulk_create(
        (
            Allocation(pupil=p, service=by_school[p.school_id][0], start_date=start)
            for p in enrolled
        ),
        batch_size=BATCH,
    )
    days = [today - dt.timedelta(days=7 * w) for w in range(1, 21)]
    RegisterEntry.objects.bulk_create(
        (
            RegisterEntry(
                service=by_school[p.school_id][0],
                session_date=day,
                pupil=p,
                attended=(p.pk + k) % 5 != 0,
                engaged=(p.pk + k) % 5 not in (0, 1),
            )
            for p in enrolled
            for k, day in enumerate(days)
        ),
        batch_size=BATCH,
    )
    Interaction.objects.bulk_create(
        (
            Interaction(
                pupil=p,
                occurred_on=today - dt.timedelta(days=3 * k + 1),
                minutes=20,
                kind="one_to_one",
                topics=["friendships"],
                note="Weekly check-in.",
            )
            for p in enrolled
            for k in range(10)
        ),
        batch_size=BATCH,
    )
    administrations = Administration.objects.bulk_create(
        (
            Administration(
                pupil=p,
                instrument_code="SCWBS",
                respondent="self",
                administered_on=start + dt.timedelta(days=90 * k),
            )
            for p in enrolled
            for k in range(3)
        ),
        batch_size=BATCH,
    )
    Score.objects.bulk_create(
        (
            Score(administration=a, scale=scale, score=30 + a.pk % 20)
            for a in administrations
            for scale in ("total", "emotional")
        ),
        batch_size=BATCH,
    )
    # Every enrolled child has a full record; the second one is still enrolled.
    child = enrolled[1]
    return manager, worker_for[child.school_id], child


def measure(client, url, repeat):
    """Median and slowest wall time, median CPU time of this process, median time in
    the database (as the driver saw it), and queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):
        client.get(url)  # warm caches and connections
    times, cpu, db, queries = [], [], [], 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as context:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(context)
        db.append(sum(float(q["time"]) for q in context.captured_queries) * 1000)
    return (
        statistics.median(times),
        max(times),
        statistics.median(cpu),
        statistics.median(db),
        queries,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    with scratch_postgres("linkwork_bench_pages") as url, tempfile.TemporaryDirectory() as data:
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("LINKWORK_DATA_DIR", data)
        os.environ["DJANGO_SETTINGS_MODULE"] = "linkwork.config.settings"
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections
        from django.test import Client, override_settings
        from django.urls import reverse

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        manager, worker, child = build_zone(args.children)
        print(
            f"built a zone of {args.children:,} children in {time.perf_counter() - started:.1f} s"
        )
        with connections["default"].cursor() as cursor:
            cursor.execute("ANALYZE")

        listing = reverse("people:child_list")
        school = child.school_id
        cases = [
            ("child list, page 1", listing),
            ("child list, name search", f"{listing}?q={child.given_name[:3]}"),
            ("child list, enrolled in a school", f"{listing}?status=enrolled&school={school}"),
            ("child list, page 10", f"{listing}?page=10"),
            ("child profile", reverse("people:child_detail", args=[child.pk])),
        ]
        storages = {
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
        }
        rows = []
        with override_settings(
            STORAGES={
                "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
                **storages,
            }
        ):
            for label, user in (("manager", manager), ("Link Worker", worker)):
                client = Client()
                client.force_login(user)
                for case, case_url in cases:
                    if user is worker and case == "child list, page 10":
                        case_url = f"{listing}?page=5"
                        case = "child list, page 5"
                    rows.append((label, case, *measure(client, case_url, args.repeat)))
        connections.close_all()

    print(f"\n{args.children:,} children, {SCHOOLS} schools; median of {args.repeat} requests")
    print("(wall = server time seen by the client; cpu = Python time in this process;")
    print(" db = time waiting on PostgreSQL)\n")
    print(
        "| as | page | median wall ms | slowest wall ms | median cpu ms | median db ms | queries |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for label, case, median, slowest, cpu, db, queries in rows:
        print(
            f"| {label} | {case} | {median:.1f} | {slowest:.1f} | {cpu:.1f} | {db:.1f} "
            f"| {queries} |"
        )


if __name__ == "__main__":
    main()
