from django.core.management.base import BaseCommand

from linkwork.engagement.services import refresh_all_flags


class Command(BaseCommand):
    help = "Re-evaluate the engagement rules for every enrolled child now."

    def handle(self, *args, **options):
        changes = refresh_all_flags(actor=None)
        self.stdout.write(
            f"{len(changes.raised)} flags raised, {len(changes.cleared)} cleared, "
            f"{len(changes.updated)} updated."
        )
