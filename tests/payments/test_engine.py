"""The engine against every worked example of DOMAIN.md, and the rules around them."""

import datetime
import json
from decimal import Decimal

import pytest

from casework.models import CareLevel, Category, Enrolment
from rules import engine
from rules.engine import (
    MissingParameter,
    Result,
    compute_amount,
    covered_persons,
    gradual_exit_months,
    price_subsidy,
    relief_approval_level,
    relief_ceiling,
    render_explanation,
)
from rules.parameters import ParameterRow
from tests.payments.facts import enrolment, household

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
    assert {value for value, _ in Category.choices} == set(engine._RULES) == engine.CATEGORIES
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


@pytest.mark.parametrize(
    ("traits", "ages", "amount", "why"),
    [
        ({1: {"serious_illness": True}}, [40, 40, 40], "2200", "875 + 175 = 1050, + 575 × 2"),
        ({1: {"disability_grade": 2}}, [40, 40, 40], "2025", "875, + 575 × 2"),
        ({1: {"disability_grade": 3}}, [40, 40, 40], "1725", "grade 3 is not severe"),
        ({}, [70, 40, 40], "1813", "575 + 87.5 = 662.5 → 663, + 575 × 2"),
        ({}, [17, 40, 40], "1813", "a minor as the elderly"),
        ({}, [18, 40, 40], "1725", "18 is of age"),
        ({1: {"serious_illness": True}}, [70, 40, 40], "2200", "the best class, not both"),
    ],
)
def test_zhenjiang_classified_supplements(params_for, traits, ages, amount, why):
    facts = household(300, 300, 300, ages=ages, traits=traits)
    result = compute_amount(enrolment(), facts, params_for("zhenjiang", "2024-08"))
    assert result.amount == D(amount), why
    assert result.amount == sum(a for _, a in result.members)


def test_changzhou_pays_no_supplements(params_for):
    facts = household(300, 300, 300, ages=[70, 10, 40], traits={3: {"serious_illness": True}})
    assert compute_amount(enrolment(), facts, params_for("changzhou", "2024-08")).amount == 2160


def test_person_living_alone_gets_the_living_alone_supplement(params_for):
    result = compute_amount(enrolment(), household(275), params_for("zhenjiang", "2024-08"))
    assert result.amount == D("688")  # 600 + 87.5 = 687.5 → 688


def test_floor_pays_a_share_of_the_standard_when_the_gap_is_small(params_for, seed_rows):
    rows = seed_rows + [
        ParameterRow("320400000000", "", "floor_share", D("0.2"), datetime.date(2024, 1, 1))
    ]
    params = params_for("changzhou", "2024-08", rows)
    assert compute_amount(enrolment(), household(1000, 1000), params).amount == 408
    assert compute_amount(enrolment(), household(500, 500), params).amount == 1040


def test_deductible_costs_above_income_count_as_no_income(params_for):
    params = params_for("changzhou", "2024-08")
    assert compute_amount(enrolment(), household(-400, 100), params).amount == 2040


def test_single_person_dibao_uses_the_members_own_income(params_for):
    facts = household(5000, 200, ages=[45, 30], traits={2: {"disability_grade": 3}})
    single = enrolment(Category.SINGLE_DIBAO, member_id=2)
    assert compute_amount(single, facts, params_for("changzhou", "2024-08")).amount == 820
    assert compute_amount(single, facts, params_for("zhenjiang", "2024-08")).amount == 675


def test_single_person_dibao_adds_the_members_supplement(params_for):
    facts = household(5000, 0, ages=[45, 30], traits={2: {"serious_illness": True}})
    single = enrolment(Category.SINGLE_DIBAO, member_id=2)
    assert compute_amount(single, facts, params_for("zhenjiang", "2024-08")).amount == 1050


@pytest.mark.parametrize(
    ("city", "care_level", "amount"),
    [
        ("changzhou", "", "1326"),
        ("changzhou", "partial", "1826"),
        ("changzhou", "full", "2326"),
        ("zhenjiang", "self_care", "1345"),  # 1137.5 + 2070 × 0.1 = 1344.5 → 1345
        ("zhenjiang", "partial", "1483"),  # 1137.5 + 2070 × 0.1667 = 1482.569 → 1483
        ("zhenjiang", "full", "1655"),  # 1137.5 + 517.5 = 1655
    ],
)
def test_tekun_basic_living_plus_care_allowance(params_for, city, care_level, amount):
    result = compute_amount(
        enrolment(Category.TEKUN, member_id=1, care_level=care_level),
        household(0, ages=[80]),
        params_for(city, "2024-08"),
    )
    assert result.amount == D(amount)


@pytest.mark.parametrize(
    ("category", "zhenjiang", "changzhou"),
    [
        (Category.ORPHAN_INSTITUTION, "3132", "2900"),
        (Category.ORPHAN_COMMUNITY, "2036", "1885"),
        (Category.UNSUPPORTED_CHILD, "2036", "1885"),
        (Category.GUARDIAN_UNABLE_CHILD, "1222", "1131"),
        (Category.ILL_DISABLED_CHILD, "1018", "943"),
    ],
)
def test_childrens_amounts(params_for, category, zhenjiang, changzhou):
    facts = household(0, ages=[9])
    child = enrolment(category, member_id=1)
    assert compute_amount(child, facts, params_for("zhenjiang", "2024-08")).amount == D(zhenjiang)
    assert compute_amount(child, facts, params_for("changzhou", "2024-08")).amount == D(changzhou)


def test_a_member_enrolment_pays_nothing_once_the_member_is_gone(params_for):
    result = compute_amount(
        enrolment(Category.TEKUN, member_id=7), household(0), params_for("changzhou", "2024-08")
    )
    assert result.amount == 0
    assert "不在户或已故" in result.steps[0].rule


def test_rounding_mode_is_a_parameter(params_for, seed_rows):
    rows = seed_rows + [
        ParameterRow("321100000000", "", "rounding_mode", D("2"), datetime.date(2024, 1, 1))
    ]
    facts = household(275)  # 687.5
    assert (
        compute_amount(enrolment(), facts, params_for("zhenjiang", "2024-08", rows)).amount == 688
    )
    rows[-1] = ParameterRow("321100000000", "", "rounding_mode", D("3"), datetime.date(2024, 1, 1))
    assert (
        compute_amount(enrolment(), facts, params_for("zhenjiang", "2024-08", rows)).amount == 687
    )


def test_result_names_the_standard_rows_it_used(params_for, seed_rows):
    numbered = [
        ParameterRow(r.region_code, r.category, r.component, r.value, r.effective_from, id=n)
        for n, r in enumerate(seed_rows, 1)
    ]
    params = params_for("zhenjiang", "2024-08", numbered)
    result = compute_amount(enrolment(), household(300, 300, 300), params)
    (row_875,) = [r.id for r in numbered if r.component == "standard" and r.value == 875]
    assert result.versions["standard"] == row_875
    assert "orphan_institution_amount" not in result.versions


def test_a_city_without_a_standard_cannot_be_computed(params_for):
    params = params_for("zhenjiang", "2023-01")
    with pytest.raises(MissingParameter):
        compute_amount(enrolment(), household(0), params)


@pytest.mark.parametrize(
    ("relief_type", "cost", "ceiling"),
    [
        ("other", "0", "1750"),
        ("accidental_death", "0", "10500"),
        ("medical", "8000", "2625"),
        ("medical", "20000", "2625"),
        ("medical", "20001", "2625"),
        ("medical", "50000", "5000"),
        ("medical", "500000", "13125"),
    ],
)
def test_temporary_relief_ceilings(params_for, relief_type, cost, ceiling):
    params = params_for("zhenjiang", "2024-08")
    result = relief_ceiling(relief_type=relief_type, params=params, self_paid_cost=D(cost))
    assert result.amount == D(ceiling)


@pytest.mark.parametrize(
    ("amount", "level"), [("2625", "township"), ("2626", "county"), ("13125", "county")]
)
def test_temporary_relief_approval_tiers(params_for, amount, level):
    params = params_for("zhenjiang", "2024-08")
    assert relief_approval_level(amount=D(amount), params=params) == level


def test_temporary_relief_above_the_cap_cannot_be_approved(params_for):
    params = params_for("zhenjiang", "2024-08")
    assert relief_approval_level(amount=D("13126"), params=params) is None


def test_price_subsidy_goes_to_each_covered_person_only(params_for):
    params = params_for("changzhou", "2024-08")
    tekun = enrolment(Category.TEKUN, member_id=2)
    assert price_subsidy(tekun, household(0, 0, 0), params, D("3.2")).amount == 85
    stopped = enrolment(status=Enrolment.Status.STOPPED)
    assert price_subsidy(stopped, household(0, 0), params, D("3.2")) is None
    marginal = enrolment(Category.MARGINAL)
    assert price_subsidy(marginal, household(1200, 1200), params, D("3.2")).amount == 170


# Rounding: each case's four results under the four modes the ``rounding_mode`` parameter allows
# (1 四舍五入 half-up, 2 四舍六入五成双 half-even, 3 舍去 down, 4 进一 up), written out by hand.
# Together the cases give each mode a different column, so any swapped or wrong mapping fails
# (half-down, ceiling and floor included: half-down rounds 687.5 to 687 and 686.51 to 687).
ROUNDING_CASES = [
    # quantum, unrounded gap: (half-up, half-even, down, up)
    ("1", "687.5", ("688", "688", "687", "688")),  # .5 above an odd yuan: half-even goes up
    ("1", "686.5", ("687", "686", "686", "687")),  # .5 above an even yuan: half-even stays
    ("1", "686.49", ("686", "686", "686", "687")),
    ("1", "686.51", ("687", "687", "686", "687")),
    ("1", "686", ("686", "686", "686", "686")),  # nothing to round: up does not add a yuan
    ("10", "685", ("690", "680", "680", "690")),  # 68.5 tens
    ("10", "675", ("680", "680", "670", "680")),  # 67.5 tens
    ("0.01", "686.505", ("686.51", "686.50", "686.50", "686.51")),
    ("0.01", "686.515", ("686.52", "686.52", "686.51", "686.52")),
    ("0.01", "686.5049", ("686.50", "686.50", "686.50", "686.51")),
]


def _rounding_params(params_for, seed_rows, mode: int, quantum: str):
    changed = [
        ParameterRow("320400000000", "", "rounding_mode", D(mode), datetime.date(2024, 1, 1)),
        ParameterRow("320400000000", "", "rounding_quantum", D(quantum), datetime.date(2024, 1, 1)),
    ]
    return params_for("changzhou", "2024-08", seed_rows + changed)


@pytest.mark.parametrize("mode", [1, 2, 3, 4])
@pytest.mark.parametrize(("quantum", "gap", "expected"), ROUNDING_CASES)
def test_each_rounding_mode_rounds_as_its_name_says(
    params_for, seed_rows, mode, quantum, gap, expected
):
    # Changzhou pays no supplements: a person living alone gets the gap to 1020, rounded.
    params = _rounding_params(params_for, seed_rows, mode, quantum)
    result = compute_amount(enrolment(), household(D("1020") - D(gap)), params)
    assert result.amount == D(expected[mode - 1])
    assert result.members == ((1, D(expected[mode - 1])),)
    rounding = [step for step in result.steps if step.rule.startswith("取整")]
    if D(expected[mode - 1]) == D(gap):
        assert rounding == []
    else:
        label = {1: "四舍五入", 2: "四舍六入五成双", 3: "舍去", 4: "进一"}[mode]
        assert [step.rule for step in rounding] == [f"取整：{label}到 {quantum} 元"]


@pytest.mark.parametrize("mode", [1, 2, 3, 4])
def test_each_rounding_mode_rounds_every_supplemented_member_on_its_own(
    params_for, seed_rows, mode
):
    # Zhenjiang: two members with 375 between them leave a gap of 687.5 each; the member of 70
    # adds a tenth of the standard (87.5), so 775 for them: only the plain member is rounded.
    rows = seed_rows + [
        ParameterRow("321100000000", "", "rounding_mode", D(mode), datetime.date(2024, 1, 1))
    ]
    params = params_for("zhenjiang", "2024-08", rows)
    result = compute_amount(enrolment(), household(375, 0, ages=[40, 70]), params)
    plain = {1: "688", 2: "688", 3: "687", 4: "688"}[mode]
    assert result.members == ((1, D(plain)), (2, D("775")))
    assert result.amount == D(plain) + D("775")


@pytest.mark.parametrize("mode", [1, 2, 3, 4])
def test_an_income_above_the_standard_pays_nothing_whatever_the_rounding(
    params_for, seed_rows, mode
):
    # The gap is -0.5: it is cut to zero before rounding (rounded up it would be -1).
    params = _rounding_params(params_for, seed_rows, mode, "1")
    assert compute_amount(enrolment(), household("1020.5"), params).amount == 0
