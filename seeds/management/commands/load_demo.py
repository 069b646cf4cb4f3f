"""Load the demo caseload through the services (deterministic; a second run creates nothing)."""

from django.core.management.base import BaseCommand, CommandError

from seeds.demo import load_demo


class Command(BaseCommand):
    help = (
        "Register a small demo caseload of a city and a day of work for each role: applications "
        "at every step, flags, adjustments, relief and a batch waiting for its second signature."
    )

    def add_arguments(self, parser):
        parser.add_argument("--city", required=True, help="4-digit city code, e.g. 3211")
        parser.add_argument("--households", type=int, default=300)

    def handle(self, *args, city, households, **options):
        try:
            result = load_demo(city_code=city, households=households)
        except LookupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"households created: {result.households}  enrolments: {result.enrolments}  "
            f"applications: {result.applications}  referrals: {result.referrals}  "
            f"adjustments: {result.adjustments}  relief cases: {result.relief_cases}  "
            f"batches: {result.batches}"
        )
