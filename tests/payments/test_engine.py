"""The engine against every worked example of DOMAIN.md, and the rules around them."""

import json
from decimal import Decimal

import pytest

from casework.models import CareLevel, Category, Enrolment
from payments import engine
from payments.engine import (
    Result,
    compute_amount,
    covered_persons,
    gradual_exit_months,
    marginal_threshold,
    price_subsidy,
    render_explanation,
)
from tests.payments.conftest import enrolment, household

D = Decimal


def test_zhenjiang_household_of_three_with_income_900_gets_1725(params_for):
    result = compute_amount(
        enrolment(), household(300, 300, 300), params_for("zhenjiang", "2024-08")
    )
    assert result.amount == D("1725")
    assert "875 − 300 = 575" in [step.formula for step in result.steps]
    assert result.steps[-1].formula == "575 × 3 = 1725"


def test_the_income_is_the_households_not_each_members(params_for):
    result = compute_amount(enrolment(), household(900, 0, 0), params_for("zhenjiang", "2024-08"))
    assert result.amount == D("1725")


def test_standard_raised_back_to_july_pays_210_for_july_and_august(params_for, seed_rows):
    known_in_august = [row for row in seed_rows if row.value != D("875")]
    facts = (enrolment(), household(300, 300, 300))
    paid = [
        compute_amount(*facts, params_for("zhenjiang", m, known_in_august)).amount
        for m in ("2024-07", "2024-08")
    ]
    due = [
        compute_amount(*facts, params_for("zhenjiang", m)).amount for m in ("2024-07", "2024-08")
    ]
    assert paid == [D("1620"), D("1620")]
    assert due == [D("1725"), D("1725")]
    assert sum(due) - sum(paid) == D("210")


def test_changzhou_tekun_fully_self_caring_gets_1326(params_for):
    result = compute_amount(
        enrolment(Category.TEKUN, member_id=1, care_level=CareLevel.SELF_CARE),
        household(0, ages=[72]),
        params_for("changzhou", "2024-08"),
    )
    assert result.amount == D("1326")
    assert result.steps[0].formula == "1020 × 1.3 = 1326"


@pytest.mark.parametrize(
    ("city", "cpi", "per_person"),
    [
        ("changzhou", "3.2", "85"),
        ("zhenjiang", "6.0", "109"),
        ("zhenjiang", "3.0", "73"),
        ("changzhou", "5", "128"),
    ],
)
def test_price_subsidy_per_covered_person(params_for, city, cpi, per_person):
    result = price_subsidy(
        enrolment(), household(300, 300, 300), params_for(city, "2024-08"), D(cpi)
    )
    assert result.amount == D(per_person) * 3


def test_zhenjiang_price_subsidy_at_six_percent_rounds_109_375_to_109(params_for):
    result = price_subsidy(enrolment(), household(0), params_for("zhenjiang", "2024-08"), D("6.0"))
    assert [step.result for step in result.steps][:2] == ["109.375", "109"]
    assert result.amount == D("109")


def test_no_price_subsidy_below_the_trigger(params_for):
    assert (
        price_subsidy(enrolment(), household(0), params_for("zhenjiang", "2024-08"), D("2.99"))
        is None
    )


def test_changzhou_marginal_threshold_is_1530_per_capita(params_for):
    params = params_for("changzhou", "2024-08")
    assert marginal_threshold(params) == D("1530")
    result = compute_amount(enrolment(Category.MARGINAL), household(1200, 1200), params)
    assert result.amount == 0
    assert "1020 × 1.5 = 1530" in [step.formula for step in result.steps]


def test_household_in_gradual_exit_keeps_its_last_amount_although_income_rose(params_for):
    params = params_for("zhenjiang", "2024-08")
    facts = household(950, 950, 950)
    assert compute_amount(enrolment(), facts, params).amount == 0
    kept = compute_amount(
        enrolment(status=Enrolment.Status.GRADUAL_EXIT, gradual_exit_amount=D("1725")),
        facts,
        params,
    )
    assert kept.amount == D("1725")
    assert gradual_exit_months(facts, params) == 6
    stopped = compute_amount(enrolment(status=Enrolment.Status.STOPPED), facts, params)
    assert stopped.amount == 0


def test_gradual_exit_lasts_longer_with_a_seriously_ill_member(params_for):
    facts = household(950, 950, traits={2: {"serious_illness": True}})
    assert gradual_exit_months(facts, params_for("zhenjiang", "2024-08")) == 12


def test_category_values_match_casework():
    assert {value for value, _ in Category.choices} == set(engine._RULES)
    assert {value for value, _ in CareLevel.choices} == set(engine.CARE_LEVELS)


def test_member_categories_cover_one_person_and_only_while_present():
    facts = household(0, 0, 0)
    assert covered_persons(enrolment(), facts) == 3
    assert covered_persons(enrolment(Category.TEKUN, member_id=2), facts) == 1
    assert covered_persons(enrolment(Category.TEKUN, member_id=9), facts) == 0


def test_explanation_round_trips_through_json(params_for):
    result = compute_amount(enrolment(), household(1000, 0, 0), params_for("zhenjiang", "2024-08"))
    stored = json.loads(json.dumps(result.explanation(), ensure_ascii=False))
    again = Result.from_explanation(
        amount=result.amount, explanation=stored, versions=result.versions
    )
    assert again == result
    assert again.explanation() == stored


def test_explanation_reads_in_plain_chinese(params_for):
    result = compute_amount(
        enrolment(), household(300, 300, 300), params_for("zhenjiang", "2024-08")
    )
    text = render_explanation(result)
    assert text.startswith("本月发放金额：1725 元")
    assert "计算：875 − 300 = 575" in text
