"""A full claim run on PostgreSQL, against the engagement counts as one SQL aggregate.

    .venv/bin/python bench/bench_claims.py                      # 10,000 children, ~3M rows
    .venv/bin/python bench/bench_claims.py --children 1000      # quicker
    .venv/bin/python bench/bench_claims.py --keep lw_bench_10k  # fill once, then reuse

Makes a scratch database, migrates it, writes a synthetic contract cohort with COPY
(children, evidence consents, register rows, two waves of SDQ scores and maths
attainment), stores a six-period contract, then times in a subprocess
`linkwork claims run BENCH P6` (every achievement so far; wall time, peak resident
memory and CPU time; the best of `--runs`, the stored claims deleted before each), the
same with `--json` (every line printed with its evidence, a draft's register rows
listed), and in this process the engagement counts of every child in every
period as one SQL aggregate, in each of three forms (periods joined, periods by
width_bucket, and each child's rows counted on their own). Prints them, the ratio to the
fastest, and the load average. With `--keep NAME` the database is kept and filled only
the first time; later runs delete the stored claims and time again.
"""

import argparse
import datetime as dt
import os
import random
import resource
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PG_SERVER, linkwork, run_measured, scratch_postgres  # noqa: E402

START = dt.date(2024, 9, 1)
PERIODS = [
    ("P1", "2024-09-01", "2024-12-31"),
    ("P2", "2025-01-01", "2025-04-30"),
    ("P3", "2025-05-01", "2025-08-31"),
    ("P4", "2025-09-01", "2025-12-31"),
    ("P5", "2026-01-01", "2026-04-30"),
    ("P6", "2026-05-01", "2026-08-31"),
]
CONTRACT = """\
code: BENCH
name: Benchmark contract
starts_on: 2024-09-01
ends_on: 2026-08-31
cohorts: ["2024"]
periods:
{periods}
payers:
  - {{code: LA, name: Local authority}}
  - {{code: FUND, name: National fund, cap: 2000000.00}}
  - {{code: PHIL, name: Philanthropy}}
caps:
  per_child: 2500.00
  contract: 20000000.00
triggers:
  - {{code: signup, kind: enrolment, price: 400.00, shares: {{LA: 0.5, FUND: 0.3, PHIL: 0.2}}}}
  - code: engaged
    kind: engagement
    price: 150.00
    max_per_child: 6
    min_sessions: 20
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
    price: 700.00
    shares: {{LA: 0.5, FUND: 0.3, PHIL: 0.2}}
  - code: maths
    kind: outcome
    attainment: maths
    achieved_when: gap_closed_by
    min_gain: 2
    price: 500.00
    shares: {{LA: 1}}
"""

AGGREGATE = """
SELECT r.pupil_id, p.code,
       count(*) AS sessions,
       count(*) FILTER (WHERE r.attended) AS attended,
       count(*) FILTER (WHERE r.attended AND r.engaged) AS engaged
FROM support_registerentry r
JOIN people_enrolment e ON e.pupil_id = r.pupil_id
JOIN people_cohort c ON c.id = e.cohort_id AND c.code = '2024'
JOIN (VALUES {values}) AS p(code, starts_on, ends_on)
  ON r.session_date BETWEEN p.starts_on AND p.ends_on
WHERE r.session_date >= e.enrolled_on
  AND (e.ended_on IS NULL OR r.session_date <= e.ended_on)
GROUP BY r.pupil_id, p.code
"""


def _copy(cursor, table, columns, rows):
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def populate(children: int, seed: int, sessions_per_child: int) -> dict:
    """Write the cohort with COPY through Django's connection; return row counts."""
    from django.db import connection

    from linkwork.core.upn import make_upn
    from linkwork.people.models import Cohort
    from linkwork.schools.models import Area, School
    from linkwork.support.models import Partner, Service

    rng = random.Random(seed)
    area = Area.objects.create(name="Bench Borough", la_code="998")
    schools = [
        School.objects.create(
            urn=f"{800000 + n}", name=f"Bench School {n}", phase="primary", area=area
        )
        for n in range(max(1, children // 1000))
    ]
    partner = Partner.objects.create(code="BENCH", name="Bench Partner")
    services = {
        school.pk: [
            Service.objects.create(
                code=f"B{school.urn}-{k}", partner=partner, name=f"Service {k}", school=school
            ).pk
            for k in range(3)
        ]
        for school in schools
    }
    cohort = Cohort.objects.create(code="2024")
    counts = {}
    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor
        pupils = []
        for n in range(children):
            school = schools[n % len(schools)]
            pupils.append(
                (
                    make_upn(f"{n:012d}"),
                    school.pk,
                    f"Bench{n}",
                    "Example",
                    dt.date(2015, 1, 1) + dt.timedelta(days=n % 365),
                    "4",
                    "",
                    None,
                    "",
                    None,
                    "none",
                    dt.date.today(),
                )
            )
        _copy(
            cursor,
            "people_pupil",
            [
                "upn",
                "school_id",
                "given_name",
                "family_name",
                "date_of_birth",
                "year_group",
                "sex",
                "fsm",
                "sen",
                "eal",
                "statutory_status",
                "received_on",
            ],
            pupils,
        )
        cursor.execute("SELECT id, school_id FROM people_pupil ORDER BY id")
        ids = cursor.fetchall()
        enrolled = {pk: START + dt.timedelta(days=1 + rng.randrange(45)) for pk, _ in ids}
        _copy(
            cursor,
            "people_enrolment",
            ["pupil_id", "cohort_id", "enrolled_on", "end_reason"],
            ((pk, cohort.pk, enrolled[pk], "") for pk, _ in ids),
        )
        consents = []
        for pk, _ in ids:
            given = enrolled[pk] - dt.timedelta(days=rng.randrange(-10, 20))
            withdrawn = given + dt.timedelta(days=400) if rng.random() < 0.03 else None
            consents.append((pk, "evidence", "parent", given, withdrawn))
        _copy(
            cursor,
            "people_consent",
            ["pupil_id", "purpose", "given_by", "given_on", "withdrawn_on"],
            consents,
        )
        counts["children"] = len(ids)

        def registers():
            for pk, school_id in ids:
                attend = 0.6 + rng.random() * 0.4
                engage = 0.3 + rng.random() * 0.7
                day = enrolled[pk]
                for k in range(sessions_per_child):
                    attended = rng.random() < attend
                    engaged = (rng.random() < engage) if attended else None
                    yield (
                        services[school_id][k % 3],
                        day + dt.timedelta(days=2 * k),
                        pk,
                        attended,
                        engaged,
                    )

        started = time.perf_counter()
        _copy(
            cursor,
            "support_registerentry",
            ["service_id", "session_date", "pupil_id", "attended", "engaged"],
            registers(),
        )
        counts["register rows"] = children * sessions_per_child
        counts["register COPY seconds"] = round(time.perf_counter() - started, 1)

        waves = [dt.date(2024, 9, 5), dt.date(2025, 7, 10)]
        _copy(
            cursor,
            "measures_administration",
            ["pupil_id", "instrument_code", "administered_on", "respondent"],
            ((pk, "SDQ", day, "self") for pk, _ in ids for day in waves),
        )
        cursor.execute("SELECT id, pupil_id, administered_on FROM measures_administration")
        administrations = cursor.fetchall()
        baseline = {pk: rng.randrange(0, 11) for pk, _ in ids}
        _copy(
            cursor,
            "measures_score",
            ["administration_id", "scale", "score"],
            (
                (
                    a,
                    "emotional",
                    baseline[p] if day == waves[0] else max(0, baseline[p] - rng.randrange(-2, 6)),
                )
                for a, p, day in administrations
            ),
        )
        counts["scores"] = len(administrations)
        _copy(
            cursor,
            "people_attainment",
            ["pupil_id", "assessed_on", "subject", "value", "expected"],
            (
                (pk, day, "maths", 90 + rng.randrange(20) + 2 * i, 100 + i)
                for pk, _ in ids
                for i, day in enumerate(waves)
            ),
        )
        cursor.execute("ANALYZE")
    return counts


# The same counts with each row's period found by width_bucket over the periods' first
# days rather than by joining the periods.
AGGREGATE_BY_BUCKET = """
SELECT r.pupil_id, width_bucket(r.session_date, '{bounds}'::date[]) AS period,
       count(*) AS sessions,
       count(*) FILTER (WHERE r.attended) AS attended,
       count(*) FILTER (WHERE r.attended AND r.engaged) AS engaged
FROM support_registerentry r
JOIN people_enrolment e ON e.pupil_id = r.pupil_id
JOIN people_cohort c ON c.id = e.cohort_id AND c.code = '2024'
WHERE r.session_date >= e.enrolled_on
  AND (e.ended_on IS NULL OR r.session_date <= e.ended_on)
  AND r.session_date BETWEEN DATE '{first}' AND DATE '{last}'
GROUP BY 1, 2
"""

# The same again, each child's rows counted on their own (an index range scan per
# enrolment, periods by width_bucket), as the claim run counts them.
AGGREGATE_PER_CHILD = """
SELECT e.pupil_id, t.period, t.sessions, t.attended, t.engaged
FROM people_enrolment e
JOIN people_cohort c ON c.id = e.cohort_id AND c.code = '2024'
CROSS JOIN LATERAL (
    SELECT width_bucket(r.session_date, '{bounds}'::date[]) AS period,
           count(*) AS sessions,
           count(*) FILTER (WHERE r.attended) AS attended,
           count(*) FILTER (WHERE r.attended AND r.engaged) AS engaged
    FROM support_registerentry r
    WHERE r.pupil_id = e.pupil_id AND r.session_date >= e.enrolled_on
      AND (e.ended_on IS NULL OR r.session_date <= e.ended_on)
      AND r.session_date BETWEEN DATE '{first}' AND DATE '{last}'
    GROUP BY 1
) AS t
"""

FORMS = {
    "periods joined": AGGREGATE,
    "periods by width_bucket": AGGREGATE_BY_BUCKET,
    "per child, periods by width_bucket": AGGREGATE_PER_CHILD,
}


def aggregate_seconds(form: str) -> tuple[float, int]:
    """The best of two runs of one form of the aggregate (rows fetched), and its rows."""
    from django.db import connection

    last = dt.date.fromisoformat(PERIODS[-1][2])
    bounds = [s for _, s, _ in PERIODS] + [str(last + dt.timedelta(days=1))]
    values = ", ".join(f"('{c}', DATE '{s}', DATE '{e}')" for c, s, e in PERIODS)
    sql = FORMS[form].format(
        values=values,
        bounds="{" + ",".join(bounds) + "}",
        first=PERIODS[0][1],
        last=PERIODS[-1][2],
    )
    best, rows = None, []
    for _ in range(2):
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(sql)  # constant periods
            rows = cursor.fetchall()
            elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    return best, len(rows)


@contextmanager
def kept_postgres(name: str):
    """A named database kept after the run; yields (url, whether it was just created)."""
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{PG_SERVER}/{name}", not exists


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--sessions", type=int, default=300, help="register rows per child")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3, help="claim runs timed (the best is kept)")
    parser.add_argument(
        "--keep",
        metavar="DATABASE",
        help="fill this database the first time and keep it; later runs reuse its data "
        "(the other size options are then ignored)",
    )
    args = parser.parse_args()

    if args.keep:
        database = kept_postgres(args.keep)
    else:
        database = _fresh(scratch_postgres("linkwork_bench_claims"))
    with database as (url, fresh):
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linkwork.config.settings")
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        if fresh:
            started = time.perf_counter()
            counts = populate(args.children, args.seed, args.sessions)
            print(f"data: {counts} in {time.perf_counter() - started:.1f} s")
        else:
            print(f"data: reusing {args.keep}")

        from linkwork.contracts.documents import parse_contract
        from linkwork.contracts.services import store_contract

        periods = "\n".join(
            f"  - {{code: {c}, starts_on: {s}, ends_on: {e}}}" for c, s, e in PERIODS
        )
        source = CONTRACT.format(periods=periods)
        store_contract(
            actor=None, document=parse_contract(source, filename="bench.yaml"), source=source
        )
        from django.db import connection

        env = {"DATABASE_URL": url}
        command = linkwork("claims", "run", "BENCH", "P6")
        if os.environ.get("BENCH_PROFILE"):
            command = [sys.executable, "-m", "cProfile", "-s", "cumtime", "-m", *command[2:]]
        runs = []
        for _ in range(args.runs):
            # a stored draft's lines would otherwise be deleted inside the timed run
            _clear_claims()
            cpu_before = _children_cpu()
            seconds, peak, out = run_measured(command, env=env)
            runs.append((seconds, peak, _children_cpu() - cpu_before))
        seconds, peak, cpu = min(runs)
        load = os.getloadavg()[0]
        if os.environ.get("BENCH_PROFILE"):
            print(out[out.find("function calls") :][:7000])
        print(out.splitlines()[0] if out else "")
        _clear_claims()
        listed, listed_peak, json_out = run_measured([*command, "--json"], env=env)
        started = time.perf_counter()
        subprocess.run(
            linkwork("claims", "run", "BENCH", "NO-SUCH-PERIOD"),
            env={**os.environ, **env},
            capture_output=True,
            check=False,
        )
        startup = time.perf_counter() - started
        from linkwork.contracts.queries import contract_terms, latest_contract, load_children

        started = time.perf_counter()
        loaded = sum(
            len(chunk) for chunk in load_children(contract_terms(latest_contract("BENCH")))
        )
        inputs = time.perf_counter() - started
        timed = {form: aggregate_seconds(form) for form in FORMS}
        print(
            f"claim run (P6, everything so far), best of {len(runs)}: {seconds:.1f} s, peak "
            f"{peak} MiB (Python CPU {cpu:.1f} s); the runs: "
            + ", ".join(f"{r[0]:.1f} s" for r in runs)
        )
        print(
            f"  the same run printing every line with its evidence (--json, the register rows "
            f"listed): {listed:.1f} s, peak {listed_peak} MiB, {len(json_out) / 2**20:.0f} MiB of "
            "JSON"
        )
        print(
            f"  of which: command start-up {startup:.1f} s; loading the inputs of "
            f"{loaded} children (tallies, consents, scores, attainment) {inputs:.1f} s"
        )
        print("engagement counts as one SQL aggregate (best of two, rows fetched):")
        for form, (elapsed, groups) in timed.items():
            print(
                f"  {form}: {elapsed:.2f} s ({groups} child-periods), "
                f"claim run / aggregate {seconds / elapsed:.1f}x"
            )
        best = min(elapsed for elapsed, _ in timed.values())
        print(f"ratio to the fastest aggregate: {seconds / best:.1f}x")
        print(f"load average while running: {load:.1f} on {os.cpu_count()} cores")
        connection.close()


def _clear_claims() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM contracts_claimline")
        cursor.execute("DELETE FROM contracts_claim")
        cursor.execute("VACUUM ANALYZE contracts_claimline")
    connection.close()


def _children_cpu() -> float:
    """CPU seconds used by this process's finished child processes."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def _fresh(database):
    with database as url:
        yield url, True


if __name__ == "__main__":
    main()
