"""Monthly partitions of the payment lines (PostgreSQL; elsewhere every call is a no-op).

``payments_paymentline`` is partitioned by month (migration 0018, docs/payroll.md): each month's
lines and indexes are a table of their own, so a month's COPY fills small indexes of its own
instead of indexes spread over every month before it. A line of a month with no partition goes
to the DEFAULT partition, so no write ever fails for want of one; ``ensure_months`` makes the
missing months' partitions ahead of the writes (a batch created or planned: its month; the
closing step: the back-pay window's months; beat: the next twelve months) and moves any line of
such a month out of DEFAULT into its new partition in the same transaction.

Making a partition takes a SHARE UPDATE EXCLUSIVE lock on the lines (writers and readers go on)
and an exclusive lock on the DEFAULT partition, each month in a short transaction of its own: call
it outside long transactions. A month that cannot get its locks within LOCK_TIMEOUT is left for
the next call; its lines meanwhile go to DEFAULT.
"""

import datetime
import logging
from collections.abc import Iterable

from django.db import OperationalError, connection, transaction

from core.months import add_months, first_of_month

log = logging.getLogger(__name__)

LOCK_TIMEOUT = "2s"


def covered_months() -> list[tuple[datetime.date, datetime.date]]:
    """The [from, to) month ranges the partitions hold (not DEFAULT)."""
    with connection.cursor() as cursor:
        # MINVALUE and MAXVALUE read as ±infinity, which Python's dates do not have.
        cursor.execute(
            "SELECT greatest(from_month, '0001-01-01'), least(to_month, '9999-12-31') "
            "FROM payments_line_partitions()"
        )
        return cursor.fetchall()


def missing_months(months: Iterable[datetime.date]) -> list[datetime.date]:
    """Those of ``months`` (their first days) that no partition holds yet, in order."""
    ranges = covered_months()
    firsts = sorted({first_of_month(month) for month in months})
    return [m for m in firsts if not any(start <= m < end for start, end in ranges)]


def ensure_months(months: Iterable[datetime.date]) -> list[str]:
    """Make the partition of each of ``months`` that has none, each in its own transaction;
    returns the names of those made. Never raises for a lock it could not get in time: the
    month's lines then go to DEFAULT until a later call makes its partition and moves them."""
    if connection.vendor != "postgresql":
        return []
    made = []
    for month in missing_months(months):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT current_setting('lock_timeout')")
                before = cursor.fetchone()[0]
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_TIMEOUT])
                cursor.execute("SELECT payments_line_month_partition(%s)", [month])
                name = cursor.fetchone()[0]
                # Called inside a caller's transaction (a test), the setting would outlive it.
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [before])
        except OperationalError as error:
            log.warning("payment lines' partition of %s not made now: %s", month, error)
            continue
        if name:
            made.append(name)
    return made


def month_partition(month: datetime.date) -> str | None:
    """The name of ``month``'s own partition (made by ``ensure_months``) if it is attached to
    the lines and takes an insert naming it as the parent does (migration 0019: it has the
    parent's insert checks, and with them its ids), else None."""
    if connection.vendor != "postgresql":
        return None
    name = f"payments_paymentline_y{month.year:04d}m{month.month:02d}"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_inherits i JOIN pg_trigger t ON t.tgrelid = i.inhrelid "
            "AND t.tgname = 'payments_line_references_exist' "
            "WHERE i.inhparent = 'payments_paymentline'::regclass "
            "AND i.inhrelid = to_regclass(%s)",
            [name],
        )
        return name if cursor.fetchone() else None


def ensure_ahead(*, today: datetime.date, months: int = 12) -> list[str]:
    """The partitions of this month and the next ``months`` (beat, daily)."""
    first = first_of_month(today)
    return ensure_months(add_months(first, n) for n in range(months + 1))
