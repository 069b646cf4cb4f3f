"""manage.py unlock_signin --username NAME | --ip ADDRESS --by ADMIN: lift a sign-in lockout."""

from django.core.management.base import BaseCommand, CommandError

from beneficiaries import signin
from beneficiaries.models import User
from core.exceptions import DomainError


class Command(BaseCommand):
    help = "Lift the sign-in lockout of a user name or an address, recorded under --by."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--username", default="")
        target.add_argument("--ip", default="")
        parser.add_argument("--by", required=True, help="the administrator's user name")

    def handle(self, *args, username: str, ip: str, by: str, **options):
        admin = User.objects.filter(username=by, is_active=True).first()
        if admin is None:
            raise CommandError(f"no active user {by}")
        try:
            entry = signin.unlock(by=admin, username=username, ip_address=ip)
        except DomainError as error:
            raise CommandError(str(error.message)) from error
        self.stdout.write(f"unlocked {username or ip}: {entry.attempts} failed attempts cleared")
