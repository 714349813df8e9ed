import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from linkwork.engagement.services import send_daily_digests


class Command(BaseCommand):
    help = "Refresh every child's flags, then email each Link Worker their daily digest."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="the digest's date, YYYY-MM-DD (default today)")
        parser.add_argument(
            "--no-refresh", action="store_true", help="send without re-evaluating flags first"
        )

    def handle(self, *args, date=None, no_refresh=False, **options):
        today = None
        if date:
            try:
                today = dt.date.fromisoformat(date)
            except ValueError:
                raise CommandError(f"--date: not a date in the form YYYY-MM-DD ({date})") from None
        report = send_daily_digests(actor=None, today=today, refresh=not no_refresh)
        self.stdout.write(f"{report.sent} digests sent, {report.skipped} Link Workers had none.")
