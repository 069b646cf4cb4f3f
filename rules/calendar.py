"""The working-day calendar as data (DOMAIN.md "Working days"): the days in force, entering a
year, and the seed loader.

Calendar packages lag the State Council's notice (it comes in November or December for the next
year), so the calendar is kept in the database, one ``CalendarYear`` per confirmed year with its
``CalendarPeriod`` lines:

* ``load_calendar_seed`` adds every year the pinned chinese-calendar package knows and the
  database does not (``load_seeds`` runs it); it never touches a year already there;
* an administrator enters (or corrects) a year from the notice through ``enter_year`` (the API
  and the admin), which confirms it;
* ``deadline`` counts working days (``core.workdays``): in a year that is not confirmed Monday
  to Friday count and the deadline is provisional — shown as such, never refused.

Other apps keep deadlines counted from it: they register a listener with ``on_calendar_change``
(from their ``AppConfig.ready``) and recount when a year is entered or corrected.
"""

import datetime
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import chinese_calendar
from chinese_calendar.constants import Holiday
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import User
from core import policy
from core.exceptions import DomainError
from core.permissions import has_role
from core.workdays import Deadline, WorkCalendar, add_working_days
from rules.models import CalendarPeriod, CalendarYear

# The administrators enter the calendar from the State Council's notice.
CALENDAR_KEEPERS = policy.roles_for("calendar-year", safe=False)
FIRST_YEAR, LAST_YEAR = 2000, 2099
SEED_SOURCE = f"chinese-calendar {chinese_calendar.__version__}"
CHINESE_NAMES = {holiday.value: holiday.chinese for holiday in Holiday}

_listeners: list[Callable[[frozenset[int]], None]] = []


def on_calendar_change(listener: Callable[[frozenset[int]], None]) -> None:
    """Call ``listener(years)`` in the transaction that enters or corrects those years."""
    if listener not in _listeners:
        _listeners.append(listener)


@dataclass(frozen=True)
class Period:
    """One line of a notice, as entered: days off or a make-up working day."""

    kind: str
    first_day: datetime.date
    last_day: datetime.date
    name: str = ""

    def days(self) -> list[datetime.date]:
        span = (self.last_day - self.first_day).days
        return [self.first_day + datetime.timedelta(days=n) for n in range(span + 1)]


def work_calendar(*, first_year: int, last_year: int) -> WorkCalendar:
    """The calendar of the confirmed years from ``first_year`` to ``last_year``."""
    years = frozenset(
        CalendarYear.objects.filter(year__gte=first_year, year__lte=last_year).values_list(
            "year", flat=True
        )
    )
    holidays, makeup_days = set(), set()
    for kind, first_day, last_day in CalendarPeriod.objects.filter(year__in=years).values_list(
        "kind", "first_day", "last_day"
    ):
        days = Period(kind, first_day, last_day).days()
        (holidays if kind == CalendarPeriod.Kind.HOLIDAY else makeup_days).update(days)
    return WorkCalendar(frozenset(holidays), frozenset(makeup_days), years)


def deadline(*, start: datetime.date, days: int) -> Deadline:
    """``days`` working days after ``start``, counted with the calendar in the database."""
    # At least 200 working days in a year: the years loaded always reach the deadline.
    return add_working_days(
        start, days, work_calendar(first_year=start.year, last_year=start.year + 1 + days // 200)
    )


def validate_year(*, year: int, periods: Iterable[Period]) -> None:
    """The rules a year's calendar must meet (also used by the admin form)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise DomainError(
            str(_("年份须在%(first)s到%(last)s之间")) % {"first": FIRST_YEAR, "last": LAST_YEAR},
            field="year",
        )
    seen: set[datetime.date] = set()
    periods = list(periods)
    if not any(period.kind == CalendarPeriod.Kind.HOLIDAY for period in periods):
        raise DomainError(_("请按国务院办公厅通知录入该年的放假安排"), field="periods")
    for period in periods:
        if period.kind not in CalendarPeriod.Kind.values:
            raise DomainError(_("未知的类型"), field="periods")
        if period.first_day > period.last_day:
            raise DomainError(
                str(_("%(first)s 晚于截止日期 %(last)s"))
                % {"first": period.first_day, "last": period.last_day},
                field="periods",
            )
        for day in period.days():
            if day.year != year:
                raise DomainError(
                    str(_("%(day)s 不在%(year)s年内")) % {"day": day, "year": year},
                    field="periods",
                )
            if day in seen:
                raise DomainError(str(_("%(day)s 重复录入")) % {"day": day}, field="periods")
            seen.add(day)
            if period.kind == CalendarPeriod.Kind.WORKDAY and day.weekday() < 5:
                raise DomainError(
                    str(_("%(day)s 不是周六或周日：调休上班日只能是周末")) % {"day": day},
                    field="periods",
                )


@transaction.atomic
def enter_year(*, year: int, periods: Iterable[Period], source: str, by: User) -> CalendarYear:
    """An administrator enters a year's public holidays and make-up working days from the State
    Council's notice (``source`` names it); the year is confirmed from then on. Entering a year
    again replaces its periods (a correction). Deadlines counted through it are recounted by the
    listeners, in the same transaction."""
    if not has_role(by, CALENDAR_KEEPERS):
        raise PermissionDenied(_("只有管理员可以录入节假日安排"))
    periods = list(periods)
    validate_year(year=year, periods=periods)
    if not source.strip():
        raise DomainError(_("请填写依据（如国务院办公厅通知的文号）"), field="source")
    entry = _store_year(year=year, periods=periods, source=source.strip(), by=by)
    _changed(frozenset({year}))
    return entry


def _store_year(*, year: int, periods: list[Period], source: str, by: User | None) -> CalendarYear:
    entry, _created = CalendarYear.objects.update_or_create(
        year=year, defaults={"source": source, "confirmed_by": by}
    )
    entry.periods.all().delete()
    CalendarPeriod.objects.bulk_create(
        CalendarPeriod(
            year=entry,
            kind=period.kind,
            first_day=period.first_day,
            last_day=period.last_day,
            name=period.name,
        )
        for period in periods
    )
    return entry


def _changed(years: frozenset[int]) -> None:
    for listener in _listeners:
        listener(years)


def package_periods() -> dict[int, list[Period]]:
    """The years the chinese-calendar package knows, as periods: consecutive days of one kind
    and one festival make one period."""
    days = [
        (day, CalendarPeriod.Kind.HOLIDAY, name)
        for day, name in chinese_calendar.constants.holidays.items()
    ] + [
        (day, CalendarPeriod.Kind.WORKDAY, name)
        for day, name in chinese_calendar.constants.workdays.items()
    ]
    days.sort()
    periods: dict[int, list[Period]] = {}
    # A run of consecutive days has a constant (day - position); a period stays in its year.
    runs = itertools.groupby(
        enumerate(days),
        key=lambda item: (
            item[1][0].year,
            item[1][1],
            item[1][2],
            item[1][0].toordinal() - item[0],
        ),
    )
    for (year, kind, name, _run), items in runs:
        run = [day for _position, (day, _kind, _name) in items]
        periods.setdefault(year, []).append(
            Period(kind, run[0], run[-1], CHINESE_NAMES.get(name, name))
        )
    return periods


@transaction.atomic
def load_calendar_seed() -> list[int]:
    """Add every year the package knows and the database does not; a year already there
    (seeded, or entered by an administrator) is left as it is. Returns the years added."""
    known = set(CalendarYear.objects.values_list("year", flat=True))
    added = []
    for year, periods in sorted(package_periods().items()):
        if year not in known:
            _store_year(year=year, periods=periods, source=SEED_SOURCE, by=None)
            added.append(year)
    if added:
        _changed(frozenset(added))
    return added
