"""Invariants of the engine over generated households and parameter variants (hypothesis)."""

import datetime
import json
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from payments.engine import (
    CARE_LEVELS,
    DIBAO,
    EnrolmentFacts,
    HouseholdFacts,
    MemberFacts,
    Result,
    compute_amount,
    price_subsidy,
    render_step,
    step_json,
)
from payments.models import canonical_json
from payments.parameters import ParameterRow, build_params, read_seed_rows

SEED_ROWS = read_seed_rows()[1]
CITIES = {"zhenjiang": "321102001001", "changzhou": "320402001001"}
MODES = {1: ROUND_HALF_UP, 2: ROUND_HALF_EVEN, 3: ROUND_DOWN, 4: ROUND_UP}
MONTH = datetime.date(2024, 8, 1)
MEMBER_CATEGORIES = [
    "single_dibao",
    "tekun",
    "orphan_institution",
    "orphan_community",
    "unsupported_child",
    "guardian_unable_child",
    "ill_disabled_child",
]

money = st.decimals(min_value=-500, max_value=4000, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def params(draw):
    """Seeded parameters of a city, with the floor and rounding varied as a city could set them."""
    city = draw(st.sampled_from(sorted(CITIES)))
    region = CITIES[city][:4].ljust(12, "0")
    extra = {
        "floor_share": draw(st.sampled_from(["0", "0.2"])),
        "rounding_quantum": draw(st.sampled_from(["1", "0.01", "10"])),
        "rounding_mode": draw(st.sampled_from(sorted(MODES))),
    }
    rows = SEED_ROWS + [
        ParameterRow(region, "", name, Decimal(value), datetime.date(2024, 8, 1))
        for name, value in extra.items()
    ]
    return build_params(rows, region_code=CITIES[city], month=MONTH)


@st.composite
def members(draw, min_size=1, max_size=6):
    size = draw(st.integers(min_size, max_size))
    return tuple(
        MemberFacts(
            member_id=number,
            age=draw(st.integers(0, 100)),
            counted_income=draw(money),
            serious_illness=draw(st.booleans()),
            disability_grade=draw(st.one_of(st.none(), st.integers(1, 4))),
        )
        for number in range(1, size + 1)
    )


def enrolment_for(category, draw):
    if category == DIBAO or category == "marginal":
        return EnrolmentFacts(enrolment_id=1, category=category)
    return EnrolmentFacts(
        enrolment_id=1,
        category=category,
        member_id=1,
        care_level=draw(st.sampled_from(("", *CARE_LEVELS))),
    )


def quantum(p):
    return p.value("rounding_quantum").normalize()


@given(p=params(), people=members(), data=st.data())
def test_amount_is_never_negative(p, people, data):
    category = data.draw(st.sampled_from([DIBAO, "marginal", *MEMBER_CATEGORIES]))
    result = compute_amount(enrolment_for(category, data.draw), HouseholdFacts(1, people), p)
    assert result.amount >= 0


@given(p=params(), people=members(), raise_by=money.filter(lambda d: d > 0), data=st.data())
def test_more_income_never_means_more_money(p, people, raise_by, data):
    category = data.draw(st.sampled_from([DIBAO, "single_dibao"]))
    enrolment = enrolment_for(category, data.draw)
    who = data.draw(st.integers(0, len(people) - 1))
    richer = list(people)
    richer[who] = MemberFacts(
        member_id=people[who].member_id,
        age=people[who].age,
        counted_income=people[who].counted_income + raise_by,
        serious_illness=people[who].serious_illness,
        disability_grade=people[who].disability_grade,
    )
    before = compute_amount(enrolment, HouseholdFacts(1, people), p).amount
    after = compute_amount(enrolment, HouseholdFacts(1, tuple(richer)), p).amount
    assert after <= before


@given(p=params(), people=members())
def test_household_amount_is_the_sum_of_its_members_amounts(p, people):
    result = compute_amount(EnrolmentFacts(1, DIBAO), HouseholdFacts(1, people), p)
    assert [member_id for member_id, _ in result.members] == [m.member_id for m in people]
    assert result.amount == sum(amount for _, amount in result.members)


@given(p=params(), people=members(), data=st.data())
def test_every_members_amount_is_rounded_as_configured(p, people, data):
    category = data.draw(st.sampled_from([DIBAO, *MEMBER_CATEGORIES]))
    result = compute_amount(enrolment_for(category, data.draw), HouseholdFacts(1, people), p)
    step = quantum(p)
    for _, amount in result.members:
        assert amount % step == 0


@given(p=params(), people=members())
def test_without_supplements_each_member_gets_the_gap_rounded_with_the_citys_mode(p, people):
    plain = tuple(MemberFacts(m.member_id, age=40, counted_income=m.counted_income) for m in people)
    if len(plain) == 1:  # a person living alone may get a supplement
        return
    standard = p.value("standard")
    income = max(sum(m.counted_income for m in plain), Decimal(0))
    gap = max(standard - income / len(plain), standard * p.value("floor_share"), Decimal(0))
    mode = MODES[int(p.value("rounding_mode"))]
    expected = gap.quantize(quantum(p), rounding=mode) * len(plain)
    result = compute_amount(EnrolmentFacts(1, DIBAO), HouseholdFacts(1, plain), p)
    assert result.amount == expected


@given(p=params(), people=members(), data=st.data())
def test_explanation_survives_json_and_ends_with_the_amount(p, people, data):
    category = data.draw(st.sampled_from([DIBAO, "marginal", *MEMBER_CATEGORIES]))
    result = compute_amount(enrolment_for(category, data.draw), HouseholdFacts(1, people), p)
    stored = json.loads(json.dumps(result.explanation(), ensure_ascii=False))
    again = Result.from_explanation(amount=result.amount, explanation=stored)
    assert again.explanation() == stored
    if category != "marginal":
        assert Decimal(stored[-1]["result"]) == result.amount


@settings(max_examples=50)
@given(
    p=params(),
    people=members(),
    cpi=st.decimals(min_value=-5, max_value=15, places=2),
    more=st.decimals(min_value=0, max_value=5, places=2),
)
def test_price_subsidy_grows_with_the_cpi_and_is_whole_yuan_per_person(p, people, cpi, more):
    enrolment = EnrolmentFacts(1, DIBAO)
    household = HouseholdFacts(1, people)
    low = price_subsidy(enrolment, household, p, cpi)
    high = price_subsidy(enrolment, household, p, cpi + more)
    low_amount = low.amount if low else 0
    assert (high.amount if high else 0) >= low_amount
    if low:
        assert low.amount % len(people) == 0
        assert (low.amount / len(people)) % 1 == 0


@given(p=params(), people=members(), cpi=st.sampled_from(["0", "3.5", "6"]), data=st.data())
def test_the_fast_step_json_is_the_canonical_json_of_the_rendered_step(p, people, cpi, data):
    category = data.draw(st.sampled_from([DIBAO, "marginal", *MEMBER_CATEGORIES]))
    enrolment = enrolment_for(category, data.draw)
    household = HouseholdFacts(1, people)
    results = [compute_amount(enrolment, household, p)]
    subsidy = price_subsidy(enrolment, household, p, Decimal(cpi))
    results += [subsidy] if subsidy is not None else []
    for result in results:
        for raw in result._raw:
            assert step_json(raw) == canonical_json(render_step(raw))
