"""Fixtures for the registry: a caseworker of each township and a household in township A."""

import datetime

import pytest
from rest_framework.test import APIClient

from beneficiaries import services
from core.idnumbers import make_resident_id


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # make_user hashes a password per user; PBKDF2 made each fixture take over a second.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def caseworker(regions, make_user):
    return make_user("caseworker", regions["town_a"], username="cw_a")


@pytest.fixture
def caseworker_b(regions, make_user):
    return make_user("caseworker", regions["town_b"], username="cw_b")


@pytest.fixture
def new_id():
    """Valid, distinct resident IDs of people born in 京口区."""
    counter = iter(range(1, 10_000))

    def make(birth=datetime.date(1980, 5, 17), sex="M") -> str:
        return make_resident_id("321102", birth, next(counter), sex)

    return make


@pytest.fixture
def household(regions, caseworker, new_id):
    household = services.register_household(
        village=regions["village_a1"],
        address="北府路1号",
        hukou_type="urban",
        by=caseworker,
        bank_name="江苏银行",
        bank_account_holder="王伟",
        bank_account_number="6222020000000000000",
    )
    services.add_member(
        household=household, name="王伟", id_number=new_id(), relation="head", by=caseworker
    )
    household.refresh_from_db()
    return household


@pytest.fixture
def api():
    """An API client logged in as the given user: ``api(user).get(...)``."""

    def login(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return login


@pytest.fixture
def empty_household(regions, caseworker):
    """A second household of township A (another village), without members yet."""
    return services.register_household(
        village=regions["village_a2"], address="宝塔路2号", hukou_type="urban", by=caseworker
    )
