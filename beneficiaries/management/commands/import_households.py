"""Import households and members from an XLSX or CSV file, all or nothing.

    python manage.py import_households roll.xlsx --user cw_town_a [--village-scope 321102001000]

The file follows docs/import-template.md. On any error nothing is written, the row-by-row report
is printed and the command exits with status 1.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from beneficiaries.imports import import_households
from beneficiaries.models import Region, User
from core.exceptions import DomainError


class Command(BaseCommand):
    help = "Import households and members from an XLSX or CSV file (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--user", required=True, help="username the import is made by")
        parser.add_argument(
            "--village-scope", help="region code: only villages under it may appear in the file"
        )

    def handle(self, *args, file: Path, user: str, village_scope: str | None, **options):
        try:
            by = User.objects.select_related("region").get(username=user)
        except User.DoesNotExist:
            raise CommandError(f"no user {user!r}")
        scope = None
        if village_scope:
            scope = Region.objects.filter(code=village_scope.ljust(12, "0")).first()
            if scope is None:
                raise CommandError(f"no region {village_scope!r}")
        try:
            result = import_households(
                content=file.read_bytes(), filename=file.name, by=by, village_scope=scope
            )
        except DomainError as error:
            raise CommandError(str(error.message))
        if not result.ok:
            for error in result.errors:
                self.stderr.write(f"row {error.row}\t{error.column}\t{error.message}")
            raise CommandError(f"{len(result.errors)} error(s); nothing was imported")
        self.stdout.write(
            f"imported {result.households} households, {result.members} members, "
            f"{result.incomes} income items"
        )
