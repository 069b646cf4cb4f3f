"""DOMAIN.md: 875 entered in 2024-09 with effective date 2024-07-01, July and August paid at
840 → back pay (875 − 840) × 3 × 2 = 210 in the September batch."""

import datetime
from decimal import Decimal

import pytest

from beneficiaries.models import Region
from payments.approval import approve_batch
from payments.corrections import changed_since_approval, correction_lines, late_records
from payments.explanations import create_lines
from payments.models import PaymentBatch
from rules.models import Standard
from rules.parameters import load_standards
from rules.steps import render_step
from tests.db import triggers_off
from tests.payments.conftest import make_household

JUL, AUG, SEP, OCT = (datetime.date(2024, m, 1) for m in (7, 8, 9, 10))
ZHENJIANG = "321100000000"


@pytest.fixture
def standards_before_the_raise(regions):
    """Zhenjiang's seed parameters without the 2024 standard: 840 is in force."""
    load_standards()
    Standard.objects.filter(
        region__code=ZHENJIANG, component="standard", effective_from=JUL
    ).delete()


def _raise_standard_to_875_from_july(regions):
    return Standard.objects.create(
        region=regions["zhenjiang"], component="standard", value=Decimal("875"), effective_from=JUL
    )


def _approved_month(make_batch, add_line, approver, month, lines):
    batch = make_batch(month)
    for enrolment, amount in lines:
        add_line(batch, enrolment.household, amount, enrolment=enrolment)
    return approve_batch(batch=batch, by=approver)


def _save(lines):
    return create_lines(lines)


@pytest.fixture
def paid_at_840(regions, standards_before_the_raise, make_batch, add_line, approver):
    """A household of 3 with counted income 900, paid (840 − 300) × 3 = 1620 in July and August."""
    enrolment = make_household(regions["village_a1"], [Decimal("900"), 0, 0])
    for month in (JUL, AUG):
        _approved_month(make_batch, add_line, approver, month, [(enrolment, "1620")])
    return enrolment


def test_a_standard_raised_from_a_past_date_is_back_paid_210_in_september(
    paid_at_840, regions, make_batch
):
    _raise_standard_to_875_from_july(regions)
    september = make_batch(SEP)

    lines = correction_lines(batch=september)

    assert [(line.kind, line.month, line.amount) for line in lines] == [
        ("back_pay", JUL, Decimal("105")),
        ("back_pay", AUG, Decimal("105")),
    ]
    assert sum(line.amount for line in lines) == Decimal("210")
    back_pay = render_step(lines[0].explanation[-1])
    assert back_pay["rule"] == (
        "补发：按现有记录重算 2024-07 应发（该月生效的标准和事实），减去当时已发"
    )
    assert back_pay["formula"] == "1725 − 1620 = 105"
    assert [(i["name"], i["value"]) for i in back_pay["inputs"]] == [
        ("现应发", "1725 元"),
        ("当时已发", "1620 元"),
        ("补发月份", "2024-07"),
    ]


def test_the_back_pay_window_is_the_regions_policy_parameter(paid_at_840, regions, make_batch):
    Standard.objects.create(
        region=regions["zhenjiang"],
        component="back_pay_months",
        value=Decimal("1"),
        effective_from=SEP,
    )
    _raise_standard_to_875_from_july(regions)
    september = make_batch(SEP)

    lines = correction_lines(batch=september)

    assert [(line.kind, line.month, line.amount) for line in lines] == [
        ("back_pay", AUG, Decimal("105")),
    ]


def test_a_household_stopped_since_is_back_paid_for_the_months_it_was_paid_and_owes_nothing(
    paid_at_840, regions, make_batch, make_user
):
    from casework.models import Enrolment
    from casework.services.enrolments import stop
    from payments.models import Recovery

    stop(
        enrolment=paid_at_840,
        effective_month=SEP,
        reason_code="income_rose",
        reason_text="收入超过标准",
        by=make_user("caseworker", regions["town_a"]),
        approved_by=make_user("county_approver", regions["jingkou"]),
    )
    assert Enrolment.objects.get(pk=paid_at_840.pk).status == Enrolment.Status.STOPPED
    _raise_standard_to_875_from_july(regions)

    lines = correction_lines(batch=make_batch(OCT))

    assert [(line.kind, line.month, line.amount) for line in lines] == [
        ("back_pay", JUL, Decimal("105")),
        ("back_pay", AUG, Decimal("105")),
    ]
    assert not Recovery.objects.exists()


def test_a_month_back_paid_in_september_is_not_back_paid_again_in_october(
    paid_at_840, regions, make_batch, add_line, approver
):
    _raise_standard_to_875_from_july(regions)
    september = make_batch(SEP)
    add_line(september, paid_at_840.household, "1725", enrolment=paid_at_840)
    _save(correction_lines(batch=september))
    approve_batch(batch=september, by=approver)
    october = make_batch(OCT)

    assert correction_lines(batch=october) == []


def test_nothing_is_back_paid_when_nothing_changed(paid_at_840, make_batch):
    assert correction_lines(batch=make_batch(SEP)) == []


def test_an_enrolment_approved_late_is_back_paid_for_the_months_it_missed(
    regions, standards_before_the_raise, make_batch, add_line, approver
):
    for month in (JUL, AUG):
        _approved_month(make_batch, add_line, approver, month, [])
    late = make_household(regions["village_a1"], [Decimal("900"), 0, 0], start_month=JUL)

    lines = correction_lines(batch=make_batch(SEP))

    assert [(line.enrolment, line.month, line.amount) for line in lines] == [
        (late, JUL, Decimal("1620")),
        (late, AUG, Decimal("1620")),
    ]


def test_months_of_batches_not_yet_approved_are_not_back_paid(paid_at_840, regions, make_batch):
    with triggers_off():
        PaymentBatch.objects.filter(month=AUG).update(
            status=PaymentBatch.Status.COMPUTED, approved_by=None, approved_at=None
        )
    _raise_standard_to_875_from_july(regions)

    lines = correction_lines(batch=make_batch(SEP))

    assert [(line.month, line.amount) for line in lines] == [(JUL, Decimal("105"))]


def test_a_member_edited_later_is_not_back_paid_for_months_already_paid(paid_at_840, make_batch):
    member = paid_at_840.household.members.order_by("id").last()
    member.serious_illness = True
    member.save()

    assert correction_lines(batch=make_batch(SEP)) == []


def test_a_standard_recorded_late_for_another_city_recomputes_none_of_this_citys_months(
    paid_at_840, regions
):
    """Yangzhou (321000000000) is a city of its own: its subtree is 3210…, not 321…, so its
    standard recorded after Zhenjiang's (3211…) July was approved reaches none of Zhenjiang's
    enrolments."""
    yangzhou = Region.objects.create(
        code="321000000000", name="扬州市", level="city", parent=regions["jiangsu"]
    )
    Standard.objects.create(
        region=yangzhou, component="standard", value=Decimal("900"), effective_from=JUL
    )
    july = PaymentBatch.objects.get(month=JUL)
    late = late_records(region_prefix=july.region.prefix, since=july.approved_at)

    assert changed_since_approval(month_batch=july, late=late) == set()


def test_a_month_before_a_gradual_exit_is_back_paid_at_the_computed_amount(
    paid_at_840, regions, make_batch, preparer, make_user
):
    # The exit from October keeps 1500; July and August were paid as computed (1620), so the
    # late standard back-pays them as computed now (1725), not as the amount the exit keeps.
    from casework.facts import explain_enrolment
    from casework.services.enrolments import gradual_exit

    exiting = gradual_exit(
        enrolment=paid_at_840,
        effective_month=OCT,
        reason_code="work_income",
        reason_text="就业后人均收入950元",
        amount=Decimal("1500"),
        months=6,
        by=preparer,
        approved_by=make_user("county_approver", regions["jingkou"]),
    )
    _raise_standard_to_875_from_july(regions)

    lines = correction_lines(batch=make_batch(OCT))

    assert [(line.kind, line.month, line.amount) for line in lines] == [
        ("back_pay", JUL, Decimal("105")),
        ("back_pay", AUG, Decimal("105")),
    ]
    assert "gradual_exit" not in [step["step"] for step in lines[0].explanation]
    assert explain_enrolment(enrolment=exiting.enrolment, month=SEP).amount == Decimal("1725")
    assert explain_enrolment(enrolment=exiting.enrolment, month=OCT).amount == Decimal("1500")
