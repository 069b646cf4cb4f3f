"""Working-day arithmetic for deadlines (DOMAIN.md "Working days"), over a calendar given as data.

A working day is Monday to Friday, less the public holidays, plus the make-up working Saturdays
and Sundays (调休) that the State Council announces for each year. Only a *confirmed* year has
those days; in a year that is not confirmed Monday to Friday count, and a deadline counted
through such a year is *provisional*: it is shown as such and recounted once the year is
confirmed, never refused. The calendar itself is kept in the database (``rules.calendar``).
"""

import datetime
from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True)
class WorkCalendar:
    """The public holidays and make-up working days of the confirmed years it holds."""

    holidays: frozenset[datetime.date] = frozenset()
    makeup_days: frozenset[datetime.date] = frozenset()
    confirmed_years: frozenset[int] = frozenset()

    def is_working_day(self, day: datetime.date) -> bool:
        if day in self.makeup_days:
            return True
        return day.weekday() < 5 and day not in self.holidays


class Deadline(NamedTuple):
    due: datetime.date
    # Counted through a year the calendar does not confirm: Monday to Friday only.
    provisional: bool


def add_working_days(
    start: datetime.date, days: int, calendar: WorkCalendar = WorkCalendar()
) -> Deadline:
    """The day ``days`` working days after ``start`` (which itself does not count)."""
    day = start
    provisional = False
    while days > 0:
        day += datetime.timedelta(days=1)
        provisional = provisional or day.year not in calendar.confirmed_years
        if calendar.is_working_day(day):
            days -= 1
    return Deadline(due=day, provisional=provisional)


def working_days_between(
    start: datetime.date, end: datetime.date, calendar: WorkCalendar = WorkCalendar()
) -> int:
    """The working days after ``start`` up to and including ``end`` (0 when ``end`` is not
    later): how many working days a deadline ``start`` is past on ``end``."""
    days = 0
    day = start
    while day < end:
        day += datetime.timedelta(days=1)
        days += calendar.is_working_day(day)
    return days


def end_of_week(day: datetime.date) -> datetime.date:
    """The Sunday of ``day``'s week (weeks run Monday to Sunday)."""
    return day + datetime.timedelta(days=6 - day.weekday())
