"""Service accounts and API tokens from the server's command line (docs/integration.md).

    python manage.py service_accounts create bank-zj --region 3211 --scope bank_return.upload \\
        --description "工商银行镇江分行回盘"
    python manage.py service_accounts token bank-zj --name "回盘上传 2026" [--days 90]
    python manage.py service_accounts list
    python manage.py service_accounts revoke-token doudi_1a2b3c4d5
    python manage.py service_accounts revoke bank-zj

``token`` prints the secret once; it is not kept and cannot be shown again. ``token`` also issues
a token to a person (for their own scripts). The operator at the command line acts as the
system: the history records no user for these changes.
"""

from django.core.management.base import BaseCommand, CommandError

from beneficiaries import service_accounts
from beneficiaries.models import ApiToken, Region, ServiceAccount, User
from core.exceptions import DomainError
from core.months import local_time
from core.service_scopes import ServiceScope


class Command(BaseCommand):
    help = "Create, list and revoke service accounts; issue and revoke API tokens."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        create = commands.add_parser("create", help="make a service account")
        create.add_argument("username")
        create.add_argument("--region", required=True, help="region code, e.g. 3211 or 321102")
        create.add_argument(
            "--scope", action="append", required=True, choices=ServiceScope.values, dest="scopes"
        )
        create.add_argument("--description", required=True, help="which partner, for what")
        token = commands.add_parser("token", help="issue a token (printed once)")
        token.add_argument("username")
        token.add_argument("--name", required=True, help="what the token is for")
        token.add_argument("--days", type=int, help="days until it expires (default 90)")
        commands.add_parser("list", help="service accounts and their tokens")
        revoke_token = commands.add_parser("revoke-token", help="revoke one token")
        revoke_token.add_argument("token_key", help="the token's first 15 characters")
        revoke = commands.add_parser("revoke", help="stop a service account and all its tokens")
        revoke.add_argument("username")

    def handle(self, *args, action: str, **options):
        try:
            getattr(self, action.replace("-", "_"))(**options)
        except DomainError as error:
            raise CommandError(str(error.message))

    def create(self, *, username: str, region: str, scopes: list[str], description: str, **_):
        found = Region.objects.filter(code=region.ljust(12, "0")).first()
        if found is None:
            raise CommandError(f"no region {region!r}")
        account = service_accounts.create_service_account(
            username=username, region=found, scopes=scopes, description=description, by=None
        )
        self.stdout.write(
            f"service account {username}: region {found.code} {found.name}, "
            f"role {account.user.role}, scopes {', '.join(account.scopes)}"
        )

    def token(self, *, username: str, name: str, days: int | None, **_):
        user = self._user(username)
        token, secret = service_accounts.issue_token(user=user, name=name, days=days, by=None)
        self.stdout.write(
            f"token for {username}, expires {local_time(token.expiry):%Y-%m-%d %H:%M}"
        )
        self.stdout.write("shown once, keep it in the partner's secret store:")
        self.stdout.write(secret)

    def list(self, **_):
        accounts = ServiceAccount.objects.select_related("user__region").order_by("user__username")
        for account in accounts:
            state = "revoked" if account.revoked_at else "active"
            self.stdout.write(
                f"{account.user.username}\t{account.user.region.code}\t{','.join(account.scopes)}"
                f"\t{state}\t{account.description}"
            )
        tokens = ApiToken.objects.select_related("user").order_by("user__username", "created")
        for token in tokens:
            state = (
                "revoked" if token.revoked_at else f"expires {local_time(token.expiry):%Y-%m-%d}"
            )
            used = f"{local_time(token.last_used_at):%Y-%m-%d %H:%M}" if token.last_used_at else "-"
            self.stdout.write(
                f"  {token.token_key}\t{token.user.username}\t{token.name}\t{state}"
                f"\tlast used {used}"
            )

    def revoke_token(self, *, token_key: str, **_):
        tokens = list(ApiToken.objects.filter(token_key=token_key[:15], revoked_at=None))
        if len(tokens) != 1:
            raise CommandError(f"{len(tokens)} active tokens start with {token_key[:15]!r}")
        service_accounts.revoke_token(token=tokens[0], by=None)
        self.stdout.write(f"revoked {tokens[0].token_key} ({tokens[0].name})")

    def revoke(self, *, username: str, **_):
        account = ServiceAccount.objects.filter(user__username=username).first()
        if account is None:
            raise CommandError(f"no service account {username!r}")
        service_accounts.revoke_service_account(account=account, by=None)
        self.stdout.write(f"revoked {username} and its tokens")

    def _user(self, username: str) -> User:
        user = User.objects.select_related("region").filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        return user
