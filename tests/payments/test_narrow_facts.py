"""The batch reads one narrow row of facts per household and month (beneficiaries.facts); for any
history of changes (incomes started and ended, conditions from a month, deaths, moves between
households) that row gives the engine the same facts, month by month, as the join of members,
incomes, conditions and moves it replaces (tests.payments.join_reference)."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beneficiaries.facts import (
    household_timelines,
    rebuild_household_facts,
    refresh_household_facts,
)
from beneficiaries.models import (
    Household,
    HouseholdFactsPeriod,
    IncomeItem,
    IncomeType,
    Member,
    MemberCondition,
    MemberMove,
)
from casework import facts as casework_facts
from casework.facts import facts_for_enrolment
from core.idnumbers import make_resident_id
from core.months import add_months
from payments import payroll_io
from tests.factories import EnrolmentFactory, HouseholdFactory
from tests.payments.join_reference import joined_households

FIRST, LAST = datetime.date(2023, 1, 1), datetime.date(2025, 12, 1)
MONTHS = [add_months(FIRST, n) for n in range(36)]

days = st.dates(datetime.date(2022, 6, 1), datetime.date(2026, 6, 30))
months = st.builds(lambda d: d.replace(day=1), days)
amounts = st.integers(0, 600_000).map(lambda fen: Decimal(fen).scaleb(-2))
grades = st.one_of(st.none(), st.integers(1, 4))
conditions = st.tuples(st.booleans(), grades, st.sampled_from(["", "visual", "physical"]))
incomes = st.tuples(
    st.sampled_from(IncomeType.values), amounts, days, st.one_of(st.none(), st.integers(0, 500))
)
members = st.fixed_dictionaries(
    {
        "birth": st.dates(datetime.date(1935, 1, 1), datetime.date(2020, 12, 31)),
        "own": conditions,
        "incomes": st.lists(incomes, max_size=3),
        "conditions": st.lists(
            st.tuples(months, conditions, st.sampled_from(["", "self_care", "partial", "full"])),
            max_size=3,
            unique_by=lambda c: c[0],
        ),
        "died_on": st.one_of(st.none(), days),
        # Moved to the other household on that day (a new member row there).
        "moved_on": st.one_of(st.none(), days),
    }
)
histories = st.tuples(
    st.lists(members, min_size=1, max_size=3), st.lists(members, min_size=0, max_size=2)
)


def make_member(household, person, serial, *, by, moved_from=None) -> Member:
    ill, grade, category = person["own"]
    number = (
        moved_from.id_number
        if moved_from is not None
        else make_resident_id("321102", person["birth"], serial, "F")
    )
    member = Member.objects.create(
        household=household,
        name=f"成员{serial}",
        id_number=number,
        birth_date=person["birth"],
        sex="F",
        relation=Member.Relation.OTHER,
        serious_illness=ill,
        disability_grade=grade,
        disability_category=category if grade else "",
    )
    for income_type, amount, valid_from, days_valid in person["incomes"]:
        IncomeItem.objects.create(
            member=member,
            type=income_type,
            monthly_amount=amount,
            valid_from=valid_from,
            valid_to=None if days_valid is None else valid_from + datetime.timedelta(days_valid),
        )
    for effective, (c_ill, c_grade, c_category), care in person["conditions"]:
        MemberCondition.objects.create(
            member=member,
            effective_month=effective,
            serious_illness=c_ill,
            disability_grade=c_grade,
            disability_category=c_category if c_grade else "",
            care_level=care,
            reason="复核",
            recorded_by=by,
        )
    return member


def write_history(regions, history, by) -> list[int]:
    """Two households and their people, written as the registry holds them: a moved person's
    old row inactive, a new row in the other household, the move recorded; a death on the row
    the person had last."""
    homes = [HouseholdFactory(village=regions["village_a1"]) for _ in history]
    serial = Member.objects.count() * 10 + 1
    for index, (home, people) in enumerate(zip(homes, history, strict=True)):
        other = homes[(index + 1) % len(homes)]
        for person in people:
            serial += 1
            member = make_member(home, person, serial, by=by)
            if person["moved_on"] is not None:
                Member.objects.filter(pk=member.pk).update(is_active=False)
                member.is_active = False
                arrived = make_member(other, person, serial, by=by, moved_from=member)
                MemberMove.objects.create(
                    from_member=member,
                    to_member=arrived,
                    moved_on=person["moved_on"],
                    reason="投靠子女",
                    moved_by=by,
                )
                member = arrived
            if person["died_on"] is not None:
                Member.objects.filter(pk=member.pk).update(
                    is_alive=False, death_date=person["died_on"]
                )
    return [home.pk for home in homes]


def stored_rows(household_ids) -> list[tuple]:
    return list(
        HouseholdFactsPeriod.objects.filter(household_id__in=household_ids)
        .order_by("household_id", "valid_from")
        .values_list("household_id", "valid_from", "valid_until", "members")
    )


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories)
def test_the_narrow_read_of_every_month_equals_the_join_it_replaces(regions, make_user, history):
    by = make_user("caseworker", regions["zhenjiang"], username=f"mover-{Member.objects.count()}")
    ids = write_history(regions, history, by)

    refresh_household_facts(household_ids=ids)

    for month in MONTHS:
        assert payroll_io.read_households(household_ids=set(ids), month=month) == (
            joined_households(household_ids=set(ids), month=month)
        ), month


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories)
def test_the_set_based_rebuild_writes_the_rows_the_service_writes(regions, make_user, history):
    by = make_user("caseworker", regions["zhenjiang"], username=f"mover-{Member.objects.count()}")
    ids = write_history(regions, history, by)
    refresh_household_facts(household_ids=ids)
    written = stored_rows(ids)

    rebuild_household_facts(household_ids=ids)

    assert stored_rows(ids) == written
    assert [
        (h, f, u, [list(m) for m in ms]) for h, f, u, ms in household_timelines(household_ids=ids)
    ] == written


def test_a_households_rows_tile_the_months_and_neighbours_differ(regions, make_user):
    by = make_user("caseworker", regions["zhenjiang"], username="tiler")
    person = {
        "birth": datetime.date(1955, 1, 1),
        "own": (False, None, ""),
        "incomes": [(IncomeType.PENSION, Decimal("1200.00"), datetime.date(2024, 3, 15), 199)],
        "conditions": [(datetime.date(2024, 10, 1), (False, 2, "physical"), "")],
        "died_on": datetime.date(2025, 2, 3),
        "moved_on": None,
    }
    (household_id,) = write_history(regions, [[person]], by)
    refresh_household_facts(household_ids=[household_id])

    rows = stored_rows([household_id])
    # Pension from March 2024 to its last day (30 September), grade 2 from October, death in
    # February 2025: counted in February, gone from March.
    assert [(f.isoformat(), u and u.isoformat()) for _h, f, u, _m in rows] == [
        ("1900-01-01", "2024-02-01"),
        ("2024-03-01", "2024-09-01"),
        ("2024-10-01", "2025-02-01"),
        ("2025-03-01", None),
    ]
    assert rows[-1][3] == []
    assert (rows[1][3][0][2], rows[2][3][0][4]) == ("1200.00", 2)
    assert all(rows[i][3] != rows[i + 1][3] for i in range(len(rows) - 1))


def test_explanation_and_batch_read_the_same_row(regions, make_user):
    by = make_user("caseworker", regions["zhenjiang"], username="explainer")
    person = {
        "birth": datetime.date(1955, 1, 1),
        "own": (True, None, ""),
        "incomes": [(IncomeType.WAGES, Decimal("800.00"), datetime.date(2024, 1, 1), None)],
        "conditions": [],
        "died_on": None,
        "moved_on": None,
    }
    (household_id,) = write_history(regions, [[person, {**person, "incomes": []}]], by)
    refresh_household_facts(household_ids=[household_id])
    enrolment = EnrolmentFactory(household=Household.objects.get(pk=household_id))

    for month in MONTHS:
        _facts, household = facts_for_enrolment(enrolment=enrolment, month=month)
        bulk = payroll_io.read_households(household_ids={household_id}, month=month)
        assert (
            bulk[household_id]
            == household
            == joined_households(household_ids={household_id}, month=month)[household_id]
        )


def test_the_batch_reads_a_chunks_facts_in_one_query_touching_no_member_row(regions, make_user):
    by = make_user("caseworker", regions["zhenjiang"], username="narrow")
    person = {
        "birth": datetime.date(1950, 3, 8),
        "own": (False, 2, "visual"),
        "incomes": [(IncomeType.PENSION, Decimal("900.00"), datetime.date(2023, 1, 1), None)],
        "conditions": [],
        "died_on": None,
        "moved_on": None,
    }
    ids = write_history(regions, [[person, person], [person]], by)
    refresh_household_facts(household_ids=ids)

    with CaptureQueriesContext(connection) as queries:
        households = casework_facts.household_facts(household_ids=ids, month=MONTHS[20])

    assert sorted(households) == sorted(ids)
    assert len(queries) == 1
    sql = queries[0]["sql"]
    for table in (Member, IncomeItem, MemberCondition, MemberMove):
        assert table._meta.db_table not in sql
