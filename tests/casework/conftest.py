import datetime

import pytest

from tests.factories import HouseholdFactory, MemberFactory


@pytest.fixture
def caseworker(regions, make_user):
    return make_user("caseworker", regions["town_a"], username="caseworker-a")


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
