"""Every computation of month M reads the facts in force in M: a member's illness, disability
and self-care ability are kept with the month a caseworker event set them from."""

import datetime
from decimal import Decimal

import pytest

from beneficiaries.models import Member, MemberCondition
from beneficiaries.services import record_condition, update_member
from casework.facts import explain_enrolment, facts_for_enrolment
from casework.models import Enrolment
from casework.selectors import enrolments_in_force
from core.exceptions import DomainError
from payments import batches, payroll_io
from payments import lines as batch_lines
from payments.approval import approve_batch
from payments.corrections import correction_lines
from payments.models import PaymentLine
from rules.models import Standard
from rules.parameters import load_standards
from tests.payments.conftest import AUGUST, make_household

JUL, SEP, OCT, NOV = (datetime.date(2024, m, 1) for m in (7, 9, 10, 11))


@pytest.fixture
def caseworker(make_user, regions):
    return make_user("caseworker", regions["zhenjiang"], username="facts-caseworker")


@pytest.fixture
def household_of_three(regions):
    """Zhenjiang: three adults, counted income 900 → (875 − 300) × 3 = 1725 from July 2024."""
    load_standards()
    return make_household(regions["village_a1"], [Decimal("900"), 0, 0])


def second_member(enrolment) -> Member:
    return enrolment.household.members.order_by("id")[1]


def regular_amounts(batch) -> dict[int, Decimal]:
    lines = PaymentLine.objects.filter(batch=batch, kind=PaymentLine.Kind.REGULAR)
    return dict(lines.values_list("enrolment_id", "amount"))


def test_a_disability_grade_raised_in_october_does_not_change_a_recomputed_august(
    regions, household_of_three, caseworker
):
    enrolment = household_of_three
    batch = batches.create_batch(region=regions["jingkou"], month=AUGUST, by=None)
    batches.compute_batch(batch=batch, inline=True)
    assert regular_amounts(batch) == {enrolment.pk: Decimal("1725")}

    record_condition(
        member=second_member(enrolment),
        effective_month=OCT,
        reason="残联新证：一级肢体残疾",
        by=caseworker,
        disability_grade=1,
        disability_category="physical",
    )
    batch.refresh_from_db()
    batches.recompute_batch(batch=batch, by=None, inline=True)

    assert regular_amounts(batch) == {enrolment.pk: Decimal("1725")}
    assert explain_enrolment(enrolment=enrolment, month=AUGUST).amount == Decimal("1725")
    # From October the member gets the full standard: 575 × 2 + 875.
    assert explain_enrolment(enrolment=enrolment, month=OCT).amount == Decimal("2025")
    member = Member.objects.get(pk=second_member(enrolment).pk)
    assert (member.disability_grade, member.disability_category) == (1, "physical")


def test_a_back_pay_for_july_to_september_uses_each_months_facts(
    regions, household_of_three, caseworker, make_batch, add_line, approver
):
    enrolment = household_of_three
    Standard.objects.filter(
        region__code="321100000000", component="standard", effective_from=JUL
    ).delete()
    for month in (JUL, AUGUST, SEP):  # paid at 840: (840 − 300) × 3
        batch = make_batch(month)
        add_line(batch, enrolment.household, "1620", enrolment=enrolment)
        approve_batch(batch=batch, by=approver)
    record_condition(
        member=second_member(enrolment),
        effective_month=SEP,
        reason="复核：确诊重病",
        by=caseworker,
        serious_illness=True,
    )
    Standard.objects.create(
        region=regions["zhenjiang"], component="standard", value=Decimal("875"), effective_from=JUL
    )

    lines = correction_lines(batch=make_batch(OCT))

    # July and August: 1725 − 1620; September: 575 × 2 + 875 × 1.2 = 2200, less 1620.
    assert [(line.month, line.amount) for line in lines] == [
        (JUL, Decimal("105")),
        (AUGUST, Decimal("105")),
        (SEP, Decimal("580")),
    ]


def test_a_member_edit_is_not_retroactive(household_of_three, caseworker):
    enrolment = household_of_three

    update_member(member=second_member(enrolment), by=caseworker, serious_illness=True)

    assert explain_enrolment(enrolment=enrolment, month=AUGUST).amount == Decimal("1725")
    this_month = datetime.date.today().replace(day=1)
    assert explain_enrolment(enrolment=enrolment, month=this_month).amount > Decimal("1725")


def test_a_care_level_assessed_again_applies_from_its_month(regions, caseworker):
    load_standards()
    tekun = make_household(
        regions["village_a1"], [Decimal("0")], category="tekun", care_level="self_care"
    )
    person = tekun.household.members.get()
    Enrolment.objects.filter(pk=tekun.pk).update(member=person)
    tekun.refresh_from_db()
    august = explain_enrolment(enrolment=tekun, month=AUGUST).amount

    record_condition(
        member=person,
        effective_month=OCT,
        reason="复核：完全失能",
        by=caseworker,
        care_level="full",
    )

    assert explain_enrolment(enrolment=tekun, month=AUGUST).amount == august
    assert explain_enrolment(enrolment=tekun, month=OCT).amount > august


def test_the_batch_reads_the_facts_in_force_as_one_enrolments_explanation_does(
    regions, household_of_three, caseworker
):
    member = second_member(household_of_three)
    for month, grade in ((SEP, 3), (NOV, 1)):
        record_condition(
            member=member,
            effective_month=month,
            reason="残联换证",
            by=caseworker,
            disability_grade=grade,
            disability_category="visual",
        )
    for month in (AUGUST, SEP, OCT, NOV):
        enrolments = enrolments_in_force(region_prefix="321102", month=month)
        rows = payroll_io.read_enrolments(
            enrolments=enrolments, first_id=household_of_three.pk, last_id=household_of_three.pk
        )
        households = payroll_io.read_households(household_ids={rows[0].household_id}, month=month)
        bulk = (batch_lines.enrolment_facts(rows[0], month), households[rows[0].household_id])
        assert bulk == facts_for_enrolment(enrolment=household_of_three, month=month)
    grades = [
        facts_for_enrolment(enrolment=household_of_three, month=m)[1].members[1].disability_grade
        for m in (AUGUST, SEP, OCT, NOV)
    ]
    assert grades == [None, 3, 3, 1]


def test_a_condition_without_a_reason_or_with_a_grade_and_no_category_changes_nothing(
    household_of_three, caseworker
):
    member = second_member(household_of_three)
    with pytest.raises(DomainError):
        record_condition(member=member, effective_month=OCT, reason=" ", by=caseworker)
    with pytest.raises(DomainError):
        record_condition(
            member=member, effective_month=OCT, reason="换证", by=caseworker, disability_grade=2
        )
    assert not MemberCondition.objects.exists()
    assert Member.objects.get(pk=member.pk).disability_grade is None


def test_a_caseworker_records_a_condition_through_the_api_and_a_grid_worker_may_not(
    regions, household_of_three, make_user
):
    from rest_framework.test import APIClient

    member = second_member(household_of_three)
    body = {
        "member": member.pk,
        "effective_month": datetime.date.today().strftime("%Y-%m"),
        "reason": "残联新证",
        "disability_grade": 2,
        "disability_category": "intellectual",
    }
    grid = APIClient()
    grid.force_authenticate(make_user("grid", regions["zhenjiang"]))
    assert grid.post("/api/conditions/", body, format="json").status_code == 403
    assert not MemberCondition.objects.exists()

    client = APIClient()
    client.force_authenticate(make_user("caseworker", regions["zhenjiang"]))
    response = client.post("/api/conditions/", body, format="json")

    assert response.status_code == 204, response.data
    assert Member.objects.get(pk=member.pk).disability_grade == 2
    assert explain_enrolment(enrolment=household_of_three, month=AUGUST).amount == Decimal("1725")


def test_a_condition_recorded_late_is_back_paid_from_its_month(
    household_of_three, caseworker, make_batch, add_line, approver
):
    enrolment = household_of_three
    for month in (JUL, AUGUST):
        batch = make_batch(month)
        add_line(batch, enrolment.household, "1725", enrolment=enrolment)
        approve_batch(batch=batch, by=approver)

    record_condition(
        member=second_member(enrolment),
        effective_month=AUGUST,
        reason="补录：8月起一级视力残疾",
        by=caseworker,
        disability_grade=1,
        disability_category="visual",
    )
    lines = correction_lines(batch=make_batch(SEP))

    # August: 575 × 2 + 875 = 2025, less 1725; July keeps its facts.
    assert [(line.month, line.amount) for line in lines] == [(AUGUST, Decimal("300"))]


def test_a_member_edit_that_changes_no_fact_records_no_condition(household_of_three, caseworker):
    update_member(
        member=second_member(household_of_three),
        by=caseworker,
        serious_illness=False,
        disability_grade=None,
        disability_category="",
        name="王二",
    )

    assert not MemberCondition.objects.exists()
    assert Member.objects.get(pk=second_member(household_of_three).pk).name == "王二"
