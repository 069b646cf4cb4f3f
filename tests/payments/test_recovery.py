import datetime
from decimal import Decimal

import pytest

from casework.models import Adjustment
from casework.services.registry_events import record_death
from core.exceptions import Conflict, DomainError
from payments.approval import approve_batch
from payments.corrections import correction_lines
from payments.explanations import create_lines
from payments.models import Recovery
from payments.recoveries import (
    approve_recovery,
    balance,
    mark_repaid,
    record_recovery,
    with_balance,
)
from rules.parameters import load_standards
from rules.steps import render_step
from tests.payments.conftest import make_household

JUL, AUG, SEP, OCT, NOV, DEC = (datetime.date(2024, m, 1) for m in range(7, 13))


def _month(make_batch, add_line, approver, month, enrolment, amount):
    """A batch with the household's regular line and its corrections, approved."""
    batch = make_batch(month)
    add_line(batch, enrolment.household, amount, enrolment=enrolment)
    create_lines(correction_lines(batch=batch))
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


def test_an_offset_says_which_month_was_overpaid_by_how_much_and_what_is_left(
    paid_for_three, make_batch, add_line, approver, make_user, regions
):
    died = paid_for_three.household.members.order_by("id").last()
    record_death(member=died, died_on=datetime.date(2024, 7, 20), by=make_user("caseworker",
                 regions["town_a"]))  # fmt: skip
    october = _month(make_batch, add_line, approver, OCT, paid_for_three, "850")
    november = _month(make_batch, add_line, approver, NOV, paid_for_three, "850")

    offsets = [
        line
        for batch in (october, november)
        for line in batch.lines.filter(kind="recovery").order_by("id")
    ]
    read = [render_step(line.explanation[0]) for line in offsets]
    assert [(line.month, line.amount) for line in offsets] == [
        (OCT, Decimal("-850")),
        (NOV, Decimal("-25")),
        (NOV, Decimal("-825")),
    ]
    assert read[0]["rule"] == (
        "追回抵扣：2024-08 多发 875 元（死亡未及时报告），此前已追回 0 元，尚欠 875 元；"
        "从本月应发中抵扣，本月实发不低于0，余额 25 元结转下月"
    )
    assert read[0]["formula"] == "min(875, 850) = 850"
    assert ("2024-10 已抵扣", "850 元") in [(i["name"], i["value"]) for i in read[1]["inputs"]]
    assert read[2]["rule"].startswith("追回抵扣：2024-09 多发 875 元（死亡未及时报告）")
    assert not any("追回款" in i["name"] for step in read for i in step["inputs"])


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
    make_batch, add_line, approver, preparer, household
):
    recovery = record_recovery(
        household=household,
        amount=Decimal("1000"),
        reason="hidden_income",
        note="审计发现",
        by=approver,
    )
    recovery = approve_recovery(recovery=recovery, by=preparer)
    october = make_batch(OCT)
    add_line(october, household, "600")
    create_lines(correction_lines(batch=october))

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


def test_a_recovery_recorded_by_hand_is_not_offset_until_a_second_finance_user_approves_it(
    make_batch, add_line, approver, preparer, household, make_user, regions
):
    recovery = record_recovery(
        household=household,
        amount=Decimal("5000"),
        reason="hidden_income",
        note="审计发现隐瞒收入",
        by=approver,
    )
    october = make_batch(OCT)
    add_line(october, household, "600")

    assert correction_lines(batch=october) == []
    with pytest.raises(Conflict) as error:
        approve_recovery(recovery=recovery, by=approver)
    assert error.value.code == "approver_is_proposer"
    with pytest.raises(DomainError):
        approve_recovery(recovery=recovery, by=make_user("admin", regions["zhenjiang"]))
    recovery.refresh_from_db()
    assert (recovery.approved_by, recovery.approved_at) == (None, None)

    approve_recovery(recovery=recovery, by=preparer)

    (offset,) = correction_lines(batch=october)
    assert (offset.kind, offset.amount) == ("recovery", Decimal("-600"))
