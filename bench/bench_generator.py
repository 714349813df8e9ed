"""How fast `linkwork generate` writes a zone, and how much memory it needs.

    .venv/bin/python bench/bench_generator.py [CHILDREN ...]    (default: 1000 10000)

Prints wall and CPU seconds, peak memory and rows written for each size; time and rows
should grow linearly and memory stay flat, since rows are written as they are made.
"""

import os
import resource
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import linkwork, run_measured  # noqa: E402


def main(sizes: list[int]) -> None:
    print(
        f"{'children':>9} {'wall s':>7} {'cpu s':>7} {'peak MiB':>9} {'rows':>10} {'registers':>10}"
    )
    for children in sizes:
        with tempfile.TemporaryDirectory() as folder:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall, peak, _ = run_measured(
                linkwork("generate", folder, "--children", str(children), "--seed", "1")
            )
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            rows = 0
            for name in os.listdir(folder):
                if name.endswith(".csv"):
                    with open(os.path.join(folder, name), "rb") as handle:
                        rows += sum(1 for _ in handle) - 1
            with open(os.path.join(folder, "registers.csv"), "rb") as handle:
                registers = sum(1 for _ in handle) - 1
        print(f"{children:>9} {wall:>7.1f} {cpu:>7.1f} {peak:>9} {rows:>10} {registers:>10}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 10000])
