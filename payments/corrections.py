"""Correction lines of a monthly batch: re-issues of failed transfers and recovery offsets.

DOMAIN.md, payment practice: a failed bank transfer is re-issued, never paid twice; an
overpayment found later is recovered by offset or repayment, and recorded. The payroll closing
step calls ``correction_lines`` and bulk-inserts what it returns before the batch totals, in the
transaction that marks the batch computed, so a recomputed batch gets its corrections afresh.
"""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Max, Sum

from beneficiaries.models import Household
from payments.models import PaymentBatch, PaymentLine, Recovery

ZERO = Decimal("0.00")


def correction_lines(*, batch: PaymentBatch) -> list[PaymentLine]:
    """The unsaved correction lines of ``batch``: re-issues first, then recovery offsets.

    Recovery offsets come last because they are netted against everything else the household
    receives in the month, and never take that month below 0.
    """
    lines = reissue_lines(batch=batch)
    lines += recovery_lines(batch=batch, pending=lines)
    return lines


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
        )
        .values("batch_id", "household_id", "bank_name", "bank_account_holder")
        .annotate(
            amount=Sum("amount"),
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
            PaymentLine(
                batch=batch,
                month=batch.month,
                kind=PaymentLine.Kind.REISSUE,
                household=household,
                region_code=household.region_code,
                category=failed_transfer["category"],
                source_ref=ref,
                amount=failed_transfer["amount"],
                explanation=[
                    {
                        "rule": "reissue",
                        "formula": "failed transfer re-issued to the corrected account",
                        "inputs": {
                            "failed_batch": str(failed_transfer["batch_id"]),
                            "failed_month": failed_transfer["month"].strftime("%Y-%m"),
                            "failure_reason": failed_transfer["reason"],
                            "refused_account": failed_transfer["account"],
                        },
                        "result": str(failed_transfer["amount"]),
                    }
                ],
                bank_name=household.bank_name,
                bank_account_holder=household.bank_account_holder,
                bank_account_number=household.bank_account_number,
            )
        )
    return lines


def recovered_by_offset(*, recoveries: list[Recovery], exclude_batch: PaymentBatch) -> dict:
    """Recovery id → amount already offset in other batches (a positive Decimal)."""
    refs = {r.source_ref: r.pk for r in recoveries}
    offset = (
        PaymentLine.objects.filter(kind=PaymentLine.Kind.RECOVERY, source_ref__in=list(refs))
        .exclude(batch=exclude_batch)
        .values("source_ref")
        .annotate(total=Sum("amount"))
    )
    return {refs[row["source_ref"]]: -row["total"] for row in offset}


def outstanding_recoveries(*, region_prefix: str, exclude_batch: PaymentBatch) -> list:
    """Open recoveries in the region with what each still owes, oldest first."""
    recoveries = list(
        Recovery.objects.filter(region_code__startswith=region_prefix, repaid_at__isnull=True)
        .select_related("household")
        .order_by("created_at", "id")
    )
    offset = recovered_by_offset(recoveries=recoveries, exclude_batch=exclude_batch)
    owed = []
    for recovery in recoveries:
        still_owed = recovery.amount - recovery.repaid_amount - offset.get(recovery.pk, ZERO)
        if still_owed > 0:
            owed.append((recovery, still_owed))
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
    household_ids = {recovery.household_id for recovery, _ in owed}
    available: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for row in (
        PaymentLine.objects.filter(batch=batch, household_id__in=household_ids)
        .values("household_id")
        .annotate(total=Sum("amount"))
    ):
        available[row["household_id"]] += row["total"]
    for line in pending:
        if line.household_id in household_ids:
            available[line.household_id] += line.amount
    lines = []
    for recovery, still_owed in owed:
        household = recovery.household
        offset = min(still_owed, available[household.pk])
        if offset <= 0:
            continue
        available[household.pk] -= offset
        lines.append(
            PaymentLine(
                batch=batch,
                month=batch.month,
                kind=PaymentLine.Kind.RECOVERY,
                household=household,
                region_code=household.region_code,
                source_ref=recovery.source_ref,
                amount=-offset,
                explanation=[
                    {
                        "rule": "recovery_offset",
                        "formula": "min(still owed, the household's amount this month)",
                        "inputs": {
                            "recovery": str(recovery.pk),
                            "reason": recovery.reason,
                            "still_owed": str(still_owed),
                            "carried_forward": str(still_owed - offset),
                        },
                        "result": str(-offset),
                    }
                ],
                bank_name=household.bank_name,
                bank_account_holder=household.bank_account_holder,
                bank_account_number=household.bank_account_number,
            )
        )
    return lines
