"""Sums of money are exact Decimals with two places on every database.

In the embedded mode (SQLite) a decimal column is a floating-point number: summed by the
database, 100.01 + 0.20 + 1.29 came back as 101.50000000000001 and a batch's thousands of lines
drifted in the cents. These tests run on whichever database the suite runs on (SQLite in
`make test` without services, PostgreSQL in CI); on SQLite they fail without payments.money.
"""

import datetime
import random
from decimal import Decimal

import pytest

from payments import bankfiles, payroll_io, review
from payments.models import PaymentBatch, PaymentLine
from payments.money import MoneySum
from rules.parameters import load_standards
from tests.factories import EnrolmentFactory, HouseholdFactory, IncomeItemFactory, MemberFactory
from tests.payments.conftest import AUGUST
from tests.payments.test_batches import computed_batch


def assert_money(value, expected: str) -> None:
    assert isinstance(value, Decimal)
    assert str(value) == expected  # the exact amount, in yuan and fen


@pytest.fixture
def changzhou_single(regions):
    """One person of 天宁区 (Changzhou: 1020, no supplements) whose three incomes sum to
    101.50 exactly, a sum floating point puts just above 101.5."""
    household = HouseholdFactory(village=regions["village_c1"])
    member = MemberFactory(household=household)
    for amount in ("100.01", "0.20", "1.29"):
        IncomeItemFactory(member=member, monthly_amount=Decimal(amount))
    return EnrolmentFactory(household=household)


def test_a_members_incomes_are_summed_exactly(changzhou_single):
    facts = payroll_io.read_households(household_ids={changzhou_single.household_id}, month=AUGUST)
    (member,) = facts[changzhou_single.household_id].members
    assert_money(member.counted_income, "101.50")


def test_the_batch_pays_the_gap_of_the_exact_income_sum(
    regions, changzhou_single, django_capture_on_commit_callbacks
):
    # 1020 − 101.50 = 918.50, rounded half-up to 919; from the float sum it was 918.
    load_standards()
    batch = computed_batch(regions, django_capture_on_commit_callbacks, region="tianning")
    (line,) = batch.lines.all()
    assert line.amount == Decimal("919")
    assert_money(batch.total_amount, "919.00")


@pytest.fixture
def many_lines(regions, preparer):
    """5,000 relief instalment lines of one household, 500.00 to 2,000.00 yuan each: enough for a
    floating-point sum to miss the fen."""
    batch = PaymentBatch.objects.create(
        region=regions["zhenjiang"],
        month=datetime.date(2024, 8, 1),
        status=PaymentBatch.Status.COMPUTED,
        prepared_by=preparer,
    )
    household = HouseholdFactory(
        village=regions["village_a1"], bank_account_number="6222020000000000006"
    )
    rng = random.Random(1)
    amounts = [Decimal(rng.randint(50_000, 200_000)).scaleb(-2) for _ in range(5000)]
    PaymentLine.objects.bulk_create(
        PaymentLine(
            batch=batch,
            month=batch.month,
            kind=PaymentLine.Kind.RELIEF_INSTALMENT,
            household=household,
            region_code=household.region_code,
            amount=amount,
            bank_name=household.bank_name,
            bank_account_holder=household.bank_account_holder,
            bank_account_number=household.bank_account_number,
        )
        for amount in amounts
    )
    return batch, str(sum(amounts))


def test_a_batchs_line_total_is_exact(many_lines):
    batch, total = many_lines
    assert total == "6275598.63"
    assert_money(batch.lines.aggregate(total=MoneySum("amount"))["total"], total)


def test_review_totals_are_exact(many_lines):
    batch, total = many_lines
    (by_category,) = review.totals_by_category(batch=batch)
    assert_money(by_category.amount, total)
    (by_district,) = review.totals_by_district(batch=batch)
    assert_money(by_district.amount, total)


def test_a_households_transfer_is_exact(many_lines):
    batch, total = many_lines
    (transfer,) = bankfiles.transfers(batch=batch)
    assert_money(transfer.amount, total)
