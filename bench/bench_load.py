"""Loading a generated zone package into PostgreSQL, against plain COPY of the same rows.

    .venv/bin/python bench/bench_load.py                   # 1,000 and 10,000 children
    .venv/bin/python bench/bench_load.py --sizes 500 2000  # quicker
    .venv/bin/python bench/bench_load.py --packages /tmp/zones  # generated once, then reused
    .venv/bin/python bench/bench_load.py --runs 1          # one run per size (default 3)

For each size: write a package; then, in each run, make a scratch database and migrate
it, then time the load (`load_package`, what `linkwork load` runs) in a subprocess
(wall time including start-up, peak resident memory, and the service's own time per
phase), load it again (every row unchanged), then COPY every CSV file's rows into
scratch tables of text columns in the same database and time that. Prints rows per
second, the ratio to COPY, the peak memory per size (flat in N means the loader
streams), the phases (`check`: until the last row is checked, while the database writes
the files before it; `write`: the writing left after that), and the time spent checking
rows and on the database per file (the two overlap), with the machine's load average.
Each timed part starts after a CHECKPOINT. Last in each run, the database alone: the
loaded rows read back and taken again by COPY into bare tables of the same types, their
keys, indexes, checks and foreign keys made, without Python (`database_alone`), once in
COPY's text format as the loader sends rows and once in its binary format: what any
loader of these rows into these tables costs the database. The last lines per size
give the best of the runs.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import linkwork, run_measured, scratch_postgres  # noqa: E402


def write_package(path: Path, children: int, seed: int) -> None:
    """A generated zone package, as `linkwork generate` writes it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linkwork.config.settings")
    import django

    django.setup()
    from linkwork.packages.generator import generate_package

    generate_package(path, children=children, seed=seed)


def csv_rows(path: Path) -> int:
    return sum(sum(1 for _ in handle) - 1 for handle in map(Path.open, path.glob("*.csv")))


def checkpoint(url: str) -> None:
    """Write out the server's dirty pages and start a new WAL checkpoint, so that each
    timed part starts alike: a checkpoint that happens to fall within one run (after the
    WAL of the migrations or of the load before) slows it by up to a fifth."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def copy_plain(url: str, path: Path) -> float:
    """Seconds to COPY every CSV file into tables of text columns (no keys, no checks)."""
    import psycopg

    checkpoint(url)
    with psycopg.connect(url) as conn:
        files = sorted(path.glob("*.csv"))
        for file in files:
            with file.open(encoding="utf-8") as handle:
                header = next(csv.reader(handle))
            columns = ", ".join(f'"{name}" text' for name in header)
            conn.execute(f'CREATE TABLE "copy_{file.stem}" ({columns})')
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cursor:
            for file in files:
                sql = f'COPY "copy_{file.stem}" FROM STDIN WITH (FORMAT csv, HEADER true)'
                with cursor.copy(sql) as copy, file.open("rb") as handle:
                    while chunk := handle.read(1 << 20):
                        copy.write(chunk)
        conn.commit()
        return time.perf_counter() - started


# The tables a zone package fills, parents before children.
PACKAGE_TABLES = (
    "schools_area",
    "schools_school",
    "support_partner",
    "support_service",
    "people_pupil",
    "people_cohort",
    "people_enrolment",
    "people_consent",
    "support_allocation",
    "support_registerentry",
    "support_interaction",
    "people_schoolattendance",
    "people_attainment",
    "measures_administration",
    "measures_score",
)


def database_alone(url: str, folder: Path, form: str = "text") -> float:
    """Seconds the database alone takes to hold the loaded rows as any loader must leave
    them: each table's rows (read back after the load, in COPY's text format) copied into
    a bare table of the same columns and types, then its primary key, unique keys,
    indexes, checks and foreign keys made, in one transaction. No Python, no staging,
    no look-ups: the floor under any load of these rows into these tables. `form` is
    COPY's format: "text" (what the loader sends) or "binary" (the fastest there is)."""
    import psycopg

    plans = []
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        for number, table in enumerate(PACKAGE_TABLES):
            rows = folder / f"{table}.{form}"
            sql = f"COPY {table} TO STDOUT (FORMAT {form})"
            with rows.open("wb") as out, cursor.copy(sql) as copy:
                for block in copy:
                    out.write(block)
            bare = f"floor_{table}"
            cursor.execute(f"DROP TABLE IF EXISTS {bare}")
            cursor.execute(f"CREATE TABLE {bare} (LIKE {table} INCLUDING DEFAULTS)")
            statements = []
            # keys and checks first, foreign keys last, as the loader makes them
            cursor.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                "ORDER BY contype = 'f', contype <> 'p', conname",
                [table],
            )
            constraints = [definition for (definition,) in cursor.fetchall()]
            cursor.execute(
                "SELECT pg_get_indexdef(indexrelid), indexrelid::regclass::text FROM pg_index "
                "WHERE indrelid = %s::regclass AND indexrelid NOT IN "
                "(SELECT conindid FROM pg_constraint WHERE conrelid = %s::regclass)",
                [table, table],
            )
            for place, (definition, name) in enumerate(cursor.fetchall()):
                statements.append(
                    definition.replace(
                        f" {name} ON public.{table} ", f" floor_{number}_{place} ON {bare} "
                    )
                )
            statements[:0] = [
                f"ALTER TABLE {bare} ADD CONSTRAINT floor_{number}_c{place} {definition}"
                for place, definition in enumerate(constraints)
                if not definition.startswith("FOREIGN KEY")
            ]
            statements += [
                f"ALTER TABLE {bare} ADD CONSTRAINT floor_{number}_c{place} {definition}"
                for place, definition in enumerate(constraints)
                if definition.startswith("FOREIGN KEY")
            ]
            plans.append((bare, rows, statements))
        conn.commit()
    checkpoint(url)
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        started = time.perf_counter()
        for bare, rows, statements in plans:
            sql = f"COPY {bare} FROM STDIN (FORMAT {form})"
            with cursor.copy(sql) as copy, rows.open("rb") as handle:
                while block := handle.read(1 << 20):
                    copy.write(block)
            for statement in statements:
                cursor.execute(statement)
        conn.commit()
        return time.perf_counter() - started


# What `linkwork load DIR` does, printing the service's time per phase, and the time
# spent checking rows and on the database (the two overlap), as JSON.
_LOAD = """
import json, sys
import django
django.setup()
from linkwork.packages.services import load_package
report = load_package(actor=None, path=sys.argv[1])
print(json.dumps({"phases": report.seconds, "busy": report.busy}))
"""


def timed_load(package: Path, env: dict) -> tuple[float, int, dict]:
    checkpoint(env["DATABASE_URL"])
    env = {**env, "DJANGO_SETTINGS_MODULE": "linkwork.config.settings"}
    seconds, peak, out = run_measured([sys.executable, "-c", _LOAD, str(package)], env=env)
    return seconds, peak, json.loads(out.strip().splitlines()[-1])


@contextmanager
def package_for(children: int, seed: int, packages: Path | None):
    """The generated package of this size and seed: in `packages` (kept), else made in a
    temporary folder for this size's runs."""
    if packages is not None:
        package = packages / f"zone-{children}-seed-{seed}"
        if not package.is_dir():
            write_package(package, children, seed)
        yield package
        return
    with tempfile.TemporaryDirectory(prefix="lw-bench-") as tmp:
        package = Path(tmp) / "package"
        write_package(package, children, seed)
        yield package


def measure(package: Path) -> dict:
    """One run: a new database migrated, the package loaded, loaded again, then COPY."""
    with scratch_postgres() as url:
        env = {"DATABASE_URL": url}
        subprocess.run(linkwork("migrate", "-v0"), env={**os.environ, **env}, check=True)
        load_seconds, peak_mib, phases = timed_load(package, env)
        reload_seconds, _, reload_phases = timed_load(package, env)
        copy_seconds = copy_plain(url, package)
        with tempfile.TemporaryDirectory(prefix="lw-bench-rows-") as folder:
            alone_seconds = database_alone(url, Path(folder))
            binary_seconds = database_alone(url, Path(folder), "binary")
    return {
        "load": load_seconds,
        "reload": reload_seconds,
        "peak": peak_mib,
        "copy": copy_seconds,
        "alone": alone_seconds,
        "binary": binary_seconds,
        "phases": phases,
        "reload_phases": reload_phases,
    }


def _row(label: str, rows: int, r: dict) -> str:
    return (
        f"{label:>8} {rows:>9} {r['load']:>7.1f} {rows / r['load']:>8.0f} "
        f"{r['reload']:>8.1f} {r['copy']:>7.1f} {rows / r['copy']:>11.0f} "
        f"{r['load'] / r['copy']:>6.1f} {r['peak']:>8}"
    )


def _details(r: dict) -> None:
    print(
        f"{'':>8} database alone (typed rows, keys, indexes, checks, foreign keys): "
        f"{r['alone']:.1f} s, {r['alone'] / r['copy']:.1f}x COPY; with binary COPY "
        f"{r['binary']:.1f} s, {r['binary'] / r['copy']:.1f}x",
        flush=True,
    )
    for label, timing in (("load", r["phases"]), ("reload", r["reload_phases"])):
        phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timing["phases"].items())
        busy = dict(timing["busy"])
        checking = busy.pop("checking", 0.0)
        database = ", ".join(
            f"{name} {seconds:.1f}" for name, seconds in busy.items() if seconds >= 0.05
        )
        print(f"{'':>8} {label} phases: {phases}", flush=True)
        print(
            f"{'':>8} {label} busy: checking rows {checking:.1f} s; database "
            f"{sum(busy.values()):.1f} s ({database})",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3, help="runs per size; the best is kept")
    parser.add_argument(
        "--packages",
        type=Path,
        help="keep each generated package in this folder and load it from there next time",
    )
    args = parser.parse_args()
    print("load average: " + " ".join(f"{load:.2f}" for load in os.getloadavg()))
    print(
        f"{'children':>8} {'rows':>9} {'load s':>7} {'rows/s':>8} {'reload s':>8} "
        f"{'COPY s':>7} {'COPY rows/s':>11} {'ratio':>6} {'peak MiB':>8}"
    )
    for children in args.sizes:
        with package_for(children, args.seed, args.packages) as package:
            rows = csv_rows(package)
            runs = []
            for number in range(1, args.runs + 1):
                r = measure(package)
                runs.append(r)
                print(_row(f"run {number}", rows, r), flush=True)
                _details(r)
                print(f"{'':>8} load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        best = {
            "load": min(r["load"] for r in runs),
            "reload": min(r["reload"] for r in runs),
            "copy": min(r["copy"] for r in runs),
            "alone": min(r["alone"] for r in runs),
            "binary": min(r["binary"] for r in runs),
            "peak": max(r["peak"] for r in runs),
        }
        print(_row(str(children), rows, best) + "  (best of each; peak: the highest)", flush=True)
        print(
            f"{'':>8} database alone, best: {best['alone']:.1f} s, "
            f"{best['alone'] / best['copy']:.1f}x the best COPY; with binary COPY "
            f"{best['binary']:.1f} s, {best['binary'] / best['copy']:.1f}x",
            flush=True,
        )


if __name__ == "__main__":
    main()
