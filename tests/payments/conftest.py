import datetime
from decimal import Decimal

import pytest

from tests.factories import EnrolmentFactory, HouseholdFactory, IncomeItemFactory, MemberFactory

AUGUST = datetime.date(2024, 8, 1)


def make_household(village, incomes: list[Decimal], *, category: str = "dibao", **enrolment):
    """A household with one member per income (the first is the head), enrolled from January."""
    household = HouseholdFactory(village=village)
    for n, income in enumerate(incomes):
        member = MemberFactory(household=household, relation="head" if n == 0 else "child")
        if income:
            IncomeItemFactory(member=member, monthly_amount=income)
    return EnrolmentFactory(household=household, category=category, **enrolment)


@pytest.fixture
def caseload(regions, settings):
    """Seven dibao households across three villages of 京口区, in chunks of three enrolments."""
    settings.PAYROLL_CHUNK_SIZE = 3
    villages = [regions["village_a1"], regions["village_a2"], regions["village_b1"]]
    incomes = [
        [Decimal("900"), Decimal("0"), Decimal("0")],
        [Decimal("0")],
        [Decimal("1200"), Decimal("300")],
        [Decimal("0"), Decimal("0")],
        [Decimal("2000")],
        [Decimal("500"), Decimal("0"), Decimal("100"), Decimal("0")],
        [Decimal("0"), Decimal("0"), Decimal("0")],
    ]
    return [make_household(villages[n % 3], amounts) for n, amounts in enumerate(incomes)]


@pytest.fixture(autouse=True)
def eager_celery(request):
    """Tasks run in-process, except in tests that exercise a real worker (marked ``broker``)."""
    if "broker" in request.keywords:
        yield
        return
    from config.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = eager
