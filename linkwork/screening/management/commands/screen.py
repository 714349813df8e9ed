"""`linkwork screen (--school URN | --all) --on DATE [--json]`: run and store screening rounds."""

import json
from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from linkwork.schools.models import School
from linkwork.screening.models import ScreeningRules
from linkwork.screening.rules import result_json
from linkwork.screening.services import run_screening, run_screening_rounds


class Command(BaseCommand):
    help = "Screen every pupil on roll at a school on a date and print the shortlist."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--school", help="the school's 6-digit URN")
        which.add_argument(
            "--all",
            action="store_true",
            help="every school, one round each, in one go (prints a summary per school; "
            "each round's shortlist is on its page)",
        )
        parser.add_argument("--on", required=True, help="the screening date, YYYY-MM-DD")
        parser.add_argument("--rules-version", type=int, help="default: the latest rules")
        parser.add_argument("--json", action="store_true", help="print the round as JSON")

    def handle(self, *args, **options):
        try:
            on = date.fromisoformat(options["on"])
        except ValueError:
            raise CommandError(f"--on: a date YYYY-MM-DD ({options['on']})") from None
        rules = None
        if options["rules_version"] is not None:
            rules = ScreeningRules.objects.filter(version=options["rules_version"]).first()
            if rules is None:
                raise CommandError(f"--rules-version: no version {options['rules_version']}")
        if options["all"]:
            self._screen_all(on, rules, as_json=options["json"])
            return
        school = School.objects.filter(urn=options["school"]).first()
        if school is None:
            raise CommandError(f"--school: no school with URN {options['school']}")
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

    def _screen_all(self, on, rules, *, as_json):
        schools = list(School.objects.order_by("urn"))
        try:
            rounds = run_screening_rounds(actor=None, schools=schools, on=on, rules=rules)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        by_school = {r.school_id: r for r in rounds}
        summaries = [
            {
                "school": school.urn,
                "on": on.isoformat(),
                "pupils_screened": by_school[school.pk].pupils_screened,
                "shortlisted": by_school[school.pk].shortlisted,
                "excluded": by_school[school.pk].excluded,
            }
            for school in schools
            if school.pk in by_school
        ]
        if as_json:
            self.stdout.write(json.dumps(summaries, indent=2))
            return
        for row in summaries:
            self.stdout.write(
                f"{row['school']}: {row['pupils_screened']} pupils, "
                f"{row['shortlisted']} shortlisted, {row['excluded']} excluded"
            )
