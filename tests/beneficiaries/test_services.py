"""The registry's rules, as enforced by beneficiaries.services."""

import datetime
from decimal import Decimal

import pytest

from beneficiaries import services
from beneficiaries.models import Household, IncomeItem, Member, MemberMove
from core.exceptions import Conflict, DomainError


def test_registering_a_household_needs_a_village(regions, caseworker):
    with pytest.raises(DomainError) as error:
        services.register_household(
            village=regions["town_a"], address="x", hukou_type="urban", by=caseworker
        )
    assert error.value.field == "village"
    assert not Household.objects.exists()


def test_registering_a_household_outside_the_users_subtree_is_refused(regions, caseworker):
    with pytest.raises(DomainError) as error:
        services.register_household(
            village=regions["village_b1"], address="x", hukou_type="urban", by=caseworker
        )
    assert error.value.field == "village"
    assert not Household.objects.exists()


def test_a_bank_account_failing_its_check_digit_is_refused(regions, caseworker):
    with pytest.raises(DomainError) as error:
        services.register_household(
            village=regions["village_a1"],
            address="x",
            hukou_type="urban",
            by=caseworker,
            bank_account_number="6222020000000000001",
        )
    assert error.value.field == "bank_account_number"
    assert not Household.objects.exists()


def test_birth_date_and_sex_are_read_from_the_id(household, caseworker, new_id):
    member = services.add_member(
        household=household,
        name="王芳",
        id_number=new_id(birth=datetime.date(2010, 2, 3), sex="F"),
        relation="child",
        by=caseworker,
    )
    assert member.birth_date == datetime.date(2010, 2, 3)
    assert member.sex == "F"


def test_an_id_with_a_wrong_check_digit_is_refused(household, caseworker, new_id):
    good = new_id()
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(DomainError) as error:
        services.add_member(
            household=household, name="李四", id_number=bad, relation="child", by=caseworker
        )
    assert error.value.field == "id_number"
    assert household.members.count() == 1


def test_the_first_head_becomes_the_households_head(household):
    assert household.head is not None
    assert household.head.relation == "head"


def test_a_second_head_is_refused(household, caseworker, new_id):
    with pytest.raises(DomainError) as error:
        services.add_member(
            household=household, name="李四", id_number=new_id(), relation="head", by=caseworker
        )
    assert error.value.field == "relation"
    assert household.members.count() == 1


def test_a_person_active_in_another_household_is_refused_naming_it(
    empty_household, regions, household, caseworker
):
    with pytest.raises(DomainError) as error:
        services.add_member(
            household=empty_household,
            name="王伟",
            id_number=household.head.id_number,
            relation="head",
            by=caseworker,
        )
    assert error.value.field == "id_number"
    assert f"#{household.pk}" in str(error.value.message)
    assert "北府路1号" in str(error.value.message)
    assert not empty_household.members.exists()


def test_the_database_refuses_a_second_active_membership_with_the_same_message(
    empty_household, regions, household, caseworker, monkeypatch
):
    """The race: the Python check saw nothing, the partial unique constraint still holds."""
    real_lookup = services.active_membership
    calls = []

    def lookup_missing_the_first_time(id_number):
        calls.append(id_number)
        return None if len(calls) == 1 else real_lookup(id_number)

    monkeypatch.setattr(services, "active_membership", lookup_missing_the_first_time)
    with pytest.raises(DomainError) as error:
        services.add_member(
            household=empty_household,
            name="王伟",
            id_number=household.head.id_number,
            relation="head",
            by=caseworker,
        )
    assert error.value.field == "id_number"
    assert f"#{household.pk}" in str(error.value.message)
    assert not empty_household.members.exists()


def test_income_must_be_a_known_type_and_not_negative(household, caseworker):
    with pytest.raises(DomainError) as error:
        services.add_income(
            member=household.head,
            type="wages",
            monthly_amount=Decimal("-1"),
            valid_from=datetime.date(2024, 1, 1),
            by=caseworker,
        )
    assert error.value.field == "monthly_amount"
    with pytest.raises(DomainError) as error:
        services.add_income(
            member=household.head,
            type="lottery",
            monthly_amount=Decimal("1"),
            valid_from=datetime.date(2024, 1, 1),
            by=caseworker,
        )
    assert error.value.field == "type"
    assert not IncomeItem.objects.exists()


def test_moving_a_person_records_the_move_and_keeps_one_active_membership(
    empty_household, regions, household, caseworker, new_id
):
    child = services.add_member(
        household=household, name="王芳", id_number=new_id(), relation="child", by=caseworker
    )
    services.add_income(
        member=child,
        type="wages",
        monthly_amount=Decimal("2000"),
        valid_from=datetime.date(2024, 1, 1),
        by=caseworker,
    )
    services.add_income(
        member=child,
        type="wages",
        monthly_amount=Decimal("1500"),
        valid_from=datetime.date(2023, 1, 1),
        valid_to=datetime.date(2023, 12, 31),
        by=caseworker,
    )
    moved = services.move_member(
        member=child,
        to_household=empty_household,
        moved_on=datetime.date(2024, 6, 1),
        reason="结婚",
        by=caseworker,
        relation="head",
    )
    child.refresh_from_db()
    empty_household.refresh_from_db()
    assert not child.is_active
    assert (
        moved.is_active
        and moved.household == empty_household
        and moved.id_number == child.id_number
    )
    assert empty_household.head == moved
    assert Member.objects.filter(id_number=child.id_number, is_active=True).get() == moved
    move = MemberMove.objects.get()
    assert (move.from_member, move.to_member, move.reason) == (child, moved, "结婚")
    assert [i.monthly_amount for i in moved.incomes.all()] == [Decimal("2000.00")]


def test_an_inactive_membership_cannot_be_moved_again(
    empty_household, regions, household, caseworker, new_id
):
    child = services.add_member(
        household=household, name="王芳", id_number=new_id(), relation="child", by=caseworker
    )
    services.move_member(
        member=child,
        to_household=empty_household,
        moved_on=datetime.date(2024, 6, 1),
        reason="x",
        by=caseworker,
    )
    third = services.register_household(
        village=regions["village_a2"], address="宝塔路3号", hukou_type="urban", by=caseworker
    )
    with pytest.raises(Conflict):
        services.move_member(
            member=child,
            to_household=third,
            moved_on=datetime.date(2024, 7, 1),
            reason="x",
            by=caseworker,
        )
    assert not third.members.exists()
    assert MemberMove.objects.count() == 1


def test_moving_the_head_leaves_the_old_household_without_a_head(
    empty_household, regions, household, caseworker
):
    services.move_member(
        member=household.head,
        to_household=empty_household,
        moved_on=datetime.date(2024, 6, 1),
        reason="x",
        by=caseworker,
    )
    household.refresh_from_db()
    assert household.head is None


def test_a_move_into_another_township_is_refused_for_a_township_caseworker(
    regions, household, caseworker, caseworker_b
):
    target = services.register_household(
        village=regions["village_b1"], address="花山湾1号", hukou_type="rural", by=caseworker_b
    )
    with pytest.raises(DomainError) as error:
        services.move_member(
            member=household.head,
            to_household=target,
            moved_on=datetime.date(2024, 6, 1),
            reason="x",
            by=caseworker,
        )
    assert error.value.field == "to_household"
    assert household.head.is_active and not MemberMove.objects.exists()


def test_setting_the_head_changes_the_previous_heads_relation(household, caseworker, new_id):
    spouse = services.add_member(
        household=household,
        name="李娜",
        id_number=new_id(sex="F"),
        relation="spouse",
        by=caseworker,
    )
    old_head = household.head
    services.set_head(
        household=household, member=spouse, by=caseworker, previous_head_relation="spouse"
    )
    household.refresh_from_db()
    old_head.refresh_from_db()
    assert household.head == spouse
    assert old_head.relation == "spouse"
    assert Member.objects.get(pk=spouse.pk).relation == "head"


def test_an_id_from_an_unknown_county_is_refused_not_a_crash(household, caseworker):
    """stdnum raises KeyError for a known province with an unknown county (12 3456)."""
    from stdnum.cn import ric

    body = "12345619800517001"
    number = body + ric.calc_check_digit(body + "0")
    with pytest.raises(DomainError) as error:
        services.add_member(
            household=household, name="李四", id_number=number, relation="child", by=caseworker
        )
    assert (error.value.field, error.value.code) == ("id_number", "id_number_area")
    assert household.members.count() == 1


def test_an_area_code_created_after_the_birth_is_accepted(household, caseworker):
    """丹徒区 (321112) exists from 2002; someone born in 1990 and registered there since holds
    an ID with that code (the area is where the ID was issued, not where the person was born)."""
    from stdnum.cn import ric

    body = "32111219900101001"
    number = body + ric.calc_check_digit(body + "0")
    member = services.add_member(
        household=household, name="李四", id_number=number, relation="child", by=caseworker
    )
    assert member.birth_date == datetime.date(1990, 1, 1)


def test_a_disability_grade_is_checked_with_the_members_category(household, caseworker):
    head = household.head
    services.update_member(member=head, by=caseworker, disability_category="visual")
    services.update_member(member=head, by=caseworker, disability_grade=2)
    with pytest.raises(DomainError) as error:
        services.update_member(member=head, by=caseworker, disability_category="")
    assert error.value.field == "disability_category"
    head.refresh_from_db()
    assert (head.disability_category, head.disability_grade) == ("visual", 2)
