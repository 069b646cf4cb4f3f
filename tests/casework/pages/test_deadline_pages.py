"""The caseworker's deadlines: steps past their deadline with the working days they are late,
steps due this week with the working days left, and the reviews due by today or by the month's
end, each list counting what the home shows."""

import datetime
import zoneinfo

import time_machine
from django.test import Client

from casework.models import Application, CaseState
from core.workdays import WorkCalendar, working_days_between
from rules.calendar import load_calendar_seed
from tests.web.conftest import Workday

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_working_days_late_skip_the_weekend_and_public_holidays():
    national_day = frozenset(datetime.date(2026, 10, d) for d in range(1, 8))
    calendar = WorkCalendar(national_day, frozenset({datetime.date(2026, 10, 10)}), {2026})
    # Due on Wednesday 30 September: Thursday 8 and Friday 9 October are the first working days.
    assert (
        working_days_between(datetime.date(2026, 9, 30), datetime.date(2026, 10, 9), calendar) == 2
    )
    # The make-up Saturday counts.
    assert (
        working_days_between(datetime.date(2026, 9, 30), datetime.date(2026, 10, 10), calendar) == 3
    )
    assert (
        working_days_between(datetime.date(2026, 10, 9), datetime.date(2026, 10, 9), calendar) == 0
    )


def test_the_overdue_list_shows_the_townships_late_steps(workday: Workday):
    response = signed_in(workday.users["caseworker"]).get("/casework/deadlines/")
    assert response.status_code == 200
    assert response.context["count"] == 1
    page = response.content.decode()
    assert "周home_visit" in page
    assert "沈十二" not in page  # town B's late case
    (row,) = response.context["table"].rows
    assert row.pk == workday.applications["home_visit"].pk


def test_the_days_late_are_counted_with_the_calendar(workday: Workday):
    load_calendar_seed()
    client = signed_in(workday.users["caseworker"])
    # Due the day before National Day 2026, seen on Friday 9 October: two working days late.
    Application.objects.filter(pk=workday.applications["home_visit"].pk).update(
        step_due=datetime.date(2026, 9, 30)
    )
    with time_machine.travel(datetime.datetime(2026, 10, 9, 10, tzinfo=SHANGHAI), tick=False):
        response = client.get("/casework/deadlines/")
    (row,) = response.context["table"].rows
    assert row.days_late == 2


def test_the_week_list_shows_the_townships_steps_due_this_week(workday: Workday):
    today = workday.today
    # Town B's step at home visit is due today too; a refused case's old deadline does not count.
    Application.objects.filter(household__head__name="蒋十一").update(step_due=today)
    Application.objects.filter(pk=workday.applications["refused"].pk).update(step_due=today)
    client = signed_in(workday.users["caseworker"])
    home = client.get("/home/")
    (shown,) = [
        count
        for section in home.context["worklist"].sections
        for count in section.counts
        if str(count.label) == "本周内到期的办理环节"
    ]
    assert shown.url == "/casework/deadlines/this-week/"
    response = client.get(shown.url)
    assert response.status_code == 200
    assert response.context["count"] == shown.value == len(response.context["table"].rows) == 1
    (row,) = response.context["table"].rows
    assert row.pk == workday.applications["economic_check"].pk
    assert row.days_left == 0  # due today
    page = response.content.decode()
    assert "周economic_check" in page
    assert "蒋十一" not in page
    assert "周home_visit" not in page  # late, on the overdue list
    assert "冯七" not in page


def test_the_working_days_left_this_week_skip_public_holidays(workday: Workday):
    load_calendar_seed()
    # Seen on Tuesday 29 September 2026, due on Sunday 4 October: National Day runs from the
    # 1st, so Wednesday the 30th is the one working day left (Monday to Friday would give 3).
    Application.objects.filter(pk=workday.applications["economic_check"].pk).update(
        step_due=datetime.date(2026, 10, 4)
    )
    Application.objects.filter(pk=workday.applications["submitted"].pk).update(
        step_due=datetime.date(2026, 10, 5)  # next week
    )
    client = signed_in(workday.users["caseworker"])
    with time_machine.travel(datetime.datetime(2026, 9, 29, 10, tzinfo=SHANGHAI), tick=False):
        response = client.get("/casework/deadlines/this-week/")
    (row,) = response.context["table"].rows
    assert (row.pk, row.state, row.days_left) == (
        workday.applications["economic_check"].pk,
        CaseState.ECONOMIC_CHECK,
        1,
    )


def test_the_reviews_due_list_by_today_and_by_the_month_end(workday: Workday):
    client = signed_in(workday.users["caseworker"])
    month = client.get("/casework/reviews-due/", {"until": "month"})
    assert month.context["count"] == 2
    today = client.get("/casework/reviews-due/", {"until": "today"})
    assert today.context["count"] in (1, 2)  # 2 when today is the month's last day
    assert "郑六" in today.content.decode()


def test_the_deadline_pages_are_for_caseworkers(workday: Workday):
    auditor = signed_in(workday.users["auditor"])
    assert auditor.get("/casework/deadlines/").status_code == 403
    assert auditor.get("/casework/reviews-due/").status_code == 403
    assert auditor.get("/casework/deadlines/this-week/").status_code == 403
