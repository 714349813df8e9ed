import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from linkwork.packages.generator import generate_package


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--start: not a date YYYY-MM-DD ({value})") from exc


class Command(BaseCommand):
    help = (
        "Write a synthetic zone data package into DIR: schools, pupils with school data and "
        "wellbeing scores, and N enrolled children with consents, Link Workers, allocations, "
        "registers and interactions over three school years (see docs/demo.md). The same "
        "seed writes byte-identical files. Load it with `linkwork load DIR`."
    )

    def add_arguments(self, parser):
        parser.add_argument("dir", help="the folder to write (created if missing)")
        parser.add_argument(
            "--children", type=int, default=300, help="number of enrolled children (300)"
        )
        parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
        parser.add_argument(
            "--start",
            help="a date in the first school year generated, YYYY-MM-DD (2024-09-01)",
        )

    def handle(self, *args, dir, children, seed, start, **options):
        if children < 1:
            raise CommandError("--children: must be at least 1")
        started = time.perf_counter()
        try:
            counts = generate_package(
                dir, children=children, seed=seed, start=_date(start) if start else None
            )
        except OSError as exc:
            raise CommandError(f"{exc.filename or dir}: {exc.strerror}") from exc
        elapsed = time.perf_counter() - started
        for name, count in counts.items():
            self.stdout.write(f"{name + '.csv':<24} {count:>10}")
        self.stdout.write(f"Wrote {sum(counts.values())} rows to {dir} in {elapsed:.1f} s.")
