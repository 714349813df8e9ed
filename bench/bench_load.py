"""Loading a generated zone package into PostgreSQL, against plain COPY of the same rows.

    .venv/bin/python bench/bench_load.py                   # 1,000 and 10,000 children
    .venv/bin/python bench/bench_load.py --sizes 500 2000  # quicker
    .venv/bin/python bench/bench_load.py --packages /tmp/zones  # generated once, then reused

For each size: write a package, make a scratch database and migrate it, then time the
load (`load_package`, what `linkwork load` runs) in a subprocess (wall time including
start-up, peak resident memory, and the service's own time per phase), load it again
(every row unchanged), then COPY every CSV file's rows into scratch tables of text
columns in the same database and time that. Prints rows per second, the ratio to COPY,
the peak memory per size (flat in N means the loader streams), the phases (`check`: until
the last row is checked, while the database writes the files before it; `write`: the
writing left after that), and the time spent checking rows and on the database per file
(the two overlap), with the machine's load average.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
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


def copy_plain(url: str, path: Path) -> float:
    """Seconds to COPY every CSV file into tables of text columns (no keys, no checks)."""
    import psycopg

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
    env = {**env, "DJANGO_SETTINGS_MODULE": "linkwork.config.settings"}
    seconds, peak, out = run_measured([sys.executable, "-c", _LOAD, str(package)], env=env)
    return seconds, peak, json.loads(out.strip().splitlines()[-1])


def measure(children: int, seed: int, packages: Path | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="lw-bench-") as tmp:
        if packages is None:
            package = Path(tmp) / "package"
            write_package(package, children, seed)
        else:
            package = packages / f"zone-{children}-seed-{seed}"
            if not package.is_dir():
                write_package(package, children, seed)
        rows = csv_rows(package)
        with scratch_postgres() as url:
            env = {"DATABASE_URL": url}
            subprocess.run(linkwork("migrate", "-v0"), env={**os.environ, **env}, check=True)
            load_seconds, peak_mib, phases = timed_load(package, env)
            reload_seconds, _, reload_phases = timed_load(package, env)
            copy_seconds = copy_plain(url, package)
    return {
        "children": children,
        "rows": rows,
        "load": load_seconds,
        "reload": reload_seconds,
        "peak": peak_mib,
        "copy": copy_seconds,
        "phases": phases,
        "reload_phases": reload_phases,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--seed", type=int, default=1)
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
        r = measure(children, args.seed, args.packages)
        print(
            f"{r['children']:>8} {r['rows']:>9} {r['load']:>7.1f} {r['rows'] / r['load']:>8.0f} "
            f"{r['reload']:>8.1f} {r['copy']:>7.1f} {r['rows'] / r['copy']:>11.0f} "
            f"{r['load'] / r['copy']:>6.1f} {r['peak']:>8}",
            flush=True,
        )
        print(f"{'':>8} load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        for label, timing in (("load", r["phases"]), ("reload", r["reload_phases"])):
            phases = ", ".join(
                f"{name} {seconds:.1f} s" for name, seconds in timing["phases"].items()
            )
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


if __name__ == "__main__":
    main()
