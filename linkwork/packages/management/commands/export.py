import sys

from django.core.management.base import BaseCommand

from linkwork.packages.services import PackageInvalid, export_package


class Command(BaseCommand):
    help = (
        "Export the database as a zone data package into a new (or empty) folder: every "
        "resource as CSV sorted by key (header only when empty), the latest version of "
        "every contract, instrument and the screening rules as YAML, and a datapackage.json. "
        "Loading the export into a fresh database gives the same state."
    )

    def add_arguments(self, parser):
        parser.add_argument("dir", help="the folder to write (created if missing; must be empty)")
        parser.add_argument(
            "--chunk-size", type=int, default=5000, help="rows fetched per round trip"
        )

    def handle(self, *args, dir, chunk_size, **options):
        try:
            report = export_package(actor=None, path=dir, chunk_size=chunk_size)
        except PackageInvalid as exc:
            for line in exc.errors:
                self.stderr.write(line)
            sys.exit(1)
        for name, rows in report.rows.items():
            self.stdout.write(f"{name:<20} {rows:>9}")
        for filename in report.documents:
            self.stdout.write(filename)
        self.stdout.write(f"Exported to {report.path}.")
