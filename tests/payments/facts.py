"""Engine test helpers: facts built without a database."""

from decimal import Decimal

from rules.engine import EnrolmentFacts, HouseholdFacts, MemberFacts


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
