import os
import shutil
import subprocess
import sys
from datetime import date, time, timedelta

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from linkwork.accounts.models import Role
from linkwork.engagement.services import refresh_all_flags
from linkwork.packages.demo import reset_demo_logins
from linkwork.packages.generator import generate_package, service_weekdays
from linkwork.packages.services import PackageInvalid, load_package
from linkwork.people.models import Pupil
from linkwork.schools.models import School
from linkwork.screening.services import run_screening_rounds
from linkwork.support.models import Service

from .serve import run_server

DEMO_SEED = 2016
AFTER_SCHOOL = time(15, 30)


def demo_start(today: date) -> date:
    """The demo covers the last two school years and the current one up to today."""
    current = today.year if today.month >= 8 else today.year - 1
    return date(current - 2, 9, 1)


class Command(BaseCommand):
    help = (
        "Run a demonstration zone on this computer: create the embedded database in the data "
        "folder (LINKWORK_DATA_DIR), generate and load a synthetic zone, give each role a login "
        "with a new random password (printed, stored nowhere), collect static files, start the "
        "task worker and serve on http://127.0.0.1:8000. Run it again for new passwords; delete "
        "the data folder to start afresh (see docs/demo.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (8000)")
        parser.add_argument(
            "--children", type=int, default=300, help="enrolled children to generate (300)"
        )
        parser.add_argument("--workers", type=int, default=2, help="web worker processes (2)")
        parser.add_argument(
            "--no-serve", action="store_true", help="prepare and print the logins, then stop"
        )

    def handle(self, *args, port, children, workers, no_serve, **options):
        if os.environ.get("DATABASE_URL"):
            raise CommandError(
                "linkwork demo uses the embedded database in the data folder; "
                "unset DATABASE_URL to run it."
            )
        if children < 1:
            raise CommandError("--children: must be at least 1")
        data_dir = settings.DATA_DIR
        self.stdout.write(f"Data folder: {data_dir}")
        self.stdout.write("Creating or updating the database…")
        call_command("migrate", interactive=False, verbosity=0)
        if Pupil.objects.exists():
            self.stdout.write("The zone is already loaded.")
        else:
            self._load_zone(data_dir / "demo-zone", children)
        try:
            logins = reset_demo_logins(actor=None)
        except ValueError as exc:
            raise CommandError(f"{exc}; delete the data folder to start afresh") from exc
        self.stdout.write("Collecting static files…")
        call_command("collectstatic", interactive=False, verbosity=0)

        url = f"http://127.0.0.1:{port}/"
        self.stdout.write("")
        self.stdout.write(f"Sign in at {url} with one of these (new passwords on every run):")
        self.stdout.write("")
        width = max(len(login.email) for login in logins)
        for login in logins:
            role = Role(login.role).label
            self.stdout.write(f"  {role:<18} {login.email:<{width}}  {login.password}")
            self.stdout.write(f"  {'':<18} {login.scope}")
        self.stdout.write("")
        if no_serve:
            return
        self._serve(port, workers)

    def _load_zone(self, path, children: int) -> None:
        today = timezone.localdate()
        self.stdout.write(f"Generating a zone of {children} children in {path}…")
        if path.exists():
            shutil.rmtree(path)
        # Data up to yesterday: today's sessions are still to happen, their registers
        # to take.
        generate_package(
            path,
            children=children,
            seed=DEMO_SEED,
            start=demo_start(today),
            until=today - timedelta(days=1),
        )
        self.stdout.write("Loading it…")
        try:
            load_package(actor=None, path=path)
        except PackageInvalid as exc:
            for line in exc.errors[:20]:
                self.stderr.write(line)
            raise CommandError("the generated zone did not load") from exc
        # A running zone's partners set their services' regular days on the services page:
        # the partner's "Sessions this week" lists them.
        for code, weekday in service_weekdays(children=children, seed=DEMO_SEED).items():
            Service.objects.filter(code=code).update(weekday=weekday, starts_at=AFTER_SCHOOL)
        # At once rather than by the queued task, so the first page already shows them.
        changes = refresh_all_flags(actor=None, today=today)
        self.stdout.write(f"Engagement flags raised for the zone: {len(changes.raised)}.")
        # This term's screening of every school, so school staff have a shortlist to review.
        rounds = run_screening_rounds(
            actor=None, schools=list(School.objects.order_by("name")), on=today
        )
        shortlisted = sum(r.shortlisted for r in rounds)
        self.stdout.write(f"Schools screened today: {len(rounds)}; {shortlisted} shortlisted.")

    def _serve(self, port: int, workers: int) -> None:
        self.stdout.write("Starting the task worker and the web server; Ctrl-C stops both.")
        self.stdout.flush()
        worker = subprocess.Popen([sys.executable, "-m", "linkwork", "db_worker"])
        try:
            run_server(bind=f"127.0.0.1:{port}", workers=workers)
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
