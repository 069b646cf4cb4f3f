"""A wrong CPI figure corrected (who, why, when): the month's unapproved batch is computed again;
an approved month is back-paid or recovered by the next batch, as for a standard entered late."""

import datetime
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from payments import batches
from payments.approval import approve_batch
from payments.corrections import correction_lines
from payments.models import PaymentLine, Recovery
from rules.models import PriceIndex, PriceIndexCorrection
from rules.parameters import load_standards
from rules.steps import render_step
from tests.payments.conftest import AUGUST, make_household

OCTOBER = datetime.date(2024, 10, 1)
REASON = "统计局更正：8月CPI涨幅应为5.1%"


@pytest.fixture
def cpi_of_august(regions):
    """Zhenjiang 2024-08 recorded at 2.5% (no subsidy): 5.1% gives 875 ÷ 8 → 109 per person."""
    load_standards()
    return PriceIndex.objects.create(
        region=regions["zhenjiang"], month=AUGUST, cpi_rise_percent=Decimal("2.5")
    )


@pytest.fixture
def finance(make_user, regions):
    client = APIClient()
    client.force_authenticate(make_user("finance", regions["zhenjiang"], username="cpi-finance"))
    return client


def correct(client, price_index, cpi="5.1", reason=REASON):
    return client.post(
        f"/api/price-indices/{price_index.pk}/correction/",
        {"cpi_rise_percent": cpi, "reason": reason},
        format="json",
    )


def test_a_corrected_cpi_recomputes_the_months_unapproved_batch(
    regions, cpi_of_august, finance, django_capture_on_commit_callbacks
):
    enrolment = make_household(regions["village_a1"], [Decimal("900"), 0, 0])
    batch = batches.create_batch(region=regions["jingkou"], month=AUGUST, by=None)
    batches.compute_batch(batch=batch, inline=True)
    assert not PaymentLine.objects.filter(batch=batch, kind="price_subsidy").exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = correct(finance, cpi_of_august)

    assert response.status_code == 201, response.data
    assert (response.data["cpi_before"], response.data["cpi_after"]) == ("2.50", "5.10")
    assert response.data["corrected_by"] == "cpi-finance"
    correction = PriceIndexCorrection.objects.get()
    assert correction.reason == REASON
    batch.refresh_from_db()
    assert batch.status == "computed"
    subsidy = PaymentLine.objects.get(batch=batch, kind="price_subsidy", enrolment=enrolment)
    assert subsidy.amount == Decimal("327")


def test_a_cpi_corrected_after_approval_is_back_paid_in_the_next_batch(
    regions, cpi_of_august, finance, make_batch, add_line, approver
):
    enrolment = make_household(regions["village_a1"], [Decimal("900"), 0, 0])
    august = make_batch(AUGUST)
    add_line(august, enrolment.household, "1725", enrolment=enrolment)
    approve_batch(batch=august, by=approver)

    assert correct(finance, cpi_of_august).status_code == 201
    lines = correction_lines(batch=make_batch(OCTOBER))

    assert [(line.kind, line.month, line.amount) for line in lines] == [
        ("back_pay", AUGUST, Decimal("327")),
    ]
    rules = [render_step(step)["rule"] for step in lines[0].explanation]
    assert "本月应发合计 = 按月保障金 + 价格临时补贴" in rules
    assert rules[-1] == "补发：按现有记录重算 2024-08 应发（该月生效的标准和事实），减去当时已发"


def test_a_cpi_corrected_down_after_approval_is_recovered(
    regions, cpi_of_august, finance, make_batch, add_line, approver
):
    PriceIndex.objects.filter(pk=cpi_of_august.pk).update(cpi_rise_percent=Decimal("5.1"))
    enrolment = make_household(regions["village_a1"], [Decimal("900"), 0, 0])
    august = make_batch(AUGUST)
    add_line(august, enrolment.household, "1725", enrolment=enrolment)
    add_line(august, enrolment.household, "327", enrolment=enrolment, kind="price_subsidy")
    approve_batch(batch=august, by=approver)

    assert correct(finance, cpi_of_august, cpi="2.5").status_code == 201
    lines = correction_lines(batch=make_batch(OCTOBER))

    assert [line.kind for line in lines] == []
    recovery = Recovery.objects.get()
    assert (recovery.enrolment_id, recovery.month, recovery.amount) == (
        enrolment.pk,
        AUGUST,
        Decimal("327"),
    )


@pytest.mark.parametrize("role", ["caseworker", "grid", "approver", "auditor"])
def test_only_finance_may_correct_a_cpi_and_a_refusal_changes_nothing(
    regions, cpi_of_august, make_user, role
):
    client = APIClient()
    client.force_authenticate(make_user(role, regions["zhenjiang"]))

    assert correct(client, cpi_of_august).status_code == 403
    assert PriceIndex.objects.get().cpi_rise_percent == Decimal("2.5")
    assert not PriceIndexCorrection.objects.exists()


@pytest.mark.parametrize(
    ("cpi", "reason", "field"),
    [
        ("2.5", REASON, "cpi_rise_percent"),
        ("5.1", "   ", "reason"),
        ("100", REASON, "cpi_rise_percent"),
    ],
)
def test_a_correction_that_changes_nothing_or_gives_no_reason_is_refused(
    cpi_of_august, finance, cpi, reason, field
):
    response = correct(finance, cpi_of_august, cpi=cpi, reason=reason)

    assert response.status_code == 400
    assert field in response.data
    assert PriceIndex.objects.get().cpi_rise_percent == Decimal("2.5")
    assert not PriceIndexCorrection.objects.exists()


def test_a_cpi_outside_the_users_region_is_not_found(regions, cpi_of_august, make_user):
    client = APIClient()
    client.force_authenticate(make_user("finance", regions["changzhou"]))

    assert correct(client, cpi_of_august).status_code == 404
    assert not PriceIndexCorrection.objects.exists()
