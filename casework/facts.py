"""The engine's facts of one enrolment in a month, read from the registry and the enrolment, and
the explanation of its amount. The batch reads the same facts in bulk (payments.payroll_io); a
test keeps the two readers in step."""

import datetime
from collections.abc import Iterable
from decimal import Decimal

from beneficiaries.facts import facts_rows_for_month
from casework.models import Enrolment
from casework.selectors import coverage_in_month
from core.months import first_of_month
from rules.engine import (
    EnrolmentFacts,
    HouseholdFacts,
    MemberFacts,
    Result,
    compute_amount,
    price_subsidy,
)
from rules.parameters import resolve_parameters
from rules.selectors import cpi_rise_for

STOPPED = Enrolment.Status.STOPPED


def status_in_month(
    *,
    status: str,
    gradual_exit_from: datetime.date | None,
    gradual_exit_until: datetime.date | None,
    month: datetime.date,
) -> str:
    """The status an enrolment had in a month that lies within its months (start to end).

    The row keeps only its current status. One stopped since was paid in its months: as it was
    then, in gradual exit from the first to the last month of that exit, else active. Recomputing
    a past month (back pay, a recompute) must not read a later stop as "nothing was due", or a
    standard raised from a past date would turn every household stopped since into an
    overpayment; nor a later gradual exit as the amount kept, which is paid only in the exit's
    own months. Past the end of a gradual exit the enrolment pays nothing.
    """
    if gradual_exit_until is not None and status in (Enrolment.Status.GRADUAL_EXIT, STOPPED):
        if gradual_exit_from is not None and month < gradual_exit_from:
            return Enrolment.Status.ACTIVE
        return Enrolment.Status.GRADUAL_EXIT if month <= gradual_exit_until else STOPPED
    if status == STOPPED:
        return Enrolment.Status.ACTIVE
    return status


def age_on(birth_date: datetime.date, day: datetime.date) -> int:
    """Completed years on a day."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def household_facts(
    *, household_ids: Iterable[int], month: datetime.date
) -> dict[int, HouseholdFacts]:
    """Each household's facts for the month (a first day), without ``coverage``: the members
    living in it on the month's first day, each with the age on that day, the counted income
    minus deductible costs of the month and the health facts in force in it. Read from the
    household's row of facts for the month (beneficiaries.models.HouseholdFactsPeriod), one
    indexed query for all the households. A household with no member in the month is absent.
    """
    # Ages and amounts repeat (a chunk's members share some thousands of birth dates and
    # incomes): each converted once. The facts are made with tuple.__new__, as their named
    # tuples' own constructor does but without its Python frame (a chunk makes some 60,000).
    ages: dict[str, int] = {}
    amounts: dict[str, Decimal] = {}
    households: dict[int, HouseholdFacts] = {}
    make = tuple.__new__
    for household_id, entries in facts_rows_for_month(household_ids=household_ids, month=month):
        if not entries:
            continue
        members = []
        append = members.append
        for member_id, birth, income, ill, grade, category, care in entries:
            age = ages.get(birth)
            if age is None:
                age = ages[birth] = age_on(datetime.date.fromisoformat(birth), month)
            amount = amounts.get(income)
            if amount is None:
                amount = amounts[income] = Decimal(income)
            append(make(MemberFacts, (member_id, age, amount, ill, grade, category, care)))
        households[household_id] = make(HouseholdFacts, (household_id, tuple(members), ()))
    return households


def facts_for_enrolment(
    *, enrolment: Enrolment, month: datetime.date
) -> tuple[EnrolmentFacts, HouseholdFacts]:
    """The engine's snapshot of one enrolment and its household as of a month (any month).

    Outside the enrolment's months, or past the end of its gradual exit, it is not in force and
    its facts say so (status stopped), so the engine pays nothing.
    """
    month = first_of_month(month)
    household = (
        household_facts(household_ids=[enrolment.household_id], month=month)
        .get(enrolment.household_id, HouseholdFacts(enrolment.household_id, ()))
        ._replace(coverage=coverage_in_month(household_id=enrolment.household_id, month=month))
    )
    in_force = enrolment.start_month <= month and (
        enrolment.end_month is None or month <= enrolment.end_month
    )
    status = status_in_month(
        status=enrolment.status,
        gradual_exit_from=enrolment.gradual_exit_from,
        gradual_exit_until=enrolment.gradual_exit_until,
        month=month,
    )
    facts = EnrolmentFacts(
        enrolment_id=enrolment.pk,
        category=enrolment.category,
        member_id=enrolment.member_id,
        care_level=enrolment.care_level,
        status=status if in_force else STOPPED,
        gradual_exit_amount=enrolment.gradual_exit_amount,
        gradual_exit_from=enrolment.gradual_exit_from,
        gradual_exit_until=enrolment.gradual_exit_until,
    )
    return facts, household


def explain_enrolment(*, enrolment: Enrolment, month: datetime.date) -> Result:
    """Why this enrolment gets this amount in this month: the engine run on that month's facts
    and the parameters in force then."""
    enrolment_facts, household = facts_for_enrolment(enrolment=enrolment, month=month)
    params = resolve_parameters(region_code=enrolment.region_code, month=month)
    return compute_amount(enrolment_facts, household, params)


def explain_price_subsidy(*, enrolment: Enrolment, month: datetime.date) -> Result | None:
    """The month's price subsidy for this enrolment, when its city's recorded CPI triggers it."""
    cpi = cpi_rise_for(region_code=enrolment.region_code, month=month)
    if cpi is None:
        return None
    enrolment_facts, household = facts_for_enrolment(enrolment=enrolment, month=month)
    params = resolve_parameters(region_code=enrolment.region_code, month=month)
    return price_subsidy(enrolment_facts, household, params, cpi)
