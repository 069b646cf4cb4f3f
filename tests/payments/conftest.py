"""Engine fixtures: parameters resolved from the seed file without a database."""

import datetime
from decimal import Decimal

import pytest

from payments.engine import EnrolmentFacts, HouseholdFacts, MemberFacts
from payments.parameters import build_params, read_seed_rows

ZHENJIANG_VILLAGE = "321102001001"
CHANGZHOU_VILLAGE = "320402001001"


@pytest.fixture(scope="session")
def seed_rows():
    return read_seed_rows()[1]


@pytest.fixture(scope="session")
def params_for(seed_rows):
    """params_for("zhenjiang" | "changzhou", "2024-08") → Params from seeds/data/standards.json."""

    def make(city: str, month: str, rows=None):
        region = {"zhenjiang": ZHENJIANG_VILLAGE, "changzhou": CHANGZHOU_VILLAGE}[city]
        day = datetime.date.fromisoformat(f"{month}-01")
        return build_params(seed_rows if rows is None else rows, region_code=region, month=day)

    return make


def household(*incomes, ages=None, household_id=1, traits=None) -> HouseholdFacts:
    """A household whose members (ids 1, 2, …, aged 40 unless told) have these counted incomes;
    ``traits`` maps a member id to more MemberFacts fields."""
    ages = ages or [40] * len(incomes)
    return HouseholdFacts(
        household_id=household_id,
        members=tuple(
            MemberFacts(
                member_id=number,
                age=age,
                counted_income=Decimal(income),
                **(traits or {}).get(number, {}),
            )
            for number, (income, age) in enumerate(zip(incomes, ages, strict=True), 1)
        ),
    )


def enrolment(category: str = "dibao", **attributes) -> EnrolmentFacts:
    return EnrolmentFacts(
        enrolment_id=attributes.pop("enrolment_id", 1), category=category, **attributes
    )
