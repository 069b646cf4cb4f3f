"""Working-day arithmetic for step deadlines."""

import datetime


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
