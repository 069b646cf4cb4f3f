"""Every writer of a household's facts keeps its facts by month in step
(beneficiaries.facts.refresh_household_facts in the writer's transaction): after each, the
stored rows of every household equal those rebuilt from the registry."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from beneficiaries import services
from beneficiaries.facts import households_out_of_step
from beneficiaries.imports import import_households
from beneficiaries.models import HouseholdFactsPeriod, IncomeItem, Member
from casework.services import registry_events
from tests.beneficiaries.test_import import csv_bytes, row

OCT = datetime.date(2024, 10, 1)


def in_step() -> bool:
    assert HouseholdFactsPeriod.objects.exists()
    return households_out_of_step() == []


@pytest.fixture
def second_household(regions, caseworker, new_id):
    household = services.register_household(
        village=regions["village_a1"], address="北府路2号", hukou_type="urban", by=caseworker
    )
    services.add_member(
        household=household, name="赵敏", id_number=new_id(), relation="head", by=caseworker
    )
    return household


def test_every_registry_service_keeps_the_facts_in_step(
    regions, household, second_household, caseworker, new_id
):
    assert in_step()
    services.register_household(
        village=regions["village_a1"], address="北府路3号", hukou_type="rural", by=caseworker
    )
    assert in_step()
    spouse = services.add_member(
        household=household,
        name="李梅",
        id_number=new_id(datetime.date(1955, 1, 1), sex="F"),
        relation="spouse",
        by=caseworker,
    )
    assert in_step()
    income = services.add_income(
        member=spouse,
        type="pension",
        monthly_amount=Decimal("1200"),
        valid_from=datetime.date(2024, 3, 1),
        by=caseworker,
    )
    assert in_step()
    services.end_income(income=income, valid_to=datetime.date(2024, 9, 30), by=caseworker)
    assert in_step()
    services.record_condition(
        member=spouse,
        effective_month=OCT,
        reason="残联新证",
        by=caseworker,
        disability_grade=1,
        disability_category="physical",
    )
    assert in_step()
    # A corrected ID changes the birth date; an edit of a dated fact is a condition from now.
    services.update_member(
        member=spouse, by=caseworker, id_number=new_id(datetime.date(1950, 6, 1), sex="F")
    )
    assert in_step()
    services.update_member(member=spouse, by=caseworker, serious_illness=True)
    assert in_step()
    moved = services.move_member(
        member=spouse,
        to_household=second_household,
        moved_on=datetime.date(2024, 11, 15),
        reason="投靠子女",
        by=caseworker,
    )
    assert in_step()
    moved_back = registry_events.move_member(
        member=moved,
        to_household=household,
        moved_on=datetime.date(2025, 1, 2),
        reason="返回原户",
        by=caseworker,
    )
    assert in_step()
    registry_events.record_death(
        member=moved_back, died_on=datetime.date(2025, 2, 3), by=caseworker
    )
    assert in_step()
    assert HouseholdFactsPeriod.objects.filter(household=household).count() > 3


def test_an_import_writes_the_facts_of_the_households_it_creates(regions, caseworker, new_id):
    rows = [
        row(
            household_key="H1",
            village_code="321102001001",
            address="北府路9号",
            hukou_type="城镇",
            name="张三",
            id_number=new_id(),
            relation="户主",
            income_type="工资性收入",
            monthly_amount="1800",
            income_valid_from="2024-01-01",
        )
    ]
    result = import_households(content=csv_bytes(rows), filename="roll.csv", by=caseworker)
    assert result.households == 1
    assert in_step()


def test_the_check_command_finds_a_household_written_around_the_services(household, caseworker):
    call_command("rebuild_household_facts", "--check")
    IncomeItem.objects.create(
        member=Member.objects.get(household=household),
        type="wages",
        monthly_amount=Decimal("900"),
        valid_from=datetime.date(2024, 5, 1),
    )
    with pytest.raises(CommandError, match="1 household"):
        call_command("rebuild_household_facts", "--check")

    call_command("rebuild_household_facts")

    call_command("rebuild_household_facts", "--check")
