"""One demo user per role per demo city (two finance users, so that one prepares a batch and the
other approves it), with a demo-only password printed by `demo_logins`."""

from dataclasses import dataclass

from beneficiaries.models import Region, User

# Demo only: load_seeds refuses to create these users on a real deployment unless asked.
DEMO_PASSWORD = "doudi-demo-2024"


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    region_code: str


DEMO_USERS = (
    DemoUser("zj-caseworker", User.Role.CASEWORKER, "321102001000"),
    DemoUser("zj-grid", User.Role.GRID_WORKER, "321102001000"),
    DemoUser("zj-approver", User.Role.COUNTY_APPROVER, "321102000000"),
    DemoUser("zj-finance", User.Role.FINANCE, "321100000000"),
    DemoUser("zj-finance2", User.Role.FINANCE, "321100000000"),
    DemoUser("zj-auditor", User.Role.AUDITOR, "321100000000"),
    DemoUser("cz-caseworker", User.Role.CASEWORKER, "320402001000"),
    DemoUser("cz-grid", User.Role.GRID_WORKER, "320402001000"),
    DemoUser("cz-approver", User.Role.COUNTY_APPROVER, "320402000000"),
    DemoUser("cz-finance", User.Role.FINANCE, "320400000000"),
    DemoUser("cz-finance2", User.Role.FINANCE, "320400000000"),
    DemoUser("cz-auditor", User.Role.AUDITOR, "320400000000"),
    DemoUser("js-admin", User.Role.ADMIN, "320000000000"),
)


def create_demo_users() -> int:
    """Create the demo users that do not exist yet; return how many were created.

    An existing user is left as it is (a second run changes nothing, not even a password hash).
    """
    regions = {
        r.code: r for r in Region.objects.filter(code__in={u.region_code for u in DEMO_USERS})
    }
    existing = set(
        User.objects.filter(username__in=[u.username for u in DEMO_USERS]).values_list(
            "username", flat=True
        )
    )
    created = 0
    for spec in DEMO_USERS:
        if spec.username in existing:
            continue
        User.objects.create_user(
            username=spec.username,
            password=DEMO_PASSWORD,
            role=spec.role,
            region=regions[spec.region_code],
            is_staff=True,
            is_superuser=spec.role == User.Role.ADMIN,
        )
        created += 1
    return created
