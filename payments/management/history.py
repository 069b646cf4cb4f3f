"""Earlier months of a benchmark caseload: approved batches with their lines, explanations and
adjustments, built set-based (``bench_payroll --history-months N``).

The month before the timed one is computed for real (the batch services, real explanations) and
approved by two bench finance users; each earlier month is then one ``INSERT … SELECT`` of that
month's lines for the enrolments in force in it (an enrolment started later has no line before
its start), approved the same way, with the month's adjustments: a ``new`` one for each
enrolment that started in it, a ``review_confirmed`` one for each enrolment whose periodic review
fell in it (every 12 months from its start, every 6 for the able to work). History months carry
the amounts and explanations of the computed month: they have the shape of a city's past (its
rows, its indexes' size), not a recomputation of it.

Idempotent: an approved batch of a history month is kept as it is; a bench batch (draft,
computing, computed, failed) in its place is dropped and the month built.

The history is approved after the caseload was generated and its adjustments are dated in their
own months, so nothing in it reaches back into an approved month: the timed batch's back-pay step
reads the approved months of its window and finds nothing to correct, and the timed batch's
lines and total are those it has without history (a test checks it).
"""

import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from beneficiaries.models import Region, User
from casework.models import Adjustment, Enrolment, ReviewClass
from casework.selectors import enrolments_in_force
from core.months import add_months, first_of_month
from payments import batches, partitions
from payments.approval import approve_batch
from payments.models import FROZEN, PaymentBatch, PaymentLine
from payments.money import MoneySum
from rules.models import Standard
from rules.parameters import resolve_parameters

REASON = "bench_history"
# Where the caseload generator starts enrolments (seeds.caseload.EARLIEST_START): reviews are
# counted back no further.
EARLIEST_START = datetime.date(2015, 1, 1)
# The bench's new standard: the one in force before it, plus this (Zhenjiang's 2024 rise).
STANDARD_RISE = Decimal("35")
COPIED_KINDS = (PaymentLine.Kind.REGULAR, PaymentLine.Kind.PRICE_SUBSIDY)
COPIED_COLUMNS = (
    "kind",
    "enrolment_id",
    "household_id",
    "region_code",
    "category",
    "amount",
    "explanation_ref_id",
    "bank_name",
    "bank_account_holder",
    "bank_account_number",
)

ADJUSTMENT_COLUMNS = (
    "enrolment_id",
    "region_code",
    "kind",
    "reason_code",
    "reason_text",
    "effective_month",
    "amount_before",
    "amount_after",
    "proposed_by_id",
    "approved_by_id",
    "created_at",
)


@dataclass
class History:
    months: list[datetime.date]
    built: list[datetime.date] = field(default_factory=list)
    lines: int = 0
    adjustments: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class BenchUsers:
    maker: User  # finance: prepares the batches
    checker: User  # finance: approves them
    caseworker: User  # proposes the adjustments
    approver: User  # approves the ones that need it


def bench_users(region: Region) -> BenchUsers:
    def user(name: str, role: str) -> User:
        found, _ = User.objects.get_or_create(
            username=f"bench-{name}-{region.code[:6]}", defaults={"role": role, "region": region}
        )
        return found

    return BenchUsers(
        maker=user("maker", User.Role.FINANCE),
        checker=user("checker", User.Role.FINANCE),
        caseworker=user("caseworker", User.Role.CASEWORKER),
        approver=user("approver", User.Role.COUNTY_APPROVER),
    )


def history_months(month: datetime.date, count: int) -> list[datetime.date]:
    """The ``count`` months before ``month``, oldest first."""
    return [add_months(first_of_month(month), -k) for k in range(count, 0, -1)]


def build_history(
    *,
    region: Region,
    month: datetime.date,
    months: int,
    compute: Callable[[PaymentBatch], PaymentBatch],
    drop: Callable[[Region, datetime.date], None],
) -> History:
    """Make sure the ``months`` months before ``month`` have approved batches for the region.

    ``compute`` computes a new draft batch and returns it computed (inline, or queued to the
    workers and waited for); ``drop`` removes a bench batch of a month (bench_payroll.drop_batch).
    """
    history = History(months=history_months(month, months))
    if not months:
        return history
    started = time.perf_counter()
    partitions.ensure_months(history.months)
    users = bench_users(region)
    existing = {
        b.month: b for b in PaymentBatch.objects.filter(region=region, month__in=history.months)
    }
    latest = history.months[-1]
    seed = existing.get(latest)
    if seed is None or seed.status not in FROZEN:
        if seed is not None:
            drop(region, latest)
        seed = compute(batches.create_batch(region=region, month=latest, by=users.maker))
        if seed.status != PaymentBatch.Status.COMPUTED:
            raise RuntimeError(f"history month {latest:%Y-%m}: batch {seed.pk} is {seed.status}")
        with transaction.atomic():
            seed = approve_batch(batch=seed, by=users.checker)
            history.adjustments += _add_adjustments(batch=seed, users=users)
        history.built.append(latest)
        history.lines += seed.line_count
    for earlier in history.months[:-1]:
        batch = existing.get(earlier)
        if batch is not None and batch.status in FROZEN:
            continue
        if batch is not None:
            drop(region, earlier)
        with transaction.atomic():
            batch, lines = _copy_month(seed=seed, month=earlier, users=users)
            history.adjustments += _add_adjustments(batch=batch, users=users)
        history.built.append(earlier)
        history.lines += lines
    history.seconds = time.perf_counter() - started
    return history


def _copy_month(
    *, seed: PaymentBatch, month: datetime.date, users: BenchUsers
) -> tuple[PaymentBatch, int]:
    """An approved batch for ``month`` with the seed batch's lines of the enrolments in force
    in it; approved when the seed was (so after the caseload was recorded)."""
    batch = PaymentBatch.objects.create(
        region=seed.region,
        month=month,
        status=PaymentBatch.Status.COMPUTED,
        prepared_by=users.maker,
    )
    in_force, params = (
        enrolments_in_force(region_prefix=seed.region.prefix, month=month)
        .order_by()
        .values("id")
        .query.sql_with_params()
    )
    lines = PaymentLine._meta.db_table
    copied = ", ".join(f"l.{column}" for column in COPIED_COLUMNS)
    kinds = ", ".join(["%s"] * len(COPIED_KINDS))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {lines} (batch_id, month, source_ref, status, failure_reason, "
            f"{', '.join(COPIED_COLUMNS)}) "
            f"SELECT %s, %s, '', %s, '', {copied} FROM {lines} l "
            f"WHERE l.batch_id = %s AND l.month = %s AND l.kind IN ({kinds}) "
            f"AND l.enrolment_id IN ({in_force}) ORDER BY l.id",
            [
                batch.pk,
                month,
                PaymentLine.Status.PENDING,
                seed.pk,
                seed.month,
                *COPIED_KINDS,
                *params,
            ],
        )
    totals = PaymentLine.objects.filter(batch=batch, month=month).aggregate(
        count=Count("pk"), total=MoneySum("amount")
    )
    count, total = totals["count"] or 0, totals["total"] or Decimal("0.00")
    PaymentBatch.objects.filter(pk=batch.pk).update(line_count=count, total_amount=total)
    PaymentBatch.objects.filter(pk=batch.pk).update(
        status=PaymentBatch.Status.APPROVED,
        approved_by=users.checker,
        approved_at=seed.approved_at,
        updated_at=timezone.now(),
    )
    batch.refresh_from_db()
    return batch, count


def _add_adjustments(*, batch: PaymentBatch, users: BenchUsers) -> int:
    """The month's adjustments, from its regular lines: ``new`` for the enrolments that started
    in it (proposed and approved), ``review_confirmed`` for those reviewed in it. Dated in the
    month (its 10th, 10:00 in Shanghai)."""
    month = batch.month
    yearly = _every(month, 12)
    half_yearly = [m for m in _every(month, 6) if m not in yearly]
    created = timezone.make_aware(datetime.datetime.combine(month, datetime.time(10)))
    created += datetime.timedelta(days=9)
    adjustments, enrolments = Adjustment._meta.db_table, Enrolment._meta.db_table
    lines = PaymentLine._meta.db_table
    marks = ", ".join(["%s"] * len(yearly)) or "NULL"
    half_marks = ", ".join(["%s"] * len(half_yearly)) or "NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {adjustments} ({', '.join(ADJUSTMENT_COLUMNS)}) "
            "SELECT e.id, e.region_code, CASE WHEN e.start_month = %s THEN %s ELSE %s END, %s, %s, "
            "%s, CASE WHEN e.start_month = %s THEN NULL ELSE l.amount END, l.amount, %s, "
            "CASE WHEN e.start_month = %s THEN %s END, %s "
            f"FROM {lines} l JOIN {enrolments} e ON e.id = l.enrolment_id "
            "WHERE l.batch_id = %s AND l.kind = %s AND (e.start_month = %s "
            f"OR e.start_month IN ({marks}) "
            f"OR (e.review_class = %s AND e.start_month IN ({half_marks}))) "
            "ORDER BY l.id",
            [
                month,
                Adjustment.Kind.NEW,
                Adjustment.Kind.REVIEW_CONFIRMED,
                REASON,
                "基准测试生成的历史记录",
                month,
                month,
                users.caseworker.pk,
                month,
                users.approver.pk,
                created,
                batch.pk,
                PaymentLine.Kind.REGULAR,
                month,
                *yearly,
                ReviewClass.ABLE_TO_WORK,
                *half_yearly,
            ],
        )
        return cursor.rowcount


def _every(month: datetime.date, period: int) -> list[datetime.date]:
    """The start months whose review, every ``period`` months, falls in ``month``."""
    found, start = [], add_months(month, -period)
    while start >= EARLIEST_START:
        found.append(start)
        start = add_months(start, -period)
    return found


def ensure_new_standard(*, region: Region, month: datetime.date) -> Standard | None:
    """Make ``month`` the first month of a new standard for the region: a row of the component
    ``standard`` effective then (the one in force before plus STANDARD_RISE) unless the region
    has one. Returns the row added, or None."""
    if Standard.objects.filter(region=region, component="standard", effective_from=month).exists():
        return None
    before = resolve_parameters(region_code=region.code, month=month).value("standard")
    return Standard.objects.create(
        region=region,
        component="standard",
        value=Decimal(before) + STANDARD_RISE,
        effective_from=month,
        note="bench_payroll --history-months: a new standard for the timed month (demo value)",
    )
