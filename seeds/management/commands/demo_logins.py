"""Print the demo logins (demo-only passwords) of the users load_seeds created."""

from django.core.management.base import BaseCommand

from beneficiaries.models import User
from seeds.demo_users import DEMO_PASSWORD, DEMO_USERS


class Command(BaseCommand):
    help = "Print the demo users and their demo-only password."

    def handle(self, *args, **options):
        users = {
            u.username: u
            for u in User.objects.select_related("region").filter(
                username__in=[spec.username for spec in DEMO_USERS]
            )
        }
        if not users:
            self.stdout.write("No demo users: run `python manage.py load_seeds` first.")
            return
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}) — demo only:")
        for spec in DEMO_USERS:
            user = users.get(spec.username)
            if user is not None:
                self.stdout.write(
                    f"  {user.username:<15} {user.get_role_display():<10} {user.region.name}"
                )
        self.stdout.write(
            "Two signatures: one finance user submits the month's batch, the other approves it."
        )
