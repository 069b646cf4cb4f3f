"""Reconciliation (对账): the bank's return file marks each transfer paid or failed.

The import is refused, saying what differs, when counts or totals do not match the
exported file; nothing changes then. An accepted return file is kept with its checksum, every
line of a failed transfer is marked failed with the bank's reason (the others paid) and the batch
moves to reconciled. Failed transfers are re-issued by ``payments.corrections`` once the
household's account is fixed.
"""

import hashlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import User
from core import uploads
from core.exceptions import Conflict, DomainError
from payments.approval import move_batch
from payments.bankfiles import private_file, private_folder, transfers
from payments.models import BankFile, BankReturn, PaymentBatch, PaymentLine

PAID, FAILED = "S", "F"
SHOWN = 5  # how many differing references a refusal names before it says "and N more"
# A return file holds one record per transfer of the batch (a city's million and more), eleven
# short columns each; a larger file is refused while it is read.
LIMITS = uploads.Limits(
    max_rows=3_000_000, max_columns=16, max_cell_chars=1_000, max_expanded_bytes=2 << 30
)


@dataclass(frozen=True, slots=True)
class ReturnRecord:
    row: int
    reference: str
    amount: Decimal
    result: str
    reason: str


@dataclass(frozen=True, slots=True)
class ReturnFile:
    records: list[ReturnRecord]
    control_count: int
    control_total: Decimal


def _rows(content: bytes, filename: str):
    if filename.lower().endswith(".xlsx"):
        for row in uploads.read_xlsx(content, LIMITS, sheets="all"):
            yield ["" if cell is None else str(cell) for cell in row]
    else:
        yield from uploads.read_csv(content, LIMITS)


def _amount(value: str, row: int) -> Decimal:
    try:
        return Decimal(value).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise DomainError(
            _("第%(row)s行金额“%(value)s”无效") % {"row": row, "value": value}, field="file"
        ) from None


def parse_return_file(*, content: bytes, filename: str) -> ReturnFile:
    """Read the layout of docs/bank-file-layout.md with the result and reason columns."""
    records, control = [], None
    for number, row in enumerate(_rows(content, filename), start=1):
        if not row or row[0] in ("H", ""):
            continue
        if row[0] == "T" and len(row) >= 3:
            control = (row[1], _amount(row[2], number))
        elif row[0] == "D" and len(row) >= 11:
            result, reason = row[9].strip().upper(), row[10].strip()
            if result not in (PAID, FAILED) or (result == FAILED and not reason):
                raise DomainError(
                    _("第%(row)s行结果须为S(成功)或F(失败，并写明原因)") % {"row": number},
                    field="file",
                )
            records.append(ReturnRecord(number, row[2], _amount(row[6], number), result, reason))
        else:
            raise DomainError(
                _("第%(row)s行不是有效的明细(D)或控制(T)记录") % {"row": number}, field="file"
            )
    if control is None or not control[0].isdigit():
        raise DomainError(_("回盘文件缺少控制记录(T,笔数,总金额)"), field="file")
    return ReturnFile(records, int(control[0]), control[1])


def _named(references: list[str]) -> str:
    shown = ", ".join(references[:SHOWN])
    more = len(references) - SHOWN
    return shown + (str(_(" 等共%(n)s笔") % {"n": len(references)}) if more > 0 else "")


def differences(*, returned: ReturnFile, exported: BankFile, expected: dict[str, Decimal]) -> list:
    """Every way the return file differs from the exported file; empty when they agree."""
    found = []
    count = len(returned.records)
    total = sum((r.amount for r in returned.records), Decimal("0.00"))
    if count != exported.record_count:
        found.append(
            _("笔数不符：回盘文件%(got)s笔，导出文件%(want)s笔")
            % {"got": count, "want": exported.record_count}
        )
    if total != exported.total_amount:
        found.append(
            _("总金额不符：回盘文件%(got)s，导出文件%(want)s")
            % {"got": total, "want": exported.total_amount}
        )
    if (returned.control_count, returned.control_total) != (count, total):
        found.append(
            _("回盘文件控制记录(%(cc)s笔, %(ct)s)与其明细(%(count)s笔, %(total)s)不符")
            % {
                "cc": returned.control_count,
                "ct": returned.control_total,
                "count": count,
                "total": total,
            }
        )
    seen: dict[str, Decimal] = {}
    duplicated = []
    for record in returned.records:
        if record.reference in seen:
            duplicated.append(record.reference)
        seen[record.reference] = record.amount
    missing = [ref for ref in expected if ref not in seen]
    unknown = [ref for ref in seen if ref not in expected]
    changed = [
        f"{ref} ({seen[ref]} ≠ {amount})"
        for ref, amount in expected.items()
        if ref in seen and seen[ref] != amount
    ]
    for label, refs in (
        (_("缺少的流水号"), missing),
        (_("不属于本批次的流水号"), unknown),
        (_("重复的流水号"), duplicated),
        (_("金额不符的流水号"), changed),
    ):
        if refs:
            found.append(f"{label}: {_named(refs)}")
    return found


@transaction.atomic
def import_return_file(
    *, batch: PaymentBatch, content: bytes, filename: str, by: User
) -> BankReturn:
    """Reconcile an exported batch with the bank's return file, or refuse it whole."""
    batch = PaymentBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status != PaymentBatch.Status.EXPORTED:
        raise Conflict(
            _("只有已导出的批次可以导入回盘文件(当前状态：%(status)s)")
            % {"status": batch.get_status_display()},
            code="batch_not_exported",
        )
    exported = batch.bank_files.get(format=BankFile.Format.CSV)
    returned = parse_return_file(content=content, filename=filename)
    expected = {t.reference: t.amount for t in transfers(batch=batch, withheld=False)}
    found = differences(returned=returned, exported=exported, expected=expected)
    if found:
        raise DomainError(
            _("回盘文件与导出文件不符，未导入：%(what)s") % {"what": "；".join(map(str, found))},
            code="return_file_mismatch",
        )
    failed = [r for r in returned.records if r.result == FAILED]
    _mark_lines(batch=batch, failed=failed)
    move_batch(batch=batch, to=PaymentBatch.Status.RECONCILED, by=by)
    sha = hashlib.sha256(content).hexdigest()
    folder = private_folder(Path(settings.BANK_FILE_ROOT) / batch.region.code / "returns")
    path = folder / f"{batch.month:%Y-%m}-B{batch.pk}-{sha[:12]}{Path(filename).suffix}"
    with private_file(path) as handle:
        handle.write(content)
    paid_total = sum((r.amount for r in returned.records if r.result == PAID), Decimal("0"))
    bank_return = BankReturn.objects.create(
        batch=batch,
        path=str(path.relative_to(settings.BANK_FILE_ROOT)),
        sha256=sha,
        paid_count=len(returned.records) - len(failed),
        paid_total=paid_total,
        failed_count=len(failed),
        failed_total=sum((r.amount for r in failed), Decimal("0")),
        imported_by=by,
    )
    return bank_return


def _mark_lines(*, batch: PaymentBatch, failed: list[ReturnRecord]) -> None:
    """Failed transfers' lines → failed with the bank's reason; every other line → paid."""
    by_reason: dict[str, list[int]] = {}
    for record in failed:
        household_id = int(record.reference.rsplit("-H", 1)[1])
        by_reason.setdefault(record.reason[:200], []).append(household_id)
    lines = PaymentLine.objects.filter(batch=batch, status=PaymentLine.Status.PENDING)
    for reason, household_ids in by_reason.items():
        for start in range(0, len(household_ids), 1000):
            lines.filter(household_id__in=household_ids[start : start + 1000]).update(
                status=PaymentLine.Status.FAILED, failure_reason=reason
            )
    lines.update(status=PaymentLine.Status.PAID)
