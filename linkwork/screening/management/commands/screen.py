"""`linkwork screen --school URN --on DATE [--json]`: run and store a screening round."""

import json
from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from linkwork.schools.models import School
from linkwork.screening.models import ScreeningRules
from linkwork.screening.rules import result_json
from linkwork.screening.services import run_screening


class Command(BaseCommand):
    help = "Screen every pupil on roll at a school on a date and print the shortlist."

    def add_arguments(self, parser):
        parser.add_argument("--school", required=True, help="the school's 6-digit URN")
        parser.add_argument("--on", required=True, help="the screening date, YYYY-MM-DD")
        parser.add_argument("--rules-version", type=int, help="default: the latest rules")
        parser.add_argument("--json", action="store_true", help="print the round as JSON")

    def handle(self, *args, **options):
        try:
            on = date.fromisoformat(options["on"])
        except ValueError:
            raise CommandError(f"--on: a date YYYY-MM-DD ({options['on']})") from None
        school = School.objects.filter(urn=options["school"]).first()
        if school is None:
            raise CommandError(f"--school: no school with URN {options['school']}")
        rules = None
        if options["rules_version"] is not None:
            rules = ScreeningRules.objects.filter(version=options["rules_version"]).first()
            if rules is None:
                raise CommandError(f"--rules-version: no version {options['rules_version']}")
        try:
            screening_round = run_screening(actor=None, school=school, on=on, rules=rules)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        document = result_json(screening_round.result, school=school.urn)
        if options["json"]:
            self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False))
            return
        self.stdout.write(
            f"{school.name} ({school.urn}) screened on {on} with rules version "
            f"{screening_round.rules.version}: {screening_round.pupils_screened} pupils, "
            f"{screening_round.shortlisted} shortlisted, {screening_round.excluded} excluded"
        )
        for n, row in enumerate(document["shortlist"], start=1):
            areas = ", ".join(a for a, v in row["explanation"].items() if v["at_risk"])
            self.stdout.write(
                f"{n:>4}. {row['upn']}  {row['risk_areas']} risk areas "
                f"({row['priority_areas']} priority): {areas}"
            )
        for row in document["excluded"]:
            self.stdout.write(f"   excluded {row['upn']}: {row['reason']}")
