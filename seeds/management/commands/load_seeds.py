"""Load the seed regions, the demo users, the city standards and the working-day calendar. Safe
to run any number of times."""

import os

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from rules.calendar import SEED_SOURCE, load_calendar_seed
from rules.parameters import load_standards
from seeds.demo_users import create_demo_users
from seeds.regions import load_regions


class Command(BaseCommand):
    help = (
        "Load regions (Jiangsu: Zhenjiang, Changzhou), one demo user per role, city standards, "
        "and the calendar years the chinese-calendar package knows."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo-users",
            action="store_true",
            help="Create the demo users even on a real deployment (DEBUG off, DATABASE_URL set).",
        )

    def handle(self, *args, demo_users: bool, **options):
        with transaction.atomic():
            regions = load_regions()
            self.stdout.write(f"regions written: {regions}")
            if self._real_deployment() and not demo_users:
                self.stderr.write(
                    "demo users NOT created: DEBUG is off and DATABASE_URL is set, so this looks "
                    "like a real deployment; pass --demo-users to create them anyway."
                )
            else:
                self.stdout.write(f"demo users created: {create_demo_users()}")
            self.stdout.write(f"standards created: {load_standards()}")
            years = load_calendar_seed()
            added = f"{years[0]}–{years[-1]}" if years else "none"
            self.stdout.write(f"calendar years added from {SEED_SOURCE}: {added}")

    @staticmethod
    def _real_deployment() -> bool:
        return not settings.DEBUG and bool(os.environ.get("DATABASE_URL"))
