"""Month and working-day arithmetic. Months are represented by their first day."""

import datetime


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
