"""Rewrite, or check, every household's facts by month (beneficiaries.models.HouseholdFactsPeriod).

    python manage.py rebuild_household_facts            # rewrite all, set-based on PostgreSQL
    python manage.py rebuild_household_facts --check    # list households out of step, exit 1

The rows are kept in step by the registry's services; ``--check`` proves it on a live database
(rebuilding each household's timeline in memory and comparing it row for row), and the rewrite
repairs a database written around the services (a restore, a hand-made fix).
"""

import time

from django.core.management.base import BaseCommand, CommandError

from beneficiaries.facts import households_out_of_step, rebuild_household_facts


class Command(BaseCommand):
    help = "Rewrite (or --check) every household's facts by month from the registry."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="compare only, write nothing")

    def handle(self, *args, check: bool, **options):
        started = time.monotonic()
        if check:
            differ = households_out_of_step()
            seconds = time.monotonic() - started
            if differ:
                shown = ", ".join(map(str, differ[:20]))
                raise CommandError(
                    f"{len(differ)} household(s) out of step ({seconds:.1f} s): {shown}"
                )
            self.stdout.write(f"every household's facts are in step ({seconds:.1f} s)")
            return
        written = rebuild_household_facts()
        seconds = time.monotonic() - started
        self.stdout.write(f"household facts rewritten: {written} rows in {seconds:.1f} s")
