"""`linkwork claims run|submit CONTRACT PERIOD [--json]`."""

from django.core.management.base import BaseCommand, CommandError

from linkwork.contracts.queries import claim_json
from linkwork.contracts.services import ClaimError, run_claim, submit_claim


class Command(BaseCommand):
    help = "Compute a period's claim as a draft (run) or freeze it (submit)."
    requires_system_checks = []  # a claim run is often scripted; checks add a second

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["run", "submit"])
        parser.add_argument("contract", help="contract code, e.g. EX-1")
        parser.add_argument("period", help="claim period code, e.g. T1")
        parser.add_argument("--json", action="store_true", help="print the claim as JSON")

    def handle(self, *args, action, contract, period, **options):
        service = run_claim if action == "run" else submit_claim
        try:
            claim = service(actor=None, contract_code=contract, period_code=period)
        except ClaimError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            for text in claim_json(claim):
                self.stdout.write(text, ending="")
            return
        self.stdout.write(
            f"{claim.contract_code} {claim.period_code} ({claim.status}): "
            f"{claim.lines.count()} lines, total {claim.total:.2f}"
        )
        for payer, value in claim.payer_totals.items():
            self.stdout.write(f"  {payer:<12} {value:>14}")
        self.stdout.write("The lines: --json, or the claim page.")
