import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from linkwork.contracts.queries import evidence_past_keeping
from linkwork.people.erasure import evidence_years
from linkwork.people.retention import Schedule, due_children, expired_uploads
from linkwork.people.services import apply_retention


class Command(BaseCommand):
    help = (
        "List the children the retention schedule makes due for erasure, the uploaded "
        "files past their time and the contracts whose payment evidence is past its audit "
        "period; with --apply, erase the children, delete the files and remove the "
        "children from those contracts' claims."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--apply", action="store_true", help="erase the children due and delete the files"
        )
        parser.add_argument("--date", help="the day to apply the schedule on, YYYY-MM-DD")

    def handle(self, *args, apply=False, date=None, **options):
        today = timezone.localdate()
        if date:
            try:
                today = dt.date.fromisoformat(date)
            except ValueError:
                raise CommandError(f"--date: not a date in the form YYYY-MM-DD ({date})") from None
        schedule = Schedule.from_settings()
        self.stdout.write(
            f"Retention schedule on {today}: pupils never enrolled "
            f"{schedule.not_enrolled_months} months after their newest data; children "
            f"{schedule.after_enrolment_years} years after their enrolment ended; uploaded "
            f"files {schedule.uploads_days} days; payment evidence {evidence_years()} years "
            "after its contract ended."
        )
        if apply:
            report = apply_retention(actor=None, today=today, schedule=schedule)
            self.stdout.write(
                f"Erased {len(report.erased)} children; deleted the files of "
                f"{report.uploads_removed} uploads; removed the payment evidence of "
                f"{len(report.contracts)} contracts."
            )
            return
        due = due_children(today, schedule)
        for child in due:
            self.stdout.write(f"  {child.upn}  {child.school}  {child.rule}, last {child.since}")
        uploads = expired_uploads(today, schedule).count()
        contracts = evidence_past_keeping(today)
        for kept in contracts:
            self.stdout.write(
                f"  contract {kept.contract_code}: {kept.lines} claim lines, evidence kept "
                f"until {kept.kept_until}"
            )
        self.stdout.write(
            f"{len(due)} children due for erasure; {uploads} uploads' files past their time; "
            f"{len(contracts)} contracts' payment evidence past its audit period. "
            "Nothing changed: --apply does it."
        )
