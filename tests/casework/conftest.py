import datetime

import pytest

from rules.parameters import load_standards
from tests.factories import HouseholdFactory, MemberFactory


@pytest.fixture(autouse=True)
def standards(regions):
    """The seeded standards: Zhenjiang 840 from 2023-07, 875 from 2024-07; Changzhou 1020."""
    load_standards()


@pytest.fixture
def caseworker(regions, make_user):
    return make_user("caseworker", regions["town_a"], username="caseworker-a")


@pytest.fixture
def colleague(regions, make_user):
    """A second caseworker of the same township: the one who signs what the first proposed."""
    return make_user("caseworker", regions["town_a"], username="caseworker-a2")


@pytest.fixture
def other_caseworker(regions, make_user):
    return make_user("caseworker", regions["town_b"], username="caseworker-b")


@pytest.fixture
def approver(regions, make_user):
    return make_user("county_approver", regions["jingkou"], username="approver")


@pytest.fixture
def grid_worker(regions, make_user):
    return make_user("grid_worker", regions["village_a1"], username="grid-a1")


@pytest.fixture
def auditor(regions, make_user):
    return make_user("auditor", regions["zhenjiang"], username="auditor")


@pytest.fixture
def household(regions):
    return HouseholdFactory(village=regions["village_a1"])


@pytest.fixture
def family(household):
    """A household of three: head, spouse and a child."""
    head = MemberFactory(household=household, name="王大")
    spouse = MemberFactory(household=household, name="李二", relation="spouse", sex_code="F")
    child = MemberFactory(
        household=household, name="王小", relation="child", birth=datetime.date(2012, 3, 1)
    )
    household.head = head
    household.save()
    return {"head": head, "spouse": spouse, "child": child}


@pytest.fixture
def user_with_role(regions, make_user):
    """A user of any role whose subtree holds village_a1."""
    region_for = {
        "caseworker": "town_a",
        "grid_worker": "village_a1",
        "county_approver": "jingkou",
        "finance": "jingkou",
        "auditor": "zhenjiang",
        "admin": "zhenjiang",
    }
    return lambda role: make_user(role, regions[region_for[role]])


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def set_parameter(regions):
    """Store a policy value for a region (a payments.Standard row) from 2020 on."""
    from rules.models import Standard

    def store(region_key, component, value, category=""):
        return Standard.objects.create(
            region=regions[region_key],
            component=component,
            category=category,
            value=value,
            effective_from=datetime.date(2020, 1, 1),
        )

    return store
