"""The engine's facts of one enrolment in a month, read from the registry and the enrolment, and
the explanation of its amount. The batch reads the same facts in bulk (payments.payroll_io); a
test keeps the two readers in step."""

import datetime
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Q, QuerySet

from beneficiaries.models import COUNTED_INCOME, DEDUCTED_COSTS, IncomeItem, Member
from beneficiaries.selectors import CONDITION_FIELDS, conditions_in_force
from casework.models import Enrolment
from casework.selectors import coverage_in_month
from core.months import first_of_month, month_end
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


def member_facts(
    *,
    member_id: int,
    birth_date: datetime.date,
    month: datetime.date,
    incomes: Iterable[tuple[str, Decimal]],
    serious_illness: bool = False,
    disability_grade: int | None = None,
    disability_category: str = "",
    care_level: str = "",
) -> MemberFacts:
    """A member's facts for a month: age on the 1st; counted income minus deductible costs; the
    health facts in force in the month (beneficiaries.models.MemberCondition).

    ``incomes`` are (type, monthly amount) of the items valid in the month; types that are not
    counted (scholarships, other assistance, …) are ignored.
    """
    counted = Decimal(0)
    for income_type, amount in incomes:
        if income_type in COUNTED_INCOME:
            counted += amount
        elif income_type in DEDUCTED_COSTS:
            counted -= amount
    return MemberFacts(
        member_id=member_id,
        age=age_on(birth_date, month),
        counted_income=counted,
        serious_illness=serious_illness,
        disability_grade=disability_grade,
        disability_category=disability_category or "",
        care_level=care_level or "",
    )


def household_members_in_month(*, household_id: int, month: datetime.date) -> QuerySet:
    """Members living in the household on the month's first day (alive, not yet moved out,
    already moved in)."""
    return (
        Member.objects.filter(household_id=household_id)
        .filter(Q(is_alive=True) | Q(death_date__gte=month))
        .filter(Q(is_active=True) | Q(moved_out__moved_on__gt=month))
        .exclude(moved_in__moved_on__gt=month)
    )


def facts_for_enrolment(
    *, enrolment: Enrolment, month: datetime.date
) -> tuple[EnrolmentFacts, HouseholdFacts]:
    """The engine's snapshot of one enrolment and its household as of a month (any month).

    Outside the enrolment's months, or past the end of its gradual exit, it is not in force and
    its facts say so (status stopped), so the engine pays nothing.
    """
    month = first_of_month(month)
    members = list(
        household_members_in_month(household_id=enrolment.household_id, month=month).values(
            "id", "birth_date", "serious_illness", "disability_grade", "disability_category"
        )
    )
    incomes = defaultdict(list)
    items = IncomeItem.objects.filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=month),
        member_id__in=[m["id"] for m in members],
        valid_from__lte=month_end(month),
    ).values_list("member_id", "type", "monthly_amount")
    for member_id, income_type, amount in items:
        incomes[member_id].append((income_type, amount))
    # The health facts in force in the month, where a change was recorded (else the Member row's).
    for member_id, condition in conditions_in_force(
        member_ids=[m["id"] for m in members], month=month
    ).items():
        m = next(m for m in members if m["id"] == member_id)
        m.update(zip(CONDITION_FIELDS, condition, strict=True))
    household = HouseholdFacts(
        household_id=enrolment.household_id,
        members=tuple(
            member_facts(
                member_id=m["id"],
                birth_date=m["birth_date"],
                month=month,
                incomes=incomes[m["id"]],
                serious_illness=m["serious_illness"],
                disability_grade=m["disability_grade"],
                disability_category=m["disability_category"],
                care_level=m.get("care_level", ""),
            )
            for m in members
        ),
        coverage=coverage_in_month(household_id=enrolment.household_id, month=month),
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
