"""Casework deadlines count working days with the calendar as data: public holidays skipped,
make-up days worked, provisional (never refused) in a year not yet confirmed, recounted when an
administrator enters the year."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from rest_framework.test import APIClient

from beneficiaries.models import User
from casework import selectors
from casework.models import Application, CaseState
from casework.services import applications, temporary_relief
from core.exceptions import Conflict
from rules.calendar import Period, enter_year, load_calendar_seed
from tests.factories import HouseholdFactory, MemberFactory

D = datetime.date
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def at(day: datetime.date, hour: int = 10) -> time_machine.travel:
    return time_machine.travel(
        datetime.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)
    )


@pytest.fixture
def calendar_seeded(db):
    """The years chinese-calendar 1.11.0 knows: 2004 to 2026."""
    load_calendar_seed()


@pytest.fixture
def administrator(regions, make_user):
    return make_user("admin", regions["jiangsu"], username="js-admin")


def submit(household, caseworker):
    return applications.submit_application(household=household, category="dibao", by=caseworker)


def pay_first_relief(household, caseworker):
    """A pay-first relief case, approved by a second caseworker of the township."""
    relief = temporary_relief.propose_relief(
        household=household,
        kind="emergency",
        cause="disaster",
        need="房屋受损",
        proposed_amount=Decimal("1500"),
        pay_first=True,
        by=caseworker,
    )
    colleague = User.objects.create_user(
        username=f"colleague-{relief.pk}", role="caseworker", region=caseworker.region
    )
    return temporary_relief.decide_relief(relief=relief, approve=True, by=colleague)


def walk_to_notice(application, caseworker):
    for target in ("home_visit", "economic_check", "township_review", "public_notice"):
        applications.move_application(application=application, to=target, by=caseworker)
    application.refresh_from_db()
    return application


@at(D(2025, 9, 26))
def test_the_review_deadline_of_a_case_taken_before_national_day_skips_the_holiday(
    calendar_seeded, household, family, caseworker
):
    application = submit(household, caseworker)
    # 15 working days from Friday 26 September 2025: Sunday 28 September and Saturday 11 October
    # are worked, 1 to 8 October are off (weekends only would give 17 October).
    assert (application.step_due, application.step_due_provisional) == (D(2025, 10, 23), False)


def test_the_overdue_list_follows_the_calendar(calendar_seeded, household, family, caseworker):
    with at(D(2025, 9, 26)):
        application = submit(household, caseworker)
    assert not selectors.overdue_applications(user=caseworker, today=D(2025, 10, 20)).exists()
    assert not selectors.overdue_applications(user=caseworker, today=D(2025, 10, 23)).exists()
    assert list(selectors.overdue_applications(user=caseworker, today=D(2025, 10, 24))) == [
        application
    ]


def test_the_notice_counts_working_days(calendar_seeded, household, family, caseworker):
    with at(D(2025, 9, 29)):
        application = walk_to_notice(submit(household, caseworker), caseworker)
    # 7 working days from Monday 29 September 2025: 30 September, 9, 10, 11 (Saturday), 13, 14
    # and 15 October.
    assert (application.notice_ends, application.notice_ends_provisional) == (
        D(2025, 10, 15),
        False,
    )
    assert application.step_due is None
    with at(D(2025, 10, 14)), pytest.raises(Conflict) as refused:
        applications.move_application(application=application, to="approval", by=caseworker)
    assert "公示期至2025-10-15结束" in str(refused.value)
    with at(D(2025, 10, 15)):
        applications.move_application(application=application, to="approval", by=caseworker)
    application.refresh_from_db()
    # The decision: 10 working days from Wednesday 15 October.
    assert (application.step_due, application.step_due_provisional) == (D(2025, 10, 29), False)


@at(D(2026, 12, 21))
def test_a_case_in_a_year_not_confirmed_is_recorded_with_provisional_deadlines(
    calendar_seeded, household, family, caseworker
):
    application = submit(household, caseworker)
    # 2027 is not confirmed: 15 working days from Monday 21 December 2026 counting Monday to
    # Friday there, New Year's Day included.
    assert (application.step_due, application.step_due_provisional) == (D(2027, 1, 11), True)
    response = APIClient()
    response.force_authenticate(caseworker)
    data = response.get(f"/api/applications/{application.pk}/").data
    assert (data["step_due"], data["step_due_provisional"]) == ("2027-01-11", True)


def test_entering_the_year_recounts_the_open_deadlines_that_cross_it(
    calendar_seeded, household, family, caseworker, administrator, regions
):
    with at(D(2026, 12, 21)):
        open_case = submit(household, caseworker)
        in_notice = walk_to_notice(
            applications.submit_application(
                household=household, category="single_dibao", member=family["child"], by=caseworker
            ),
            caseworker,
        )
        other = HouseholdFactory(village=regions["village_a2"])
        MemberFactory(household=other)
        closed = submit(other, caseworker)
        applications.move_application(application=closed, to="withdrawn", by=caseworker)
        relief = pay_first_relief(household, caseworker)
    assert in_notice.notice_ends == D(2026, 12, 30)  # inside 2026: not provisional
    assert (relief.documents_due, relief.documents_due_provisional) == (D(2027, 1, 4), True)
    # An illustrative 2027 notice: 1 to 3 January off, Saturday 6 February worked.
    enter_year(
        year=2027,
        periods=[
            Period("holiday", D(2027, 1, 1), D(2027, 1, 3), "元旦"),
            Period("workday", D(2027, 2, 6), D(2027, 2, 6), "春节"),
        ],
        source="国办发明电〔2026〕8号",
        by=administrator,
    )
    open_case.refresh_from_db()
    relief.refresh_from_db()
    in_notice.refresh_from_db()
    # 1 January is off: each deadline that counted it comes one working day later.
    assert (open_case.step_due, open_case.step_due_provisional) == (D(2027, 1, 12), False)
    assert (relief.documents_due, relief.documents_due_provisional) == (D(2027, 1, 5), False)
    assert in_notice.notice_ends == D(2026, 12, 30)
    assert Application.objects.get(pk=closed.pk).step_due is None


@at(D(2026, 12, 24))
def test_a_notice_ending_in_a_year_not_confirmed_says_its_end_is_provisional(
    calendar_seeded, household, family, caseworker
):
    application = walk_to_notice(submit(household, caseworker), caseworker)
    assert (application.notice_ends, application.notice_ends_provisional) == (D(2027, 1, 4), True)
    with pytest.raises(Conflict) as refused:
        applications.move_application(application=application, to="approval", by=caseworker)
    assert "2027-01-04（暂定" in str(refused.value)
    assert Application.objects.get(pk=application.pk).state == CaseState.PUBLIC_NOTICE


def test_pay_first_documents_are_due_in_working_days(calendar_seeded, household, caseworker):
    with at(D(2025, 9, 30)):
        relief = pay_first_relief(household, caseworker)
    # 10 working days from Tuesday 30 September 2025, past the National Day holiday.
    assert (relief.documents_due, relief.documents_due_provisional) == (D(2025, 10, 21), False)
    assert not selectors.relief_documents_overdue(user=caseworker, today=D(2025, 10, 21)).exists()
    assert list(selectors.relief_documents_overdue(user=caseworker, today=D(2025, 10, 22))) == [
        relief
    ]
