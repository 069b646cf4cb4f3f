"""The batch reads each member's age from the database: the same completed years as
casework.facts.age_on, birthdays on the first of the month and 29 February included."""

import datetime

import pytest

from casework.facts import age_on
from payments import payroll_io
from tests.factories import HouseholdFactory, MemberFactory

BIRTHS = [
    datetime.date(1950, 1, 1),  # birthday on the month's first day: counted
    datetime.date(1960, 12, 31),
    datetime.date(1988, 2, 29),  # 29 February
    datetime.date(2000, 3, 1),
    datetime.date(2006, 8, 2),  # the day after the first
    datetime.date(2006, 7, 31),  # the day before
    datetime.date(2017, 8, 1),
    datetime.date(2024, 1, 15),  # a baby
]
MONTHS = [
    datetime.date(2024, 1, 1),
    datetime.date(2024, 2, 1),
    datetime.date(2024, 3, 1),  # after 29 February in a leap year
    datetime.date(2025, 3, 1),  # after 28 February in another year
    datetime.date(2024, 8, 1),
    datetime.date(2024, 12, 1),
]


@pytest.mark.django_db
@pytest.mark.parametrize("month", MONTHS, ids=str)
def test_the_age_read_with_the_facts_is_the_completed_years_on_the_months_first_day(regions, month):
    household = HouseholdFactory(village=regions["village_a1"])
    members = [MemberFactory(household=household, birth=birth) for birth in BIRTHS]

    facts = payroll_io.read_households(household_ids={household.pk}, month=month)[household.pk]

    expected = {m.pk: age_on(m.birth_date, month) for m in members}
    read = {f.member_id: f.age for f in facts.members if f.member_id in expected}
    assert read == expected
    assert all(isinstance(age, int) for age in read.values())
