import datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone, translation

from casework import selectors
from casework.models import ReliefCase, ReliefInstalment
from casework.services import temporary_relief
from core.exceptions import Conflict, DomainError, Forbidden
from core.months import add_months, first_of_month
from payments.lines import mark_relief_instalments_paid
from payments.models import PaymentBatch

THIS_MONTH = first_of_month(timezone.localdate())
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


# Zhenjiang's standard is 875 (seeded): the township approves up to 3 × 875 = 2625, the county
# up to 15 × 875 = 13125.


def propose(household, caseworker, **kwargs):
    fields = {
        "kind": "spending_shock",
        "cause": "medical",
        "need": "住院自付费用",
        "proposed_amount": Decimal("2000"),
        "cost": Decimal("5000"),
    }
    return temporary_relief.propose_relief(household=household, by=caseworker, **(fields | kwargs))


def test_the_township_approves_relief_up_to_its_limit(household, caseworker, approver):
    relief = propose(household, caseworker, proposed_amount=Decimal("2625"))
    assert relief.tier == ReliefCase.Tier.TOWNSHIP
    with pytest.raises(Forbidden):
        temporary_relief.decide_relief(relief=relief, approve=True, by=approver)
    temporary_relief.decide_relief(relief=relief, approve=True, by=caseworker)
    relief.refresh_from_db()
    assert relief.status == ReliefCase.Status.APPROVED
    assert relief.decided_by == caseworker


def test_the_county_approves_above_the_township_limit(household, caseworker, approver):
    relief = propose(household, caseworker, proposed_amount=Decimal("8000"), cost=Decimal("80000"))
    assert relief.tier == ReliefCase.Tier.COUNTY
    with pytest.raises(Conflict) as refused:
        temporary_relief.decide_relief(relief=relief, approve=True, by=caseworker)
    assert str(refused.value) == (
        "该救助须由县级审批。救助金额 8000 元超过乡镇审批限额 2625 元：须报县级审批"
        "（封顶 13125 元）（2625 < 8000 ≤ 13125）"
    )
    relief.refresh_from_db()
    assert relief.status == ReliefCase.Status.SUBMITTED
    temporary_relief.decide_relief(relief=relief, approve=True, by=approver)
    relief.refresh_from_db()
    assert relief.status == ReliefCase.Status.APPROVED


def test_relief_over_the_cap_is_refused_with_a_message(household, caseworker):
    with pytest.raises(DomainError) as error:
        propose(household, caseworker, proposed_amount=Decimal("13126"), cost=Decimal("200000"))
    assert error.value.field == "proposed_amount"
    assert "救助金额 13126 元超过临时救助封顶额 13125 元：不能审批" in str(error.value)
    assert not ReliefCase.objects.exists()
    assert not ReliefInstalment.objects.exists()


def test_relief_above_the_ceiling_of_its_cause_is_refused(household, caseworker):
    with pytest.raises(DomainError) as error:
        propose(household, caseworker, cause="other", proposed_amount=Decimal("1751"))
    assert "1750" in str(error.value)
    assert not ReliefCase.objects.exists()


def test_a_medical_ceiling_refusal_shows_the_three_figures_compared_and_which_won(
    household, caseworker
):
    with pytest.raises(DomainError) as error:
        propose(household, caseworker, proposed_amount=Decimal("5001"), cost=Decimal("50000"))
    assert str(error.value) == (
        "该事由的救助上限为5000元。临时救助（医疗）上限：自付费用比例金额与封顶额取低者，"
        "但不低于起付额以内的上限；本例按自付费用比例（max(min(5000, 13125), 2625) = 5000）"
    )
    with translation.override("en"), pytest.raises(DomainError) as error:
        propose(household, caseworker, proposed_amount=Decimal("5001"), cost=Decimal("50000"))
    assert "here the share of the self-paid cost (max(min(5000, 13125), 2625) = 5000)." in str(
        error.value
    )


def test_a_refusal_carries_a_reason(household, caseworker):
    relief = propose(household, caseworker)
    with pytest.raises(DomainError):
        temporary_relief.decide_relief(relief=relief, approve=False, by=caseworker)
    temporary_relief.decide_relief(
        relief=relief, approve=False, reason="已获医疗救助全额报销", by=caseworker
    )
    relief.refresh_from_db()
    assert relief.refusal_reason == "已获医疗救助全额报销"
    assert not selectors.relief_instalments_due(region_prefix="3211", month=THIS_MONTH).exists()


@time_machine.travel(datetime.datetime(2025, 3, 3, 10, tzinfo=SHANGHAI), tick=False)
def test_pay_first_is_approved_at_once_and_its_documents_fall_due(household, caseworker):
    relief = propose(
        household,
        caseworker,
        kind="emergency",
        cause="disaster",
        proposed_amount=Decimal("1500"),
        pay_first=True,
    )
    assert relief.status == ReliefCase.Status.APPROVED
    # Ten working days from Monday 3 March 2025.
    assert relief.documents_due == datetime.date(2025, 3, 17)
    (instalment,) = selectors.relief_instalments_due(
        region_prefix="3211", month=datetime.date(2025, 3, 1)
    )
    assert (instalment.amount, instalment.household_id) == (Decimal("1500"), household.pk)
    assert not selectors.relief_documents_overdue(user=caseworker).exists()
    later = relief.documents_due + datetime.timedelta(days=1)
    assert list(selectors.relief_documents_overdue(user=caseworker, today=later)) == [relief]
    temporary_relief.complete_relief_documents(relief=relief, by=caseworker)
    assert not selectors.relief_documents_overdue(user=caseworker, today=later).exists()


def test_pay_first_is_only_for_emergencies_within_the_township_limit(household, caseworker):
    with pytest.raises(DomainError):
        propose(household, caseworker, kind="spending_shock", pay_first=True)
    with pytest.raises(DomainError) as above_the_limit:
        propose(
            household,
            caseworker,
            kind="emergency",
            pay_first=True,
            proposed_amount=Decimal("8000"),
            cost=Decimal("80000"),
        )
    assert "救助金额 8000 元超过乡镇审批限额 2625 元：须报县级审批" in str(above_the_limit.value)
    assert not ReliefCase.objects.exists()


def test_a_staged_plan_is_paid_in_instalments_through_the_batches(
    household, caseworker, approver, regions
):
    months = [add_months(THIS_MONTH, n) for n in range(3)]
    relief = propose(
        household,
        caseworker,
        proposed_amount=Decimal("9000"),
        cost=Decimal("90000"),
        instalments=[(months[0], 3000), (months[1], 3000), (months[2], 3000)],
    )

    def due(month):
        return list(selectors.relief_instalments_due(region_prefix="3211", month=month))

    assert due(months[1]) == []
    temporary_relief.decide_relief(relief=relief, approve=True, by=approver)
    first, second, third = relief.instalments.order_by("due_month")
    assert due(months[0]) == [first]
    batch = PaymentBatch.objects.create(region=regions["zhenjiang"], month=months[0])
    assert mark_relief_instalments_paid(instalment_ids=[first.pk], batch_id=batch.pk) == 1
    assert mark_relief_instalments_paid(instalment_ids=[first.pk], batch_id=batch.pk) == 0
    assert due(months[1]) == [second]
    assert due(months[2]) == [second, third]
    assert due(months[2]) == list(
        selectors.relief_instalments_due(region_prefix="321102001", month=months[2])
    )
    assert selectors.relief_instalments_due(region_prefix="3204", month=months[2]).count() == 0


def test_a_staged_plan_must_add_up_to_the_amount(household, caseworker):
    with pytest.raises(DomainError) as error:
        propose(
            household,
            caseworker,
            instalments=[(THIS_MONTH, 1000), (add_months(THIS_MONTH, 1), 900)],
        )
    assert error.value.field == "instalments"
    assert not ReliefCase.objects.exists()
