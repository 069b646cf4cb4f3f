import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from casework import selectors
from casework.models import Adjustment, Enrolment
from casework.services import enrolments, registry_events
from core.exceptions import Conflict, DomainError
from core.months import add_months, first_of_month
from tests.factories import HouseholdFactory, IncomeItemFactory, MemberFactory

AUG = datetime.date(2024, 8, 1)
SEP = datetime.date(2024, 9, 1)


def enrol_dibao(household, caseworker, approver):
    return enrolments.enrol(
        household=household, category="dibao", start_month=AUG, by=caseworker, approved_by=approver
    )


def in_force(month, prefix="3211"):
    return set(selectors.enrolments_in_force(region_prefix=prefix, month=month))


def test_enrol_writes_a_new_adjustment_and_schedules_the_review(
    household, family, caseworker, approver
):
    enrolment = enrolments.enrol(
        household=household,
        category="dibao",
        start_month=datetime.date(2024, 8, 17),
        by=caseworker,
        approved_by=approver,
    )
    assert enrolment.start_month == AUG
    assert enrolment.region_code == household.region_code
    assert enrolment.next_review_due == datetime.date(2025, 8, 1)
    (adjustment,) = enrolment.adjustments.all()
    assert adjustment.kind == Adjustment.Kind.NEW
    assert adjustment.effective_month == AUG
    assert adjustment.proposed_by == caseworker
    assert enrolment in in_force(AUG)
    assert enrolment not in in_force(datetime.date(2024, 7, 1))


def test_able_to_work_households_are_reviewed_every_six_months(
    household, family, caseworker, approver
):
    enrolment = enrolments.enrol(
        household=household,
        category="dibao",
        start_month=AUG,
        review_class="able_to_work",
        by=caseworker,
        approved_by=approver,
    )
    assert enrolment.next_review_due == datetime.date(2025, 2, 1)


def test_a_second_open_enrolment_in_the_same_category_is_refused(
    household, family, caseworker, approver
):
    enrol_dibao(household, caseworker, approver)
    with pytest.raises(Conflict):
        enrolments.enrol(
            household=household,
            category="dibao",
            start_month=SEP,
            by=caseworker,
            approved_by=approver,
        )
    assert Enrolment.objects.count() == 1
    assert Adjustment.objects.count() == 1


@pytest.mark.parametrize(
    "category, with_member, care_level, field",
    [
        ("tekun", False, "self_care", "member"),
        ("tekun", True, "", "care_level"),
        ("dibao", True, "", "member"),
        ("dibao", False, "full", "care_level"),
    ],
)
def test_enrol_refuses_inconsistent_coverage(
    household, family, caseworker, category, with_member, care_level, field, approver
):
    with pytest.raises(DomainError) as error:
        enrolments.enrol(
            household=household,
            category=category,
            start_month=AUG,
            member=family["head"] if with_member else None,
            care_level=care_level,
            by=caseworker,
            approved_by=approver,
        )
    assert error.value.field == field
    assert not Enrolment.objects.exists()
    assert not Adjustment.objects.exists()


def test_a_stop_ahead_pays_the_months_before_it_then_closes(
    household, family, caseworker, approver
):
    this_month = first_of_month(timezone.localdate())
    enrolment = enrolments.enrol(
        household=household,
        category="dibao",
        start_month=this_month,
        by=caseworker,
        approved_by=approver,
    )
    enrolments.stop(
        enrolment=enrolment,
        effective_month=add_months(this_month, 2),
        reason_code="income_above_standard",
        reason_text="收入超过标准",
        by=caseworker,
        approved_by=approver,
    )
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.ACTIVE
    assert enrolment.end_month == add_months(this_month, 1)
    assert enrolment.next_review_due is None
    assert enrolment in in_force(add_months(this_month, 1))
    assert enrolment not in in_force(add_months(this_month, 2))
    stop = enrolment.adjustments.get(kind=Adjustment.Kind.STOP)
    assert (stop.effective_month, stop.amount_after) == (add_months(this_month, 2), 0)
    assert stop.reason_text == "收入超过标准"
    with pytest.raises(Conflict):
        enrolments.stop(
            enrolment=enrolment,
            effective_month=this_month,
            reason_code="r",
            reason_text="再停",
            by=caseworker,
            approved_by=approver,
        )

    assert enrolments.close_ended_enrolments(today=add_months(this_month, 1)) == 0
    assert enrolments.close_ended_enrolments(today=add_months(this_month, 2)) == 1
    assert enrolments.close_ended_enrolments(today=add_months(this_month, 2)) == 0
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.STOPPED
    assert enrolment.adjustments.count() == 2


def test_a_stop_from_a_past_month_takes_effect_at_once(household, family, caseworker, approver):
    enrolment = enrol_dibao(household, caseworker, approver)
    enrolments.stop(
        enrolment=enrolment,
        effective_month=SEP,
        reason_code="r",
        reason_text="迁出",
        by=caseworker,
        approved_by=approver,
    )
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.end_month) == (Enrolment.Status.STOPPED, AUG)


def test_a_gradual_exit_that_ran_its_course_is_closed_with_a_stop(
    household, family, caseworker, approver
):
    enrolment = enrol_dibao(household, caseworker, approver)
    enrolments.gradual_exit(
        enrolment=enrolment,
        effective_month=SEP,
        reason_code="work_income",
        reason_text="就业",
        amount=1725,
        by=caseworker,
        approved_by=approver,
    )
    enrolments.close_ended_enrolments(today=datetime.date(2025, 2, 28))
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.GRADUAL_EXIT
    enrolments.close_ended_enrolments(today=datetime.date(2025, 3, 1))
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.STOPPED
    stop = enrolment.adjustments.get(kind="stop")
    assert (stop.effective_month, stop.reason_code) == (
        datetime.date(2025, 3, 1),
        "gradual_exit_ended",
    )
    assert (stop.amount_before, stop.amount_after) == (1725, 0)


def test_resume_cancels_a_stop_recorded_ahead(household, family, caseworker, approver):
    this_month = first_of_month(timezone.localdate())
    enrolment = enrolments.enrol(
        household=household,
        category="dibao",
        start_month=this_month,
        by=caseworker,
        approved_by=approver,
    )
    enrolments.stop(
        enrolment=enrolment,
        effective_month=add_months(this_month, 1),
        reason_code="r",
        reason_text="外出",
        by=caseworker,
        approved_by=approver,
    )
    enrolments.resume(
        enrolment=enrolment,
        effective_month=add_months(this_month, 1),
        reason_code="r",
        reason_text="未外出",
        by=caseworker,
        approved_by=approver,
    )
    enrolment.refresh_from_db()
    assert enrolment.end_month is None
    assert enrolment in in_force(add_months(this_month, 5))


def test_a_stop_needs_a_reason(household, family, caseworker, approver):
    enrolment = enrol_dibao(household, caseworker, approver)
    with pytest.raises(DomainError):
        enrolments.stop(
            enrolment=enrolment,
            effective_month=SEP,
            reason_code="x",
            reason_text=" ",
            by=caseworker,
            approved_by=approver,
        )
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.ACTIVE
    assert enrolment.adjustments.count() == 1


def test_resume_pays_again_from_the_effective_month(household, family, caseworker, approver):
    enrolment = enrol_dibao(household, caseworker, approver)
    enrolments.stop(
        enrolment=enrolment,
        effective_month=SEP,
        reason_code="r",
        reason_text="外出务工",
        by=caseworker,
        approved_by=approver,
    )
    with pytest.raises(Conflict):
        enrolments.stop(
            enrolment=enrolment,
            effective_month=SEP,
            reason_code="r",
            reason_text="重复",
            by=caseworker,
            approved_by=approver,
        )
    change = enrolments.resume(
        enrolment=enrolment,
        effective_month=datetime.date(2024, 11, 1),
        reason_code="returned",
        reason_text="返乡,收入低于标准",
        by=caseworker,
        approved_by=approver,
    )
    resumed = change.enrolment
    enrolment.refresh_from_db()
    assert resumed.pk != enrolment.pk
    assert change.adjustment == resumed.adjustments.get()
    assert resumed.status == Enrolment.Status.ACTIVE
    assert resumed.end_month is None
    assert resumed in in_force(datetime.date(2024, 11, 1))
    assert enrolment in in_force(AUG)
    # September and October were not covered: no enrolment is in force then.
    for gap in (SEP, datetime.date(2024, 10, 1)):
        assert not {e for e in in_force(gap) if e.household_id == household.pk}
    assert list(enrolment.adjustments.values_list("kind", flat=True)) == ["new", "stop"]
    assert list(resumed.adjustments.values_list("kind", flat=True)) == ["resume"]


def test_resume_from_the_month_after_the_stop_goes_on_in_the_same_enrolment(
    household, family, caseworker, approver
):
    enrolment = enrol_dibao(household, caseworker, approver)
    enrolments.stop(
        enrolment=enrolment,
        effective_month=SEP,
        reason_code="r",
        reason_text="外出",
        by=caseworker,
        approved_by=approver,
    )
    resumed = enrolments.resume(
        enrolment=enrolment,
        effective_month=SEP,
        reason_code="r",
        reason_text="未外出",
        by=caseworker,
        approved_by=approver,
    ).enrolment
    assert resumed.pk == enrolment.pk
    assert resumed in in_force(SEP)


def test_gradual_exit_keeps_the_amount_for_six_months_then_ends(
    household, family, caseworker, approver
):
    enrolment = enrol_dibao(household, caseworker, approver)
    enrolments.gradual_exit(
        enrolment=enrolment,
        effective_month=datetime.date(2025, 1, 1),
        reason_code="work_income",
        reason_text="就业后人均收入950元",
        amount=1725,
        by=caseworker,
        approved_by=approver,
    )
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.GRADUAL_EXIT
    assert enrolment.gradual_exit_amount == 1725
    assert enrolment.gradual_exit_until == datetime.date(2025, 6, 1)
    assert enrolment in in_force(datetime.date(2025, 6, 1))
    assert enrolment not in in_force(datetime.date(2025, 7, 1))
    adjustment = enrolment.adjustments.get(kind="gradual_exit")
    assert adjustment.amount_before == adjustment.amount_after == 1725


def test_increase_and_decrease_are_recorded_with_their_reason(
    household, family, caseworker, approver
):
    enrolment = enrol_dibao(household, caseworker, approver)
    decreased = enrolments.decrease(
        enrolment=enrolment,
        effective_month=SEP,
        reason_code="income",
        reason_text="工资上涨",
        by=caseworker,
        approved_by=approver,
    )
    increased = enrolments.increase(
        enrolment=enrolment,
        effective_month=datetime.date(2024, 10, 1),
        reason_code="illness",
        reason_text="成员重病",
        by=caseworker,
        approved_by=approver,
    )
    assert list(enrolment.adjustments.values_list("kind", "reason_code")) == [
        ("new", "approved"),
        ("decrease", "income"),
        ("increase", "illness"),
    ]
    assert [decreased.adjustment.kind, increased.adjustment.kind] == ["decrease", "increase"]
    assert decreased.enrolment == increased.enrolment == enrolment


def test_death_reduces_a_household_enrolment_from_the_next_month(
    household, family, caseworker, approver
):
    enrolment = enrol_dibao(household, caseworker, approver)
    registry_events.record_death(
        member=family["head"], died_on=datetime.date(2024, 8, 15), by=caseworker
    )
    family["head"].refresh_from_db()
    assert not family["head"].is_alive
    assert family["head"].death_date == datetime.date(2024, 8, 15)
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.ACTIVE
    decrease = enrolment.adjustments.get(kind=Adjustment.Kind.DECREASE)
    assert decrease.effective_month == SEP
    assert decrease.reason_code == "death"
    assert "王大" in decrease.reason_text


def test_death_of_the_last_member_stops_the_household_enrolment(household, caseworker, approver):
    alone = MemberFactory(household=household, name="孤老")
    enrolment = enrol_dibao(household, caseworker, approver)
    registry_events.record_death(member=alone, died_on=datetime.date(2024, 8, 31), by=caseworker)
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.STOPPED
    assert enrolment.end_month == AUG
    assert enrolment not in in_force(SEP)
    assert enrolment.adjustments.get(kind="stop").effective_month == SEP


def test_death_stops_the_members_own_enrolment_only(household, family, caseworker, approver):
    tekun = enrolments.enrol(
        household=household,
        category="tekun",
        member=family["head"],
        care_level="partial",
        start_month=AUG,
        by=caseworker,
        approved_by=approver,
    )
    child = enrolments.enrol(
        household=household,
        category="ill_disabled_child",
        member=family["child"],
        start_month=AUG,
        by=caseworker,
        approved_by=approver,
    )
    registry_events.record_death(
        member=family["head"], died_on=datetime.date(2024, 9, 2), by=caseworker
    )
    tekun.refresh_from_db()
    child.refresh_from_db()
    assert tekun.status == Enrolment.Status.STOPPED
    assert tekun.end_month == SEP
    assert child.status == Enrolment.Status.ACTIVE
    assert child.adjustments.count() == 1


def test_a_death_is_recorded_once(household, family, caseworker):
    registry_events.record_death(
        member=family["head"], died_on=datetime.date(2024, 8, 15), by=caseworker
    )
    with pytest.raises(Conflict):
        registry_events.record_death(
            member=family["head"], died_on=datetime.date(2024, 8, 16), by=caseworker
        )
    family["head"].refresh_from_db()
    assert family["head"].death_date == datetime.date(2024, 8, 15)


def test_in_force_is_scoped_by_region_prefix(household, family, caseworker, approver):
    enrolment = enrol_dibao(household, caseworker, approver)
    assert enrolment in in_force(AUG, prefix="321102001")
    assert enrolment not in in_force(AUG, prefix="3204")


@pytest.fixture
def three_adults(household):
    """DOMAIN.md worked example: Zhenjiang, a household of 3 with total counted income 900."""
    head = MemberFactory(household=household, name="周一")
    IncomeItemFactory(member=head, monthly_amount=Decimal("900"))
    spouse = MemberFactory(household=household, name="吴二", relation="spouse", sex_code="F")
    brother = MemberFactory(household=household, name="周三", relation="sibling")
    return {"head": head, "spouse": spouse, "brother": brother}


def test_the_new_adjustment_carries_the_engine_amount(
    household, three_adults, caseworker, approver
):
    enrolment = enrol_dibao(household, caseworker, approver)
    new = enrolment.adjustments.get()
    assert (new.amount_before, new.amount_after) == (None, Decimal("1725"))


@pytest.mark.parametrize(
    "who, kind, after",
    [
        # (875 − 900 ÷ 2) × 2 = 850 from September.
        ("spouse", Adjustment.Kind.DECREASE, Decimal("850")),
        # The earner died: (875 − 0) × 2 = 1750, more than before.
        ("head", Adjustment.Kind.INCREASE, Decimal("1750")),
    ],
)
def test_death_records_the_household_amount_before_and_after(
    household, three_adults, caseworker, who, kind, after, approver
):
    enrolment = enrol_dibao(household, caseworker, approver)
    registry_events.record_death(
        member=three_adults[who], died_on=datetime.date(2024, 8, 15), by=caseworker
    )
    adjustment = enrolment.adjustments.get(reason_code="death")
    assert adjustment.kind == kind
    assert (adjustment.amount_before, adjustment.amount_after) == (Decimal("1725"), after)


def test_gradual_exit_keeps_the_last_amount_by_default(
    household, three_adults, caseworker, approver
):
    enrolment = enrol_dibao(household, caseworker, approver)
    enrolments.gradual_exit(
        enrolment=enrolment,
        effective_month=SEP,
        reason_code="work_income",
        reason_text="就业后收入超过标准",
        by=caseworker,
        approved_by=approver,
    )
    enrolment.refresh_from_db()
    assert enrolment.gradual_exit_amount == Decimal("1725")
    assert enrolment.gradual_exit_until == datetime.date(2025, 2, 1)


def test_stop_records_the_amount_that_is_no_longer_paid(
    household, three_adults, caseworker, approver
):
    enrolment = enrol_dibao(household, caseworker, approver)
    enrolments.stop(
        enrolment=enrolment,
        effective_month=SEP,
        reason_code="moved",
        reason_text="迁出本市",
        by=caseworker,
        approved_by=approver,
    )
    stop = enrolment.adjustments.get(kind="stop")
    assert (stop.amount_before, stop.amount_after) == (Decimal("1725"), Decimal("0"))


def test_a_members_own_enrolment_stopped_by_death_records_what_it_paid(
    household, three_adults, caseworker, approver
):
    tekun = enrolments.enrol(
        household=household,
        category="tekun",
        member=three_adults["brother"],
        care_level="self_care",
        start_month=AUG,
        by=caseworker,
        approved_by=approver,
    )
    registry_events.record_death(
        member=three_adults["brother"], died_on=datetime.date(2024, 8, 15), by=caseworker
    )
    stop = tekun.adjustments.get(kind="stop")
    # 875 × 1.3 = 1137.5 → 1138, plus the self-care allowance 2070 ÷ 10 = 207 (Zhenjiang seeds).
    assert stop.amount_before == Decimal("1345")
    assert stop.amount_after == 0


def test_a_move_takes_the_members_enrolment_along_and_recomputes_both_households(
    regions, household, three_adults, caseworker, approver
):
    other = HouseholdFactory(village=regions["village_a2"])
    MemberFactory(household=other, name="接收户主")
    dibao = enrol_dibao(household, caseworker, approver)
    child = enrolments.enrol(
        household=household,
        category="ill_disabled_child",
        member=three_adults["brother"],
        start_month=AUG,
        by=caseworker,
        approved_by=approver,
    )
    other_dibao = enrolments.enrol(
        household=other, category="dibao", start_month=AUG, by=caseworker, approved_by=approver
    )
    new_member = registry_events.move_member(
        member=three_adults["brother"],
        to_household=other,
        moved_on=datetime.date(2024, 8, 20),
        reason="投靠亲属",
        by=caseworker,
    )
    followed = Enrolment.objects.get(member=new_member)
    child.refresh_from_db()
    assert (child.status, child.end_month) == (Enrolment.Status.STOPPED, AUG)
    assert (followed.household, followed.member, followed.category) == (
        other,
        new_member,
        "ill_disabled_child",
    )
    assert followed.start_month == SEP
    assert child.adjustments.last().kind == followed.adjustments.get().kind == "move"
    left = dibao.adjustments.get(reason_code=f"member_move:{new_member.moved_in.pk}")
    # (875 − 900 ÷ 2) × 2 = 850 once the brother has left.
    assert (left.kind, left.amount_before, left.amount_after) == ("decrease", 1725, 850)
    joined = other_dibao.adjustments.get(reason_code=f"member_move:{new_member.moved_in.pk}")
    # Living alone: 875 + 10% supplement = 962.5 → 963; then two members without income: 1750.
    assert (joined.kind, joined.amount_before, joined.amount_after) == ("increase", 963, 1750)


def test_the_daily_task_closes_enrolments_past_their_last_month(
    household, family, caseworker, approver
):
    from casework import tasks

    enrolment = enrol_dibao(household, caseworker, approver)
    enrolments.gradual_exit(
        enrolment=enrolment,
        effective_month=SEP,
        reason_code="work_income",
        reason_text="就业",
        amount=1725,
        by=caseworker,
        approved_by=approver,
    )
    assert tasks.close_ended_enrolments.apply().get() == 1
    assert tasks.close_ended_enrolments.apply().get() == 0
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.STOPPED


def test_the_data_migration_keeps_each_gradual_exits_first_month_from_its_adjustment(
    household, family, caseworker, approver
):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("casework.migrations.0007_gradual_exit_from")
    enrolment = enrol_dibao(household, caseworker, approver)
    enrolments.gradual_exit(
        enrolment=enrolment,
        effective_month=SEP,
        reason_code="work_income",
        reason_text="就业后人均收入950元",
        amount=None,
        months=None,
        by=caseworker,
        approved_by=approver,
    )
    Enrolment.objects.filter(pk=enrolment.pk).update(gradual_exit_from=None)
    untouched = enrol_dibao(HouseholdFactory(village=household.village), caseworker, approver)

    migration.fill_gradual_exit_from(apps, None)

    assert Enrolment.objects.get(pk=enrolment.pk).gradual_exit_from == SEP
    assert Enrolment.objects.get(pk=untouched.pk).gradual_exit_from is None
