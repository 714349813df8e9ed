import sys

from django.core.management.base import BaseCommand

from linkwork.packages.services import PackageInvalid, load_package


class Command(BaseCommand):
    help = (
        "Load a zone data package (a folder of CSV and YAML files, see docs/packages.md). "
        "Every row of every file is checked first; if anything is wrong, every problem is "
        "printed as file:line: column: message (value), nothing is written and the exit "
        "status is 1. Otherwise rows are upserted by key in one transaction: loading the "
        "same package again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("dir", help="the package folder")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="check the package and count what would change, then roll everything back",
        )

    def handle(self, *args, dir, dry_run, **options):
        try:
            report = load_package(actor=None, path=dir, dry_run=dry_run)
        except PackageInvalid as exc:
            for line in exc.errors:
                self.stderr.write(line)
            noun = "problem" if exc.count == 1 else "problems"
            self.stderr.write(f"{exc.count} {noun}; nothing was loaded.")
            sys.exit(1)
        self.stdout.write(f"{'resource':<20} {'inserted':>9} {'updated':>9} {'unchanged':>10}")
        for name, counts in report.counts.items():
            self.stdout.write(
                f"{name:<20} {counts['inserted']:>9} {counts['updated']:>9} "
                f"{counts['unchanged']:>10}"
            )
        for note in report.notes:
            self.stdout.write(note)
        if dry_run:
            self.stdout.write("Dry run: the package is valid; nothing was written.")
        else:
            self.stdout.write("Loaded." if report.changed else "Loaded: nothing changed.")
