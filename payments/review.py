"""What finance reads before approving a batch (reads only).

Totals by category and district, and the difference from last
month — new, stopped and changed lines, each linked to the adjustment record behind it. The
difference is computed in the database (anti-joins on the enrolment), never in memory, so it
stays a pageable query for a batch of a million lines.

Counting a million lines takes seconds: ``summary`` counts them once and keeps the result
(``BatchReview``) for as long as neither batch's lines change; a batch still computing is
counted afresh each time.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Exists, F, Max, Min, OuterRef, QuerySet, Subquery
from django.db.models.functions import Substr

from beneficiaries.models import Region
from casework.models import Adjustment
from payments.models import BatchReview, PaymentBatch, PaymentLine
from payments.money import MoneySum

CHANGES = ("new", "stopped", "changed")
COUNTY_DIGITS = 6


@dataclass(frozen=True, slots=True)
class Total:
    key: str
    name: str
    line_count: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Summary:
    by_category: list[Total]
    by_district: list[Total]
    changes: dict[str, int]
    # The line ids of each change list of at most KEPT_IDS lines, in id order: its pages are
    # read by id (a few new or stopped lines would otherwise be searched for in the whole batch).
    ids: dict[str, list[int]] = field(default_factory=dict)


KEPT_IDS = 5000


# Lines are being written or replaced: nothing counted from them is kept.
UNSETTLED = (PaymentBatch.Status.DRAFT, PaymentBatch.Status.COMPUTING)


def previous_batch(*, batch: PaymentBatch) -> PaymentBatch | None:
    """The region's batch for the latest month before ``batch``'s."""
    return (
        PaymentBatch.objects.filter(region=batch.region, month__lt=batch.month)
        .order_by("-month")
        .first()
    )


def totals_by_category(*, batch: PaymentBatch) -> list[Total]:
    """Line count and amount per category and kind (corrections have no category)."""
    rows = (
        batch.lines.values("category", "kind")
        .annotate(line_count=Count("id"), amount=MoneySum("amount"))
        .order_by("category", "kind")
    )
    kinds = dict(PaymentLine.Kind.choices)
    return [
        Total(
            key=f"{row['category'] or '-'}/{row['kind']}",
            name=f"{row['category'] or '-'} {kinds[row['kind']]}",
            line_count=row["line_count"],
            amount=row["amount"],
        )
        for row in rows
    ]


def totals_by_district(*, batch: PaymentBatch) -> list[Total]:
    """Line count and amount per county (区/县), named from the region tree."""
    rows = (
        batch.lines.annotate(county=Substr("region_code", 1, COUNTY_DIGITS))
        .values("county")
        .annotate(line_count=Count("id"), amount=MoneySum("amount"))
        .order_by("county")
    )
    rows = list(rows)
    names = dict(
        Region.objects.filter(code__in=[row["county"].ljust(12, "0") for row in rows]).values_list(
            "code", "name"
        )
    )
    return [
        Total(
            key=row["county"],
            name=names.get(row["county"].ljust(12, "0"), row["county"]),
            line_count=row["line_count"],
            amount=row["amount"],
        )
        for row in rows
    ]


def _latest_adjustment(*, month: datetime.date) -> QuerySet[Adjustment]:
    return Adjustment.objects.filter(
        enrolment_id=OuterRef("enrolment_id"), effective_month__lte=month
    ).order_by("-effective_month", "-id")


def diff_lines(*, batch: PaymentBatch, change: str) -> QuerySet[PaymentLine]:
    """The regular lines that are new, stopped or changed since the previous month's batch.

    New and changed lines are lines of ``batch``; stopped lines are lines of the previous batch
    with no line in this one. Each carries ``previous_amount`` and the latest adjustment of its
    enrolment in force by the month (``adjustment_id``, ``adjustment_kind``,
    ``adjustment_reason``); a change with no adjustment comes from the parameters (compare
    ``parameter_versions``).
    """
    if change not in CHANGES:
        raise ValueError(change)
    previous = previous_batch(batch=batch)
    regular = PaymentLine.objects.filter(kind=PaymentLine.Kind.REGULAR)
    # A regular line pays its batch's month: naming it makes each probe of the other month one
    # entry of the unique (enrolment, kind, month) index, not every month of the enrolment.
    this_month = regular.filter(batch=batch, month=batch.month)
    # With no previous batch this matches nothing (batch IS NULL) yet stays a usable subquery.
    last_month = regular.filter(batch=previous, month=previous.month if previous else None)
    same_enrolment = last_month.filter(enrolment_id=OuterRef("enrolment_id"))
    if change == "stopped":
        lines = last_month.exclude(
            Exists(this_month.filter(enrolment_id=OuterRef("enrolment_id")))
        ).annotate(previous_amount=F("amount"))
    else:
        lines = this_month.annotate(previous_amount=Subquery(same_enrolment.values("amount")[:1]))
        if change == "new":
            lines = lines.filter(previous_amount__isnull=True)
        else:
            lines = lines.filter(previous_amount__isnull=False).exclude(amount=F("previous_amount"))
    adjustment = _latest_adjustment(month=batch.month)
    return (
        lines.annotate(
            adjustment_id=Subquery(adjustment.values("id")[:1]),
            adjustment_kind=Subquery(adjustment.values("kind")[:1]),
            adjustment_reason=Subquery(adjustment.values("reason_text")[:1]),
        )
        .select_related("explanation_ref")  # parameter_versions is read from it
        .order_by("id")
    )


def diff_counts(*, batch: PaymentBatch) -> dict[str, int]:
    """How many lines are new, stopped and changed since last month."""
    return {change: diff_lines(batch=batch, change=change).count() for change in CHANGES}


def _lines_key(*, batch: PaymentBatch, previous: PaymentBatch | None) -> str:
    """The first and last line id of the batch and of the previous one (index probes)."""
    parts = []
    for one in (batch, previous):
        if one is None:
            parts.append("-")
            continue
        ids = PaymentLine.objects.filter(batch=one).aggregate(first=Min("id"), last=Max("id"))
        parts.append(f"{one.pk}:{ids['first']}-{ids['last']}")
    return "/".join(parts)


def _as_json(summary: Summary) -> dict:
    def rows(totals: list[Total]) -> list[list]:
        return [[t.key, t.name, t.line_count, str(t.amount)] for t in totals]

    return {
        "by_category": rows(summary.by_category),
        "by_district": rows(summary.by_district),
        "changes": summary.changes,
        "ids": summary.ids,
    }


def _from_json(data: dict) -> Summary:
    def totals(rows: list[list]) -> list[Total]:
        return [Total(key, name, count, Decimal(amount)) for key, name, count, amount in rows]

    return Summary(
        totals(data["by_category"]),
        totals(data["by_district"]),
        data["changes"],
        data.get("ids", {}),
    )


def summary(*, batch: PaymentBatch) -> Summary:
    """The review's totals and change counts: kept from an earlier count of the same lines, or
    counted now (and kept, unless the batch is still computing)."""
    if batch.status in UNSETTLED:
        return _count(batch=batch)
    key, kept = _kept(batch=batch)
    for data in kept.values_list("summary", flat=True):
        return _from_json(data)
    counted = _count(batch=batch)
    BatchReview.objects.update_or_create(
        batch=batch, defaults={"lines_key": key, "summary": _as_json(counted)}
    )
    return counted


def _kept(*, batch: PaymentBatch) -> tuple[str, QuerySet[BatchReview]]:
    """The key of the batch's present lines and last month's, and its review kept under it."""
    key = _lines_key(batch=batch, previous=previous_batch(batch=batch))
    return key, BatchReview.objects.filter(batch=batch, lines_key=key)


def is_kept(*, batch: PaymentBatch) -> bool:
    """Whether the batch's review is kept for its present lines and last month's (its next read
    counts nothing)."""
    return batch.status not in UNSETTLED and _kept(batch=batch)[1].exists()


def keep_summary(*, batch_id: int) -> bool:
    """Count and keep a settled batch's review ahead of its first reading (a task after the
    batch closes); False for a batch gone or still computing."""
    batch = PaymentBatch.objects.filter(pk=batch_id).first()
    if batch is None or batch.status in UNSETTLED:
        return False
    summary(batch=batch)
    return True


def _count(*, batch: PaymentBatch) -> Summary:
    if connection.vendor == "postgresql":
        # A batch just computed adds 4-5 % of a city's lines after two years, below autovacuum's
        # threshold: without fresh statistics the planner takes its lines for one row and
        # anti-joins a month by nested loop (minutes). A sample: a second or two.
        # Only the table's owner may ANALYZE it: the app's role (core.dbroles) relies on the
        # table's autovacuum settings instead (payments migration 0016).
        table = PaymentLine._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class "
                "WHERE oid = %s::regclass",
                [table],
            )
            if cursor.fetchone()[0]:
                cursor.execute(f"ANALYZE {table}")
    changes, ids = {}, {}
    for change in CHANGES:
        lines = diff_lines(batch=batch, change=change)
        first = list(lines.values_list("id", flat=True)[: KEPT_IDS + 1])
        if len(first) <= KEPT_IDS:
            changes[change], ids[change] = len(first), first
        else:
            changes[change] = lines.count()
    return Summary(totals_by_category(batch=batch), totals_by_district(batch=batch), changes, ids)


class KeptLines(Sequence):
    """A change list whose line ids the review kept: a slice reads those lines by id."""

    def __init__(self, lines: QuerySet[PaymentLine], ids: list[int]):
        self.lines, self.ids = lines, ids

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        return list(self.lines.filter(id__in=self.ids[index]))
