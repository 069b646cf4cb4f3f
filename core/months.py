"""Month arithmetic, and moments as users read them. A month is represented by its first day
(a ``datetime.date``)."""

import datetime

from django.utils import timezone


def first_of_month(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def add_months(month: datetime.date, months: int) -> datetime.date:
    """The first day of the month ``months`` after (or before, when negative) ``month``."""
    index = month.year * 12 + month.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def next_month(day: datetime.date) -> datetime.date:
    return add_months(first_of_month(day), 1)


def month_end(month: datetime.date) -> datetime.date:
    """The last day of the month ``month`` lies in."""
    return add_months(first_of_month(month), 1) - datetime.timedelta(days=1)


def parse_month(text: str) -> datetime.date:
    """``YYYY-MM`` → the month's first day; ValueError for anything else."""
    return datetime.datetime.strptime(text, "%Y-%m").date()


def format_month(month: datetime.date) -> str:
    """The month as ``YYYY-MM``."""
    return month.strftime("%Y-%m")


def local_time(moment: datetime.datetime) -> datetime.datetime:
    """The moment in the bureaus' time zone (settings.TIME_ZONE, Asia/Shanghai): the database
    hands back UTC, which no user should see."""
    return timezone.localtime(moment, timezone.get_default_timezone())


def local_time_text(moment: datetime.datetime) -> str:
    """A moment written for users, in exports and messages: ``2024-09-01 04:30:00+08:00``."""
    return local_time(moment).isoformat(sep=" ", timespec="seconds")
