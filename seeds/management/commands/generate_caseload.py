"""Generate a deterministic synthetic caseload for benchmarks (COPY on PostgreSQL)."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from core.months import parse_month
from seeds.generator import CaseloadExists, Progress, generate_caseload


def month(value: str) -> datetime.date:
    return parse_month(value)


class Command(BaseCommand):
    help = "Create N synthetic households with members, incomes and enrolments in force."

    def add_arguments(self, parser):
        parser.add_argument("--city", required=True, help="4-digit city code, e.g. 3211")
        parser.add_argument("--households", type=int, required=True)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--as-of", type=month, default=None, help="YYYY-MM the caseload is drawn around"
        )
        parser.add_argument("--chunk", type=int, default=10_000, help="households per chunk")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--append", action="store_true", help="add to the city's caseload")
        mode.add_argument("--reset", action="store_true", help="delete it first")

    def handle(self, *args, city, households, seed, as_of, chunk, append, reset, **options):
        if households < 1:
            raise CommandError("--households must be at least 1")
        try:
            run = generate_caseload(
                city_code=city,
                households=households,
                seed=seed,
                as_of=as_of,
                append=append,
                reset=reset,
                chunk_size=chunk,
                on_progress=self.progress,
            )
        except CaseloadExists as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"households: {run.households}  members: {run.members}  incomes: {run.incomes}  "
            f"enrolments: {run.enrolments}  seconds: {run.seconds:.1f}"
        )
        self.stdout.write(f"households/s: {run.households / max(run.seconds, 1e-9):.0f}")

    def progress(self, p: Progress) -> None:
        rate = p.households / max(p.seconds, 1e-9)
        self.stderr.write(f"  {p.households}/{p.total} households, {rate:.0f}/s")
