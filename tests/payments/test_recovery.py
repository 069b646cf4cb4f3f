import datetime
from decimal import Decimal

import pytest

from casework.models import Adjustment
from casework.services.registry_events import record_death
from core.exceptions import Conflict, DomainError
from payments.approval import approve_batch
from payments.corrections import correction_lines
from payments.models import PaymentLine, Recovery
from payments.recoveries import balance, mark_repaid, record_recovery, with_balance
from rules.parameters import load_standards
from tests.payments.conftest import make_household

JUL, AUG, SEP, OCT, NOV, DEC = (datetime.date(2024, m, 1) for m in range(7, 13))


def _month(make_batch, add_line, approver, month, enrolment, amount):
    """A batch with the household's regular line and its corrections, approved."""
    batch = make_batch(month)
    add_line(batch, enrolment.household, amount, enrolment=enrolment)
    PaymentLine.objects.bulk_create(correction_lines(batch=batch))
    return approve_batch(batch=batch, by=approver)


def _net(batch, household):
    return sum(line.amount for line in batch.lines.filter(household=household))


@pytest.fixture
def paid_for_three(regions, make_batch, add_line, approver):
    """A household of three (counted income 900) paid (875 − 300) × 3 = 1725 July to September."""
    load_standards()
    enrolment = make_household(regions["village_a1"], [Decimal("900"), 0, 0])
    for month in (JUL, AUG, SEP):
        _month(make_batch, add_line, approver, month, enrolment, "1725")
    return enrolment


def test_a_death_recorded_late_is_recovered_by_offset_over_later_months(
    paid_for_three, make_batch, add_line, approver, make_user, regions
):
    enrolment = paid_for_three
    household = enrolment.household
    died = household.members.order_by("id").last()
    record_death(
        member=died,
        died_on=datetime.date(2024, 7, 20),
        by=make_user("caseworker", regions["town_a"]),
    )
    assert Adjustment.objects.filter(enrolment=enrolment, kind="decrease").exists()

    # Two people from August: (875 − 450) × 2 = 850 a month; 875 too much in August and September.
    months = [_month(make_batch, add_line, approver, m, enrolment, "850") for m in (OCT, NOV, DEC)]

    recoveries = list(Recovery.objects.order_by("month"))
    assert [(r.month, r.reason, r.amount) for r in recoveries] == [
        (AUG, "death", Decimal("875")),
        (SEP, "death", Decimal("875")),
    ]
    assert [_net(batch, household) for batch in months] == [0, 0, Decimal("800")]
    assert [balance(recovery=r).outstanding for r in recoveries] == [0, 0]
    annotated = with_balance(Recovery.objects.order_by("month"))
    assert [(r.offset, r.outstanding) for r in annotated] == [(875, 0), (875, 0)]


def test_a_month_that_began_with_the_member_alive_is_not_overpaid(
    paid_for_three, make_batch, add_line, approver, make_user, regions
):
    died = paid_for_three.household.members.order_by("id").last()
    record_death(
        member=died,
        died_on=datetime.date(2024, 9, 3),
        by=make_user("caseworker", regions["town_a"]),
    )

    for month in (OCT, NOV):
        _month(make_batch, add_line, approver, month, paid_for_three, "850")

    assert [(r.month, r.amount) for r in Recovery.objects.all()] == []


def test_a_recovery_found_by_audit_is_offset_and_the_rest_marked_repaid(
    make_batch, add_line, approver, household
):
    recovery = record_recovery(
        household=household,
        amount=Decimal("1000"),
        reason="hidden_income",
        note="审计发现",
        by=approver,
    )
    october = make_batch(OCT)
    add_line(october, household, "600")
    PaymentLine.objects.bulk_create(correction_lines(batch=october))

    repaid = mark_repaid(recovery=recovery, by=approver)
    november = make_batch(NOV)
    add_line(november, household, "600")

    assert repaid.repaid_amount == Decimal("400")
    assert balance(recovery=repaid).outstanding == 0
    assert correction_lines(batch=november) == []
    with pytest.raises(Conflict):
        mark_repaid(recovery=repaid, by=approver)


def test_a_recovery_needs_a_positive_amount_and_a_reason(household, approver):
    with pytest.raises(DomainError):
        record_recovery(
            household=household, amount=Decimal("0"), reason="death", note="x", by=approver
        )

    assert not Recovery.objects.exists()
