"""The price subsidy is paid once per person per month, whichever enrolment carries it
(rules.engine.PRICE_SUBSIDY_ORDER): in the batch, a recompute, back pay and an explanation."""

import datetime
from decimal import Decimal

import pytest

from casework.facts import explain_enrolment, explain_price_subsidy
from payments import batches
from payments.approval import approve_batch
from payments.corrections import correction_lines
from payments.cpi import correct_price_index
from payments.models import PaymentLine
from rules.models import PriceIndex
from rules.parameters import load_standards
from rules.steps import render_step
from tests.factories import EnrolmentFactory
from tests.payments.conftest import AUGUST, make_household

HERE = "第3位成员另有散居孤儿保障：其价格临时补贴在本行发放，散居孤儿一行不再发放（每人每月一份）"
ELSEWHERE = "第3位成员的价格临时补贴由其低保保障一行发放，本行不再发放（每人每月一份）"


@pytest.fixture
def orphan_in_a_dibao_household(regions):
    """Zhenjiang 2024-08, CPI rise 6.0% (875 ÷ 8 → 109 per person): a dibao household of three
    whose youngest member is also enrolled as a community orphan."""
    load_standards()
    PriceIndex.objects.create(
        region=regions["zhenjiang"], month=AUGUST, cpi_rise_percent=Decimal("6.0")
    )
    dibao = make_household(regions["village_a1"], [Decimal("900"), 0, 0])
    child = dibao.household.members.order_by("id").last()
    orphan = EnrolmentFactory(household=dibao.household, member=child, category="orphan_community")
    return dibao, orphan


def subsidies(batch) -> dict[int, tuple[Decimal, list[str]]]:
    lines = PaymentLine.objects.filter(batch=batch, kind=PaymentLine.Kind.PRICE_SUBSIDY)
    return {
        line.enrolment_id: (line.amount, [render_step(s)["rule"] for s in line.explanation])
        for line in lines.select_related("explanation_ref")
    }


def test_a_member_with_an_own_enrolment_gets_the_price_subsidy_once(
    regions, orphan_in_a_dibao_household
):
    dibao, orphan = orphan_in_a_dibao_household
    batch = batches.create_batch(region=regions["jingkou"], month=AUGUST, by=None)
    batches.compute_batch(batch=batch, inline=True)

    paid = subsidies(batch)

    assert paid[dibao.pk][0] == Decimal("327")  # 109 × 3, the orphan included
    assert HERE in paid[dibao.pk][1]
    assert paid[orphan.pk][0] == Decimal("0")
    assert ELSEWHERE in paid[orphan.pk][1]

    batch.refresh_from_db()
    batches.recompute_batch(batch=batch, by=None, inline=True)
    assert subsidies(batch) == paid


def test_the_explanation_of_an_enrolment_says_which_line_pays_its_subsidy(
    orphan_in_a_dibao_household,
):
    dibao, orphan = orphan_in_a_dibao_household

    own = explain_price_subsidy(enrolment=orphan, month=AUGUST)
    household = explain_price_subsidy(enrolment=dibao, month=AUGUST)

    assert own.amount == 0
    assert [render_step(s)["rule"] for s in own.explanation()][-2] == ELSEWHERE
    assert household.amount == Decimal("327")


def test_a_person_with_two_own_enrolments_is_paid_on_the_first_in_the_order(regions):
    load_standards()
    PriceIndex.objects.create(
        region=regions["zhenjiang"], month=AUGUST, cpi_rise_percent=Decimal("6.0")
    )
    tekun = make_household(
        regions["village_a1"], [Decimal("0")], category="tekun", care_level="self_care"
    )
    person = tekun.household.members.get()
    tekun.member = person
    tekun.save()
    child = EnrolmentFactory(
        household=tekun.household, member=person, category="ill_disabled_child"
    )

    assert explain_price_subsidy(enrolment=tekun, month=AUGUST).amount == Decimal("109")
    assert explain_price_subsidy(enrolment=child, month=AUGUST).amount == 0


def test_back_pay_of_a_corrected_cpi_pays_the_subsidy_once_per_person(
    orphan_in_a_dibao_household, make_batch, add_line, approver, make_user, regions
):
    dibao, orphan = orphan_in_a_dibao_household
    PriceIndex.objects.filter(month=AUGUST).update(cpi_rise_percent=Decimal("2.5"))
    august = make_batch(AUGUST)
    for enrolment in (dibao, orphan):
        amount = explain_enrolment(enrolment=enrolment, month=AUGUST).amount
        add_line(august, enrolment.household, str(amount), enrolment=enrolment)
    approve_batch(batch=august, by=approver)

    correct_price_index(
        price_index=PriceIndex.objects.get(month=AUGUST),
        cpi_rise_percent=Decimal("6.0"),
        reason="统计局更正",
        by=make_user("finance", regions["zhenjiang"]),
    )
    lines = correction_lines(batch=make_batch(datetime.date(2024, 10, 1)))

    assert [(line.enrolment_id, line.amount) for line in lines] == [(dibao.pk, Decimal("327"))]
