"""Shared fixtures: a small region tree, users of each role, and the service switches.

Tests marked ``postgres`` need PostgreSQL (row locks, COPY, triggers). In the embedded SQLite mode
they are skipped; with DOUDI_REQUIRE_SERVICES=1 (CI) they must run, so a skip is an error.
Tests marked ``browser`` drive Debian's Chromium (tests/web/browser/): skipped where it is not
installed; with DOUDI_REQUIRE_BROWSER=1 (CI) its absence is an error.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone, translation
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from beneficiaries.models import Region, User

REQUIRE_SERVICES = os.environ.get("DOUDI_REQUIRE_SERVICES") == "1"
# DOUDI_TEST_AS_APP_ROLE=<role>: the tests' connection acts as the app's PostgreSQL role (made if
# missing, given the grants ``migrate`` gives DB_APP_ROLE), to find code the app role is refused.
APP_ROLE = os.environ.get("DOUDI_TEST_AS_APP_ROLE", "")
REQUIRE_BROWSER = os.environ.get("DOUDI_REQUIRE_BROWSER") == "1"
CHROMIUM = Path("/usr/bin/chromium")

# Property tests check results, not the speed of drawing examples: on a loaded 2-core CI machine
# the draw-time health check and the per-example deadline fail tests whose property holds.
hypothesis_settings.register_profile(
    "doudi", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("doudi")


def pytest_collection_modifyitems(config, items):
    if not CHROMIUM.exists():
        browser_tests = [item for item in items if "browser" in item.keywords]
        if REQUIRE_BROWSER and browser_tests:
            raise pytest.UsageError(f"DOUDI_REQUIRE_BROWSER=1 but {CHROMIUM} is not installed")
        for item in browser_tests:
            item.add_marker(
                pytest.mark.skip(reason=f"needs Chromium at {CHROMIUM}: apt-get install chromium")
            )
    if REQUIRE_SERVICES:
        if not settings.IS_POSTGRES:
            raise pytest.UsageError("DOUDI_REQUIRE_SERVICES=1 but DATABASE_URL is not PostgreSQL")
        if not settings.CELERY_BROKER_URL:
            raise pytest.UsageError("DOUDI_REQUIRE_SERVICES=1 but CELERY_BROKER_URL is not set")
        return
    for item in items:
        if "postgres" in item.keywords and not settings.IS_POSTGRES:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL"))
        if "broker" in item.keywords and not settings.CELERY_BROKER_URL:
            item.add_marker(pytest.mark.skip(reason="needs a broker: set CELERY_BROKER_URL"))


if APP_ROLE:

    @pytest.fixture(scope="session")
    def django_db_setup(django_db_setup, django_db_blocker):
        from django.db import connection
        from django.db.backends.signals import connection_created

        from core.dbroles import grant_app_role
        from tests.db import act_as_app_role, as_owner

        with django_db_blocker.unblock():
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE])
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE ROLE "{APP_ROLE}" LOGIN')
            grant_app_role(role=APP_ROLE)
            act_as_app_role(connection=connection)
        # Transactional tests end by emptying every table (TRUNCATE): the owner's work.
        operations = type(connection.ops)
        flush = operations.execute_sql_flush

        def flush_as_owner(self, sql_list):
            with as_owner():
                flush(self, sql_list)

        operations.execute_sql_flush = flush_as_owner
        connection_created.connect(
            lambda sender, connection, **kwargs: act_as_app_role(connection=connection),
            weak=False,
            dispatch_uid="doudi-test-app-role",
        )
        yield
        # The owner drops the test database.
        connection_created.disconnect(dispatch_uid="doudi-test-app-role")
        operations.execute_sql_flush = flush
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # Users are created in nearly every test; the production hasher would dominate the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def default_language():
    # ?lang=en or the language switch activates English for the thread; later tests expect the
    # default language.
    yield
    translation.activate(settings.LANGUAGE_CODE)


def _region(code: str, name: str, level: str, parent: Region | None) -> Region:
    return Region.objects.create(code=code, name=name, level=level, parent=parent)


@pytest.fixture
def regions(db) -> dict[str, Region]:
    """Jiangsu → Zhenjiang (京口区: two townships) and Changzhou (天宁区: one township)."""
    r: dict[str, Region] = {}
    r["jiangsu"] = _region("320000000000", "江苏省", "province", None)
    r["zhenjiang"] = _region("321100000000", "镇江市", "city", r["jiangsu"])
    r["jingkou"] = _region("321102000000", "京口区", "county", r["zhenjiang"])
    r["town_a"] = _region("321102001000", "正东路街道", "township", r["jingkou"])
    r["village_a1"] = _region("321102001001", "北府社区", "village", r["town_a"])
    r["village_a2"] = _region("321102001002", "宝塔路社区", "village", r["town_a"])
    r["town_b"] = _region("321102002000", "健康路街道", "township", r["jingkou"])
    r["village_b1"] = _region("321102002001", "花山湾社区", "village", r["town_b"])
    r["changzhou"] = _region("320400000000", "常州市", "city", r["jiangsu"])
    r["tianning"] = _region("320402000000", "天宁区", "county", r["changzhou"])
    r["town_c"] = _region("320402001000", "天宁街道", "township", r["tianning"])
    r["village_c1"] = _region("320402001001", "东门社区", "village", r["town_c"])
    return r


@pytest.fixture
def make_user(db):
    def make(role: str, region: Region | None, username: str | None = None, **extra) -> User:
        username = username or f"{role}-{region.code if region else 'all'}-{User.objects.count()}"
        return User.objects.create_user(
            username=username, password="pw-for-tests", role=role, region=region, **extra
        )

    return make


@pytest.fixture
def clock(monkeypatch):
    """``clock(moment)``: from then on ``timezone.now()`` answers ``moment`` (an aware datetime)."""

    def set_to(moment):
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_to


@pytest.fixture
def token_client(db):
    """``token_client(user)``: an API client that calls with a fresh token of ``user``."""
    from rest_framework.test import APIClient

    from beneficiaries.service_accounts import issue_token

    def make(user: User, **extra) -> APIClient:
        _token, secret = issue_token(user=user, name="tests", by=None)
        client = APIClient(**extra)
        client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
        return client

    return make


@pytest.fixture
def make_partner(db):
    """``make_partner(username, region, scopes)``: a service account (made by the command line)."""
    from beneficiaries.service_accounts import create_service_account

    def make(username: str, region: Region, scopes: list[str]) -> User:
        account = create_service_account(
            username=username, region=region, scopes=scopes, description="对接测试", by=None
        )
        return account.user

    return make
