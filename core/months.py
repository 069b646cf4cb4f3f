"""Month and working-day arithmetic, and moments as users read them. Months are represented by
their first day."""

import datetime

from django.utils import timezone


def first_of_month(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def add_months(month: datetime.date, months: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def next_month(day: datetime.date) -> datetime.date:
    return add_months(first_of_month(day), 1)


def add_working_days(start: datetime.date, days: int) -> datetime.date:
    """The date ``days`` working days after ``start``, skipping Saturdays and Sundays.

    Public holidays are not skipped: deadlines come out at most a few days early, never late.
    """
    day = start
    while days > 0:
        day += datetime.timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def local_time(moment: datetime.datetime) -> datetime.datetime:
    """The moment in the bureaus' time zone (settings.TIME_ZONE, Asia/Shanghai): the database
    hands back UTC, which no user should see."""
    return timezone.localtime(moment, timezone.get_default_timezone())


def local_time_text(moment: datetime.datetime) -> str:
    """A moment written for users, in exports and messages: ``2024-09-01 04:30:00+08:00``."""
    return local_time(moment).isoformat(sep=" ", timespec="seconds")
