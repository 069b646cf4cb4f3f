"""Correction lines of a monthly batch: back pay, re-issues of failed transfers, recovery offsets.

DOMAIN.md, payment practice: a standard raised with a past effective date is back-paid for every
month it missed (and so is a CPI figure recorded or corrected after its month was approved); an
overpayment found later (death, hidden income) is recovered, by offset or repayment, and
recorded; a failed bank transfer is re-issued, never paid twice. The payroll
closing step calls ``correction_lines`` and bulk-inserts what it returns before the batch totals,
in the transaction that marks the batch computed, so a recomputed batch gets its corrections
afresh.
"""

import datetime
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Max, Q

from beneficiaries.models import (
    FACTS_SINCE,
    Household,
    IncomeItem,
    Member,
    MemberCondition,
    Region,
)
from casework.models import Adjustment, Enrolment
from casework.selectors import enrolments_in_force
from core.months import add_months, format_month, month_end
from payments import explanations, payroll_io
from payments.models import FROZEN, PaymentBatch, PaymentLine, Recovery
from payments.money import MoneySum
from rules.models import PriceIndex, Standard
from rules.parameters import resolve_parameters
from rules.selectors import cpi_rise_for

ZERO = Decimal("0.00")
# What a month's entitlement was granted by (its monthly amount, its price subsidy and back pay
# of either); re-issues and offsets only move money already due.
GRANTING_KINDS = (
    PaymentLine.Kind.REGULAR,
    PaymentLine.Kind.PRICE_SUBSIDY,
    PaymentLine.Kind.BACK_PAY,
)
CHUNK = 2000
log = logging.getLogger(__name__)


def correction_lines(*, batch: PaymentBatch) -> list[PaymentLine]:
    """The unsaved correction lines of ``batch``: back pay and re-issues, then recovery offsets.

    Recomputing past months may also record recoveries (overpayments), which the offsets then
    start to recover. Offsets come last because they are netted against everything else the
    household receives in the month, and never take that month below 0.
    """
    lines = back_pay_lines(batch=batch)
    lines += reissue_lines(batch=batch)
    lines += recovery_lines(batch=batch, pending=lines)
    return lines


def settled_months(*, batch: PaymentBatch) -> list[PaymentBatch]:
    """The region's approved (or later) batches of the months before ``batch``, within the
    back-pay window (the parameter ``back_pay_months`` in force for the batch's region and
    month)."""
    window = resolve_parameters(region_code=batch.region.code, month=batch.month).value(
        "back_pay_months"
    )
    return list(
        PaymentBatch.objects.filter(
            region=batch.region,
            status__in=FROZEN,
            approved_at__isnull=False,
            month__lt=batch.month,
            month__gte=add_months(batch.month, -int(window)),
        )
        .select_related("region")
        .order_by("month")
    )


@dataclass(frozen=True, slots=True)
class LateRecords:
    """What was recorded in the region since the earliest approval in the back-pay window, read
    once per batch (not once per month): (when recorded, the month it reaches back to, ids)."""

    adjustments: list[tuple[datetime.datetime, datetime.date, int]]
    enrolments: list[tuple[datetime.datetime, datetime.date, int]]
    households: list[tuple[datetime.datetime, datetime.date, int]]
    enrolments_of: dict[int, list[int]]


def late_records(*, region_prefix: str, since: datetime.datetime) -> LateRecords:
    adjustments = list(
        Adjustment.objects.filter(
            region_code__startswith=region_prefix, created_at__gt=since
        ).values_list("created_at", "effective_month", "enrolment_id")
    )
    enrolments = list(
        Enrolment.objects.filter(
            region_code__startswith=region_prefix, created_at__gt=since
        ).values_list("created_at", "start_month", "id")
    )
    # A death recorded late reaches back to the month of death, an income found to the month it
    # was valid from, a member's condition (illness, disability, self-care) to the month it took
    # effect from. Other edits of a member are not retroactive.
    households = (
        list(
            Member.objects.filter(
                household__region_code__startswith=region_prefix,
                updated_at__gt=since,
                is_alive=False,
            ).values_list("updated_at", "death_date", "household_id")
        )
        + list(
            IncomeItem.objects.filter(
                member__household__region_code__startswith=region_prefix, created_at__gt=since
            ).values_list("created_at", "valid_from", "member__household_id")
        )
        + list(
            MemberCondition.objects.filter(
                member__household__region_code__startswith=region_prefix,
                created_at__gt=since,
                effective_month__gt=FACTS_SINCE,  # the facts before a first change: unchanged
            ).values_list("created_at", "effective_month", "member__household_id")
        )
    )
    household_ids = sorted({household_id for _, _, household_id in households})
    enrolments_of: dict[int, list[int]] = defaultdict(list)
    for start in range(0, len(household_ids), CHUNK):
        for household_id, enrolment_id in Enrolment.objects.filter(
            household_id__in=household_ids[start : start + CHUNK]
        ).values_list("household_id", "id"):
            enrolments_of[household_id].append(enrolment_id)
    return LateRecords(adjustments, enrolments, households, enrolments_of)


def changed_since_approval(*, month_batch: PaymentBatch, late: LateRecords) -> set[int]:
    """Enrolments whose amount for ``month_batch``'s month may differ from what it paid.

    Whatever was recorded after the batch was approved and reaches back to its month: a standard
    with an effective date on or before the month (every enrolment it covers), the month's CPI
    figure recorded or corrected (every enrolment: the price subsidy may change), an adjustment or
    an enrolment effective by then (a change approved late), a death by then (recorded late), an
    income found that was valid in the month (hidden income) or a member's condition in force by
    then.
    """
    since, month, last_day = (
        month_batch.approved_at,
        month_batch.month,
        month_end(month_batch.month),
    )
    prefix = month_batch.region.prefix
    ids: set[int] = set()
    standards = Standard.objects.filter(created_at__gt=since, effective_from__lte=month)
    for code, level in standards.values_list("region__code", "region__level").distinct():
        standard_prefix = Region.prefix_of(code=code, level=level)
        if standard_prefix.startswith(prefix) or prefix.startswith(standard_prefix):
            scope = {"region_code__startswith": max(prefix, standard_prefix, key=len)}
            in_force = enrolments_in_force(region_prefix=prefix, month=month)
            ids.update(in_force.filter(**scope).values_list("id", flat=True))
            # A regular line pays its batch's month: that month's partition alone.
            paid = PaymentLine.objects.filter(
                batch=month_batch, month=month, kind=PaymentLine.Kind.REGULAR
            )
            ids.update(paid.filter(**scope).values_list("enrolment_id", flat=True))
    city = month_batch.region.code[:4].ljust(12, "0")
    cpi_changed = PriceIndex.objects.filter(
        Q(created_at__gt=since) | Q(corrections__created_at__gt=since),
        region__code=city,
        month=month,
    )
    if cpi_changed.exists():
        ids.update(
            enrolments_in_force(region_prefix=prefix, month=month).values_list("id", flat=True)
        )
        ids.update(
            PaymentLine.objects.filter(
                batch=month_batch,
                month=month,
                kind__in=(PaymentLine.Kind.REGULAR, PaymentLine.Kind.PRICE_SUBSIDY),
            ).values_list("enrolment_id", flat=True)
        )
    for records in (late.adjustments, late.enrolments):
        ids.update(i for when, reaches, i in records if when > since and reaches <= month)
    for when, reaches, household_id in late.households:
        if when > since and reaches <= last_day:
            ids.update(late.enrolments_of[household_id])
    ids.discard(None)
    return ids


def due_amounts(*, month_batch: PaymentBatch, enrolment_ids: list[int]) -> dict[int, tuple]:
    """Enrolment id → (amount, steps, versions, row) for the month under the parameters, the CPI
    figure and the facts in force now, computed exactly as the batch computes its lines: the
    monthly amount and, in a month whose CPI triggers it, the price subsidy, added up. Enrolments
    not in force in the month are absent: nothing is due for them."""
    from payments.lines import LineBuilder  # the batch's own line computation

    cpi = cpi_rise_for(region_code=month_batch.region.code, month=month_batch.month)
    builder = LineBuilder(batch=month_batch, cpi_rise_percent=cpi)
    in_force = enrolments_in_force(region_prefix=month_batch.region.prefix, month=month_batch.month)
    due = {}
    for start in range(0, len(enrolment_ids), CHUNK):
        ids = enrolment_ids[start : start + CHUNK]
        enrolments = in_force.filter(id__in=ids)
        rows = payroll_io.read_enrolments(enrolments=enrolments, first_id=ids[0], last_id=ids[-1])
        households = payroll_io.read_households(
            household_ids={row.household_id for row in rows}, month=month_batch.month
        )
        by_id = {row.id: row for row in rows}
        for line in builder.lines(rows, households):
            explained = json.loads(builder.explanations[line[9]])
            amount, steps, versions = Decimal(line[8]), explained["steps"], explained["versions"]
            if line[2] == PaymentLine.Kind.REGULAR:
                due[line[3]] = (amount, steps, versions, by_id[line[3]])
                continue
            # The price subsidy follows its enrolment's monthly amount.
            monthly, monthly_steps, monthly_versions, row = due[line[3]]
            total = ("month_due", (monthly, amount), monthly + amount)
            due[line[3]] = (
                monthly + amount,
                [*monthly_steps, *steps, total],
                {**monthly_versions, **versions},
                row,
            )
    return due


def granted_amounts(
    *, batch: PaymentBatch, month: datetime.date, enrolment_ids: list[int]
) -> tuple[dict[int, Decimal], set[int]]:
    """Enrolment id → what earlier batches granted for the month (regular and back pay), less
    what was since found overpaid for it (its recoveries); and the enrolments already back-paid
    for the month."""
    granted: dict[int, Decimal] = defaultdict(lambda: ZERO)
    back_paid: set[int] = set()
    for start in range(0, len(enrolment_ids), CHUNK):
        ids = enrolment_ids[start : start + CHUNK]
        lines = (
            PaymentLine.objects.filter(month=month, kind__in=GRANTING_KINDS, enrolment_id__in=ids)
            .exclude(batch=batch)
            .values("enrolment_id", "kind")
            .annotate(total=MoneySum("amount"))
        )
        for row in lines:
            granted[row["enrolment_id"]] += row["total"]
            if row["kind"] == PaymentLine.Kind.BACK_PAY:
                back_paid.add(row["enrolment_id"])
        recovered = (
            Recovery.objects.filter(month=month, enrolment_id__in=ids)
            .values("enrolment_id")
            .annotate(total=MoneySum("amount"))
        )
        for row in recovered:
            granted[row["enrolment_id"]] -= row["total"]
    return granted, back_paid


def back_pay_lines(*, batch: PaymentBatch) -> list[PaymentLine]:
    """Back pay for exactly the months missed, and recoveries for the months overpaid.

    For every approved month in the window and every enrolment something changed for since that
    month was approved: the amount due under what is in force now (the engine, as the batch
    computes it: the monthly amount and the month's price subsidy) less what earlier batches
    granted for that month. A positive difference is a
    back_pay line for that month (one per enrolment and month: a database constraint, so a month
    is never back-paid twice); a negative one is an overpayment, recorded as a Recovery.
    """
    months = settled_months(batch=batch)
    if not months:
        return []
    late = late_records(region_prefix=batch.region.prefix, since=min(m.approved_at for m in months))
    lines = []
    for month_batch in months:
        month = month_batch.month
        enrolment_ids = sorted(changed_since_approval(month_batch=month_batch, late=late))
        if not enrolment_ids:
            continue
        due = due_amounts(month_batch=month_batch, enrolment_ids=enrolment_ids)
        granted, already_back_paid = granted_amounts(
            batch=batch, month=month, enrolment_ids=enrolment_ids
        )
        overpaid = []
        for enrolment_id in enrolment_ids:
            amount, explanation, versions, row = due.get(enrolment_id, (ZERO, [], {}, None))
            difference = amount - granted[enrolment_id]
            if difference < 0:
                overpaid.append((enrolment_id, -difference))
            elif difference > 0 and row is None:
                # Nothing is due (not in force in the month now): a "difference" can only come
                # from a negative grant, which is bad data, never money owed.
                log.warning(
                    "enrolment %s, %s: granted %s, nothing due; no back pay",
                    enrolment_id,
                    month,
                    granted[enrolment_id],
                )
            elif difference > 0 and enrolment_id in already_back_paid:
                log.warning(
                    "enrolment %s, %s: %s more is due but the month was already back-paid once",
                    enrolment_id,
                    month,
                    difference,
                )
            elif difference > 0:
                lines.append(
                    _back_pay_line(
                        batch=batch,
                        month=month,
                        row=row,
                        due=amount,
                        granted=granted[enrolment_id],
                        explanation=explanation,
                        versions=versions,
                    )
                )
        if overpaid:
            _record_overpayments(batch=batch, batch_of_month=month_batch, overpaid=overpaid)
    return lines


def _back_pay_line(*, batch, month, row, due, granted, explanation, versions) -> PaymentLine:
    """The month's steps as computed now, then the difference with what was paid then."""
    back_pay = ("back_pay", (due, granted, format_month(month)), due - granted)
    return PaymentLine(
        batch=batch,
        month=month,
        kind=PaymentLine.Kind.BACK_PAY,
        enrolment_id=row.id,
        household_id=row.household_id,
        region_code=row.region_code,
        category=row.category,
        amount=due - granted,
        explanation_ref=explanations.make([*explanation, back_pay], versions),
        bank_name=row.bank_name,
        bank_account_holder=row.bank_account_holder,
        bank_account_number=row.bank_account_number,
    )


def _record_overpayments(
    *, batch: PaymentBatch, batch_of_month: PaymentBatch, overpaid: list
) -> None:
    """One Recovery per enrolment and month overpaid; its reason is a death in the household by
    the month's end, else income found since the month was approved, else other."""
    month = batch_of_month.month
    enrolments = Enrolment.objects.in_bulk([enrolment_id for enrolment_id, _ in overpaid])
    households = {e.household_id for e in enrolments.values()}
    died = set(
        Member.objects.filter(
            household_id__in=households, is_alive=False, death_date__lte=month_end(month)
        ).values_list("household_id", flat=True)
    )
    income_found = set(
        IncomeItem.objects.filter(
            member__household_id__in=households,
            created_at__gt=batch_of_month.approved_at,
            valid_from__lte=month_end(month),
        ).values_list("member__household_id", flat=True)
    )

    def reason(household_id: int) -> str:
        if household_id in died:
            return Recovery.Reason.DEATH
        if household_id in income_found:
            return Recovery.Reason.HIDDEN_INCOME
        return Recovery.Reason.OVERPAYMENT

    Recovery.objects.bulk_create(
        Recovery(
            household_id=enrolments[enrolment_id].household_id,
            region_code=enrolments[enrolment_id].region_code,
            enrolment_id=enrolment_id,
            month=month,
            reason=reason(enrolments[enrolment_id].household_id),
            amount=amount,
            note=f"{month:%Y-%m} 重新计算后多发",
            detected_in_batch=batch,
        )
        for enrolment_id, amount in overpaid
    )


def reissue_ref(*, batch_id: int, household_id: int) -> str:
    """Names one transfer of a bank file: the household's net amount in that batch."""
    return f"reissue:{batch_id}:{household_id}"


def reissue_lines(*, batch: PaymentBatch) -> list[PaymentLine]:
    """One re-issue line per failed transfer of an earlier batch whose account has been fixed.

    A transfer is the household's net amount in a batch. It is re-issued once the household's
    bank account differs from the one the bank refused, into the account now on record; the
    unique source_ref of re-issue lines (a database constraint) keeps it from being paid twice.
    """
    failed = (
        PaymentLine.objects.filter(
            status=PaymentLine.Status.FAILED,
            region_code__startswith=batch.region.prefix,
            batch__month__lt=batch.month,
            # Lines of earlier batches pay earlier months (back pay earlier still): the
            # partitions of this month and later are left out.
            month__lt=batch.month,
        )
        .values("batch_id", "household_id", "bank_name", "bank_account_holder")
        .annotate(
            amount=MoneySum("amount"),
            account=Max("bank_account_number"),
            month=Max("batch__month"),
            category=Max("category"),
            reason=Max("failure_reason"),
        )
        .order_by("batch_id", "household_id")
    )
    transfers = {
        reissue_ref(batch_id=f["batch_id"], household_id=f["household_id"]): f for f in failed
    }
    done = set(
        PaymentLine.objects.filter(
            kind=PaymentLine.Kind.REISSUE, source_ref__in=list(transfers)
        ).values_list("source_ref", flat=True)
    )
    households = Household.objects.in_bulk({f["household_id"] for f in transfers.values()})
    lines = []
    for ref, failed_transfer in transfers.items():
        household = households[failed_transfer["household_id"]]
        refused_account = (
            failed_transfer["bank_name"],
            failed_transfer["bank_account_holder"],
            failed_transfer["account"],
        )
        account_now = (
            household.bank_name,
            household.bank_account_holder,
            household.bank_account_number,
        )
        if ref in done or account_now == refused_account or failed_transfer["amount"] <= 0:
            continue
        lines.append(
            _correction_line(
                batch=batch,
                kind=PaymentLine.Kind.REISSUE,
                household=household,
                category=failed_transfer["category"],
                source_ref=ref,
                amount=failed_transfer["amount"],
                step=(
                    "reissue",
                    (
                        format_month(failed_transfer["month"]),
                        failed_transfer["reason"],
                        failed_transfer["account"],
                    ),
                    failed_transfer["amount"],
                ),
            )
        )
    return lines


def offsets_by_month(
    *, recoveries: list[Recovery], exclude_batch: PaymentBatch
) -> dict[int, list[tuple[datetime.date, Decimal]]]:
    """Recovery id → [(month, amount offset that month), ...] in other batches, oldest first
    (amounts positive)."""
    refs = {r.source_ref: r.pk for r in recoveries}
    offset = (
        PaymentLine.objects.filter(kind=PaymentLine.Kind.RECOVERY, source_ref__in=list(refs))
        .exclude(batch=exclude_batch)
        .values("source_ref", "month")
        .annotate(total=MoneySum("amount"))
        .order_by("source_ref", "month")
    )
    months: dict[int, list[tuple[datetime.date, Decimal]]] = defaultdict(list)
    for row in offset:
        months[refs[row["source_ref"]]].append((row["month"], -row["total"]))
    return months


def outstanding_recoveries(*, region_prefix: str, exclude_batch: PaymentBatch) -> list:
    """Open recoveries in the region, oldest first, each with what it still owes and what was
    offset before, by month: (recovery, still owed, [(month, amount), ...])."""
    recoveries = list(
        Recovery.objects.filter(region_code__startswith=region_prefix, repaid_at__isnull=True)
        # One recorded by hand waits for its second signature (payments.recoveries).
        .filter(Q(detected_in_batch__isnull=False) | Q(approved_at__isnull=False))
        .select_related("household")
        .order_by("created_at", "id")
    )
    offsets = offsets_by_month(recoveries=recoveries, exclude_batch=exclude_batch)
    owed = []
    for recovery in recoveries:
        before = offsets.get(recovery.pk, [])
        offset = sum((amount for _month, amount in before), ZERO)
        still_owed = recovery.amount - recovery.repaid_amount - offset
        if still_owed > 0:
            owed.append((recovery, still_owed, before))
    return owed


def recovery_lines(*, batch: PaymentBatch, pending: list[PaymentLine]) -> list[PaymentLine]:
    """Negative lines that offset open recoveries against the household's money this month.

    Each offset is at most what the household receives in the batch (its lines already written
    plus ``pending`` corrections), so its month never goes below 0; what is left is carried to
    the next batch. Oldest recoveries are offset first.
    """
    owed = outstanding_recoveries(region_prefix=batch.region.prefix, exclude_batch=batch)
    if not owed:
        return []
    household_ids = {recovery.household_id for recovery, _owed, _before in owed}
    available: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for row in (
        PaymentLine.objects.filter(batch=batch, household_id__in=household_ids)
        .values("household_id")
        .annotate(total=MoneySum("amount"))
    ):
        available[row["household_id"]] += row["total"]
    for line in pending:
        if line.household_id in household_ids:
            available[line.household_id] += line.amount
    lines = []
    for recovery, still_owed, before in owed:
        household = recovery.household
        available_before = available[household.pk]
        offset = min(still_owed, available_before)
        if offset <= 0:
            continue
        available[household.pk] -= offset
        lines.append(
            _correction_line(
                batch=batch,
                kind=PaymentLine.Kind.RECOVERY,
                household=household,
                source_ref=recovery.source_ref,
                amount=-offset,
                step=_offset_step(recovery, still_owed, available_before, offset, before),
            )
        )
    return lines


def _offset_step(recovery: Recovery, owed, available, offset, before) -> tuple:
    """What an offset recovers: the month overpaid and the amount, the reason, what was
    recovered before (offsets by month, and repaid), what this month takes and what is left."""
    values = (
        owed,
        available,
        format_month(recovery.month) if recovery.month else "",
        recovery.reason,
        recovery.amount,
        recovery.amount - owed,
        owed - offset,
        *[part for month, amount in before for part in (format_month(month), amount)],
    )
    return ("recovery_offset", values, offset)


def _correction_line(
    *,
    batch: PaymentBatch,
    kind: str,
    household: Household,
    source_ref: str,
    amount: Decimal,
    step: tuple,
    category: str = "",
) -> PaymentLine:
    """A batch-month line for a household, paid into the account on record now, explained by
    one step (code, values, result; an offset's line is its result taken off: negative)."""
    return PaymentLine(
        batch=batch,
        month=batch.month,
        kind=kind,
        household=household,
        region_code=household.region_code,
        category=category,
        source_ref=source_ref,
        amount=amount,
        explanation_ref=explanations.make([step]),
        bank_name=household.bank_name,
        bank_account_holder=household.bank_account_holder,
        bank_account_number=household.bank_account_number,
    )
