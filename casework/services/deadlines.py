"""Casework deadlines counted in working days (DOMAIN.md "Working days"): the township's review
opinion, the approval decision, the public notice and a pay-first case's documents.

A deadline is stored as a date field (``step_due``, ``notice_ends``, ``documents_due``, which the
overdue lists filter on) with three companions: ``<field>_from`` and ``<field>_days`` (what it
was counted from, and how many working days) and ``<field>_provisional``. A deadline counted
through a year whose calendar is not confirmed counts Monday to Friday there and is provisional;
when an administrator enters or corrects a year, ``recount_deadlines`` (registered with
``rules.calendar.on_calendar_change``) counts again every open deadline that crosses it.
"""

import datetime

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from casework.models import CLOSED_STATES, Application, CaseState, ReliefCase
from core.workdays import add_working_days
from rules.calendar import deadline, work_calendar

# (model, deadline field, the rows whose deadline still matters)
OPEN_DEADLINES = (
    (Application, "step_due", ~Q(state__in=CLOSED_STATES)),
    (Application, "notice_ends", Q(state=CaseState.PUBLIC_NOTICE)),
    (ReliefCase, "documents_due", Q(pay_first=True, documents_completed_at__isnull=True)),
)


def set_deadline(row: models.Model, field: str, *, start: datetime.date, days: int) -> None:
    """Set ``row.<field>`` to ``days`` working days after ``start`` (the caller saves)."""
    counted = deadline(start=start, days=days)
    setattr(row, field, counted.due)
    setattr(row, f"{field}_from", start)
    setattr(row, f"{field}_days", days)
    setattr(row, f"{field}_provisional", counted.provisional)


def clear_deadline(row: models.Model, field: str) -> None:
    for suffix, empty in (("", None), ("_from", None), ("_days", None), ("_provisional", False)):
        setattr(row, f"{field}{suffix}", empty)


def deadline_text(day: datetime.date, *, provisional: bool) -> str:
    """A deadline as users read it: a provisional one says so."""
    if provisional:
        return str(_("%(date)s（暂定：该年节假日安排尚未录入，暂按周一至周五计算）")) % {
            "date": day.isoformat()
        }
    return day.isoformat()


def recount_deadlines(years: frozenset[int]) -> int:
    """Count again every open deadline that crosses one of ``years`` (whose calendar was just
    entered or corrected). Returns the number of deadlines that changed."""
    first, last = min(years), max(years)
    changed = 0
    for model, field, still_open in OPEN_DEADLINES:
        rows = list(
            model.objects.filter(
                still_open,
                **{
                    f"{field}_from__isnull": False,
                    f"{field}_from__year__lte": last,
                    f"{field}__year__gte": first,
                },
            )
        )
        if not rows:
            continue
        calendar = work_calendar(
            first_year=min(getattr(row, f"{field}_from").year for row in rows),
            last_year=max(getattr(row, field).year for row in rows) + 1,
        )
        updated = []
        for row in rows:
            counted = add_working_days(
                getattr(row, f"{field}_from"), getattr(row, f"{field}_days"), calendar
            )
            if (counted.due, counted.provisional) != (
                getattr(row, field),
                getattr(row, f"{field}_provisional"),
            ):
                setattr(row, field, counted.due)
                setattr(row, f"{field}_provisional", counted.provisional)
                updated.append(row)
        model.objects.bulk_update(updated, [field, f"{field}_provisional"], batch_size=500)
        changed += len(updated)
    return changed
