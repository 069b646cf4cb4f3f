"""Facts of one enrolment in a month, and GET /api/enrolments/{id}/explain/?month=YYYY-MM."""

import datetime
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from beneficiaries.facts import refresh_household_facts
from casework.facts import explain_enrolment, facts_for_enrolment
from casework.services import enrolments
from rules.models import PriceIndex, Standard
from rules.parameters import load_standards
from tests.factories import EnrolmentFactory, HouseholdFactory, IncomeItemFactory, MemberFactory

AUG_2024 = datetime.date(2024, 8, 1)


@pytest.fixture
def family(regions):
    """A Zhenjiang household of three adults with 900 counted income, on dibao since January."""
    load_standards()
    household = HouseholdFactory(village=regions["village_a1"])
    members = [
        MemberFactory(household=household, birth=datetime.date(1980 + i, 3, 1)) for i in range(3)
    ]
    IncomeItemFactory(member=members[0], type="wages", monthly_amount=Decimal("900"))
    enrolment = EnrolmentFactory(household=household, start_month=datetime.date(2024, 1, 1))
    return household, members, enrolment


def test_facts_count_living_members_and_their_counted_income(family):
    household, members, enrolment = family
    enrolment_facts, facts = facts_for_enrolment(enrolment=enrolment, month=AUG_2024)
    assert enrolment_facts.category == "dibao"
    assert [m.member_id for m in facts.members] == [m.pk for m in members]
    assert [m.counted_income for m in facts.members] == [Decimal("900"), 0, 0]
    assert facts.members[0].age == 44


def test_uncounted_income_is_ignored_and_medical_costs_are_deducted(family):
    _, members, enrolment = family
    IncomeItemFactory(member=members[1], type="scholarship", monthly_amount=Decimal("500"))
    IncomeItemFactory(member=members[0], type="medical_deduction", monthly_amount=Decimal("150"))
    _, facts = facts_for_enrolment(enrolment=enrolment, month=AUG_2024)
    assert [m.counted_income for m in facts.members] == [Decimal("750"), 0, 0]
    assert explain_enrolment(enrolment=enrolment, month=AUG_2024).amount == Decimal("1875")


def test_income_outside_its_period_of_validity_is_not_counted(family):
    _, members, enrolment = family
    IncomeItemFactory(
        member=members[1],
        monthly_amount=Decimal("600"),
        valid_from=datetime.date(2024, 9, 1),
    )
    IncomeItemFactory(
        member=members[2],
        monthly_amount=Decimal("600"),
        valid_from=datetime.date(2024, 1, 1),
        valid_to=datetime.date(2024, 7, 31),
    )
    assert explain_enrolment(enrolment=enrolment, month=AUG_2024).amount == Decimal("1725")


def test_a_member_who_died_before_the_month_is_not_counted(family):
    _, members, enrolment = family
    members[2].is_alive = False
    members[2].death_date = datetime.date(2024, 6, 20)
    members[2].save()
    refresh_household_facts(household_ids=[members[2].household_id])
    _, facts = facts_for_enrolment(enrolment=enrolment, month=AUG_2024)
    assert len(facts.members) == 2
    # (875 − 900 ÷ 2) × 2 = 850
    assert explain_enrolment(enrolment=enrolment, month=AUG_2024).amount == Decimal("850")
    _, june = facts_for_enrolment(enrolment=enrolment, month=datetime.date(2024, 6, 1))
    assert len(june.members) == 3


def test_explaining_a_past_month_uses_that_months_standard(family):
    _, _, enrolment = family
    assert explain_enrolment(enrolment=enrolment, month=datetime.date(2024, 6, 1)).amount == 1620
    assert explain_enrolment(enrolment=enrolment, month=datetime.date(2024, 7, 1)).amount == 1725


def test_a_month_outside_the_enrolment_pays_nothing(family):
    _, _, enrolment = family
    result = explain_enrolment(enrolment=enrolment, month=datetime.date(2023, 12, 1))
    assert result.amount == 0


def test_explain_endpoint_returns_the_amount_and_the_steps(family, make_user, regions):
    _, _, enrolment = family
    client = APIClient()
    client.force_authenticate(make_user("caseworker", regions["town_a"]))
    response = client.get(f"/api/enrolments/{enrolment.pk}/explain/", {"month": "2024-08"})
    assert response.status_code == 200, response.data
    assert response.data["amount"] == "1725"
    assert response.data["month"] == "2024-08"
    formulas = [step["formula"] for step in response.data["steps"]]
    assert "875 − 300 = 575" in formulas
    standard = Standard.objects.get(region__code="321100000000", component="standard", value=875)
    assert response.data["versions"]["standard"] == standard.pk
    assert response.data["text"].startswith("金额：1725 元。计算过程：")
    assert response.data["parameters"] == [
        {
            "parameter": "standard",
            "name": "低保标准",
            "value": "875 元",
            "version": standard.pk,
            "effective_from": "2024-07-01",
            "text": "低保标准 875 元（2024-07-01 起）",
        }
    ]
    assert [(m["position"], m["amount"]) for m in response.data["members"]] == [
        (1, "575"),
        (2, "575"),
        (3, "575"),
    ]


def test_explain_endpoint_hides_other_regions_enrolments(family, make_user, regions):
    _, _, enrolment = family
    client = APIClient()
    client.force_authenticate(make_user("caseworker", regions["town_b"]))
    response = client.get(f"/api/enrolments/{enrolment.pk}/explain/", {"month": "2024-08"})
    assert response.status_code == 404


@pytest.mark.parametrize("query", [{"month": "2024-8-01"}, {"month": "next"}, {}])
def test_explain_endpoint_wants_a_month(family, make_user, regions, query):
    _, _, enrolment = family
    client = APIClient()
    client.force_authenticate(make_user("auditor", regions["zhenjiang"]))
    response = client.get(f"/api/enrolments/{enrolment.pk}/explain/", query)
    assert response.status_code == 400
    assert "month" in response.data


def test_explain_endpoint_adds_the_price_subsidy_of_a_cpi_month(family, make_user, regions):
    _, _, enrolment = family
    PriceIndex.objects.create(region=regions["zhenjiang"], month=AUG_2024, cpi_rise_percent=6)
    client = APIClient()
    client.force_authenticate(make_user("caseworker", regions["town_a"]))
    response = client.get(f"/api/enrolments/{enrolment.pk}/explain/", {"month": "2024-08"})
    assert response.data["price_subsidy"]["amount"] == "327"  # 875 ÷ 8 = 109.375 → 109, × 3
    assert response.data["price_subsidy"]["steps"][0]["rule"].startswith(
        "价格临时补贴（高档）：本月CPI涨幅 6%，达到提高档条件 5%"
    )
    july = client.get(f"/api/enrolments/{enrolment.pk}/explain/", {"month": "2024-07"})
    assert july.data["price_subsidy"] is None


def test_explaining_a_month_without_a_standard_is_refused_with_the_reason(
    family, make_user, regions
):
    _, _, enrolment = family
    Standard.objects.filter(component="standard").delete()
    client = APIClient()
    client.force_authenticate(make_user("auditor", regions["jiangsu"]))
    response = client.get(f"/api/enrolments/{enrolment.pk}/explain/", {"month": "2024-08"})
    assert response.status_code == 400
    assert "standard" in response.data["month"][0]


def test_gradual_exit_pays_its_amount_until_it_ends(family):
    _, _, enrolment = family
    enrolment.status = "gradual_exit"
    enrolment.gradual_exit_amount = Decimal("1725")
    enrolment.gradual_exit_until = datetime.date(2025, 1, 1)
    enrolment.save()
    months = [datetime.date(2024, m, 1) for m in range(8, 13)] + [datetime.date(2025, 1, 1)]
    assert [explain_enrolment(enrolment=enrolment, month=m).amount for m in months] == [1725] * 6
    assert explain_enrolment(enrolment=enrolment, month=datetime.date(2025, 2, 1)).amount == 0


def test_explain_endpoint_speaks_english_when_asked(family, make_user, regions):
    _, _, enrolment = family
    client = APIClient()
    client.force_authenticate(make_user("auditor", regions["zhenjiang"]))
    url = f"/api/enrolments/{enrolment.pk}/explain/"

    by_query = client.get(url, {"month": "2024-08", "lang": "en"}).data
    by_header = client.get(url, {"month": "2024-08"}, HTTP_ACCEPT_LANGUAGE="en").data

    for data in (by_query, by_header):
        assert data["text"].startswith("Amount: 1725 yuan. How it was computed:")
        gap = next(step for step in data["steps"] if step["step"] == "gap")
        assert gap["rule"] == "Difference rule: dibao standard − per-capita income, not below 0"
        assert [p["text"] for p in data["parameters"]] == [
            "dibao standard 875 yuan (from 2024-07-01)"
        ]


def test_a_gradual_exit_is_explained_with_its_period_and_which_month_this_is(
    family, make_user, regions
):
    _, _, enrolment = family
    enrolments.gradual_exit(
        enrolment=enrolment,
        effective_month=datetime.date(2024, 6, 1),
        reason_code="work_income",
        reason_text="就业后人均收入950元",
        amount=Decimal("1620"),
        months=6,
        by=make_user("caseworker", regions["town_a"]),
        approved_by=make_user("county_approver", regions["jingkou"]),
    )
    client = APIClient()
    client.force_authenticate(make_user("auditor", regions["zhenjiang"]))

    response = client.get(f"/api/enrolments/{enrolment.pk}/explain/", {"month": "2024-08"})

    assert response.data["amount"] == "1620.00"
    assert response.data["steps"][0]["rule"] == (
        "渐退：因就业收入超过标准，渐退期 2024-06 至 2024-11（共 6 个月），本月为第 3 个月，"
        "保留最后一次批准的金额，期满停发"
    )
