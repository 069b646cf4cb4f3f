"""A household's facts by month keep ``members`` as PostgreSQL json (the stored text returned as
is), written as jsonb's canonical text by every writer and read back equal by the ORM and by the
batch's raw read; migration 0016 converts the column both ways, keeping every row."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection

from beneficiaries import services
from beneficiaries.facts import (
    facts_rows_for_month,
    households_out_of_step,
    rebuild_household_facts,
    refresh_household_facts,
)
from beneficiaries.models import HouseholdFactsPeriod
from tests.db import latest_migrations, migrate_to

AUG = datetime.date(2024, 8, 1)
TABLE = HouseholdFactsPeriod._meta.db_table
BEFORE = [("beneficiaries", "0015_records_since_after_household_facts")]
AFTER = [("beneficiaries", "0016_facts_members_as_json")]


def column_type() -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attname = 'members'",
            [TABLE],
        )
        return cursor.fetchone()[0]


def texts() -> list[tuple]:
    """Each row's stored text and the text jsonb gives for the same value."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT household_id, valid_from, members::text, members::jsonb::text FROM {TABLE} "
            "ORDER BY household_id, valid_from"
        )
        return cursor.fetchall()


@pytest.fixture
def with_income(household, caseworker):
    services.add_income(
        member=household.members.get(),
        type="pension",
        monthly_amount=Decimal("1234.50"),
        valid_from=datetime.date(2024, 3, 1),
        by=caseworker,
    )
    return household


def orm_members(household_id: int, month: datetime.date):
    return (
        HouseholdFactsPeriod.objects.filter(household_id=household_id, valid_from__lte=month)
        .order_by("-valid_from")
        .values_list("members", flat=True)
        .first()
    )


def test_a_stored_row_reads_back_equal_through_the_orm_and_the_batch_read(with_income):
    household = with_income
    members = orm_members(household.pk, AUG)
    assert isinstance(members, list) and len(members) == 1
    assert members[0][2] == "1234.50"
    assert facts_rows_for_month(household_ids=[household.pk], month=AUG) == [
        (household.pk, members)
    ]
    # Written whole through the ORM, read back whole.
    row = HouseholdFactsPeriod.objects.get(household=household, valid_from=AUG.replace(month=3))
    row.members = [[7, "1950-06-01", "0", True, None, "", "长期护理"]]
    row.save()
    row.refresh_from_db()
    assert row.members == [[7, "1950-06-01", "0", True, None, "", "长期护理"]]


@pytest.mark.postgres
def test_the_column_is_json_holding_jsonbs_text_from_every_writer(with_income):
    household = with_income
    assert column_type() == "json"
    HouseholdFactsPeriod.objects.create(
        household=household,
        valid_from=datetime.date(2030, 1, 1),
        members=[[7, "1950-06-01", "0", True, None, "", "长期护理"]],
    )
    service_written = texts()
    assert all(stored == canonical for _, _, stored, canonical in service_written)
    assert "长期护理" in service_written[-1][2]  # as written, not escaped

    refresh_household_facts(household_ids=[household.pk])
    by_service = texts()
    rebuild_household_facts(household_ids=[household.pk])
    by_rebuild = texts()
    assert by_rebuild == by_service
    assert all(stored == canonical for _, _, stored, canonical in by_rebuild)
    assert households_out_of_step() == []


@pytest.fixture
def back_to_latest():
    yield
    migrate_to(latest_migrations())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_migration_converts_the_column_both_ways_keeping_every_row(with_income, back_to_latest):
    before = texts()
    assert len(before) >= 2

    migrate_to(BEFORE)
    assert column_type() == "jsonb"
    assert texts() == before

    migrate_to(AFTER)
    assert column_type() == "json"
    assert texts() == before
    assert facts_rows_for_month(household_ids=[with_income.pk], month=AUG) == [
        (with_income.pk, orm_members(with_income.pk, AUG))
    ]
