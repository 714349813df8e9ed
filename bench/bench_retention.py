"""The retention schedule applied to a whole zone's database, on PostgreSQL.

    .venv/bin/python bench/bench_retention.py                  # a 10,000-child zone
    .venv/bin/python bench/bench_retention.py --children 1000  # quicker

Writes a generated zone package, loads it into a scratch database (about 7 pupils
screened for every child enrolled), then, on a day far enough ahead that the pupils never
enrolled and the children whose enrolments ended long ago are due, times in subprocesses
`linkwork retention` (the due list only) and `linkwork retention --apply` (every child
due erased, as the daily run would after a year's screening falls due): wall time, peak
memory, children erased and the time per child.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import linkwork, run_measured, scratch_postgres  # noqa: E402

DAY = "2029-01-01"  # 18 months after the generated data and the day it is loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, scratch_postgres() as url:
        env = {"DATABASE_URL": url, "LINKWORK_DATA_DIR": folder}
        package = Path(folder) / "zone"
        for args in (
            ("migrate", "-v0"),
            ("generate", str(package), "--children", str(options.children),
             "--seed", str(options.seed)),
            ("load", str(package)),
        ):  # fmt: skip
            run_measured(linkwork(*args), env)
        pupils = sum(1 for _ in (package / "pupils.csv").open()) - 1
        listed, listed_mib, out = run_measured(linkwork("retention", "--date", DAY), env)
        due = out.strip().splitlines()[-1]
        applied, applied_mib, out = run_measured(
            linkwork("retention", "--apply", "--date", DAY), env
        )
        erased = int(out.split("Erased ")[1].split()[0])
    print(f"zone: {options.children} children enrolled, {pupils} pupils; schedule on {DAY}")
    print(f"due list:  {listed:.1f} s, peak {listed_mib} MiB ({due.split(';')[0]})")
    print(
        f"apply:     {applied:.1f} s, peak {applied_mib} MiB; {erased} children erased, "
        f"{applied / max(erased, 1) * 1000:.1f} ms a child (start-up and due list included)"
    )
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
