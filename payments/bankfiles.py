"""Bank files (代发文件): an approved batch exported as CSV and XLSX, checksummed and kept.

The layout is docs/bank-file-layout.md. One transfer per household: the net of its lines in the
batch (recovery offsets never take it below 0; a household netted to 0 gets no transfer). The
file ends in a control record with the transfer count and total, which must equal the sum of
the batch's lines. The SHA-256 of each file is recorded in a BankFile row and checked again on
every download.

At rest the files hold every recipient's name and account number: each is written readable and
writable by the app's own system user only (0600), in folders only that user may open (0700,
from BANK_FILE_ROOT down), whatever the process's umask (:func:`private_folder`,
:func:`private_file`). The bank's return files are kept the same way.

A transfer the file cannot carry exactly as recorded (an account holder or bank name with a
control character or a formula prefix, an account number that is not digits, no account, a net
amount below 0) is withheld: it is not written, its lines are marked failed with the reason, and
the BankFile lists it (reference, household, amount, reason). The control record counts and
totals the transfers written; the batch's lines add up to them plus the withheld ones. Once the
household's bank details are corrected, the next batch re-issues the withheld money to the
corrected account (``payments.corrections.reissue_lines``), prepared and approved by two finance
users like any batch.
"""

import csv
import hashlib
import io
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import groupby
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook

from beneficiaries.models import User
from core import exports
from core.exceptions import Conflict, DomainError
from payments.approval import move_batch
from payments.models import BankFile, PaymentBatch, PaymentLine
from payments.money import MoneySum

LAYOUT = "DOUDI-BANKFILE-1"
log = logging.getLogger(__name__)
# How the failure reason of a withheld line begins (reconciliation leaves those lines alone).
WITHHELD = "未写入代发文件"
# Excel opens at most 1,048,576 rows a sheet; a larger batch continues on the next sheet.
XLSX_ROWS_PER_SHEET = 1_000_000
DETAIL_COLUMNS = [
    "record_type",
    "seq",
    "reference",
    "account_number",
    "account_holder",
    "bank_name",
    "amount",
    "region_code",
    "purpose",
]


@dataclass(frozen=True, slots=True)
class Transfer:
    reference: str
    household_id: int
    account_number: str
    account_holder: str
    bank_name: str
    amount: Decimal
    region_code: str
    accounts: int = 1

    @property
    def problem(self) -> str:
        """Why the bank file cannot carry this transfer as recorded; "" when it can."""
        if self.accounts > 1:
            return str(_("本户在本批次中有两个不同的银行账户"))
        if self.amount < 0:
            return str(_("本户本月净额为负数(%(amount)s)") % {"amount": f"{self.amount:.2f}"})
        if (
            not self.account_number
            or not self.account_number.isascii()
            or not (self.account_number.isdigit())
        ):
            return str(_("银行账号为空或不是数字"))
        if not self.account_holder.strip():
            return str(_("账户户名为空"))
        for label, text in ((_("账户户名"), self.account_holder), (_("开户银行"), self.bank_name)):
            if exports.unwritable(text):
                return str(
                    _("%(field)s含有控制字符或以公式符号开头，无法写入代发文件") % {"field": label}
                )
        return ""


def batch_ref(batch: PaymentBatch) -> str:
    return f"B{batch.pk}"


def transfer_ref(*, batch_id: int, household_id: int) -> str:
    return f"B{batch_id}-H{household_id}"


def transfers(*, batch: PaymentBatch, withheld: bool = True) -> Iterator[Transfer]:
    """The batch's transfers, one per household with a net amount other than 0, by household id
    (``withheld=False``: without those whose lines were withheld from the file as failed)."""
    lines = batch.lines.all()
    if not withheld:
        lines = lines.exclude(status=PaymentLine.Status.FAILED, failure_reason__startswith=WITHHELD)
    rows = (
        lines.values(
            "household_id",
            "bank_account_number",
            "bank_account_holder",
            "bank_name",
        )
        # The village code is informative only: an enrolment may carry an older one.
        .annotate(amount=MoneySum("amount"), region_code=Max("region_code"))
        .order_by("household_id")
    )
    for household_id, accounts in groupby(
        rows.iterator(chunk_size=5000), key=lambda row: row["household_id"]
    ):
        accounts = list(accounts)
        amount = sum((row["amount"] for row in accounts), Decimal("0"))
        if amount != 0:
            row = accounts[0]
            yield Transfer(
                reference=transfer_ref(batch_id=batch.pk, household_id=household_id),
                household_id=household_id,
                account_number=row["bank_account_number"],
                account_holder=row["bank_account_holder"],
                bank_name=row["bank_name"],
                amount=amount,
                region_code=row["region_code"],
                accounts=len(accounts),
            )


def file_rows(*, batch: PaymentBatch, withheld: list[Transfer]) -> Iterator[list[str]]:
    """Header, one detail record per transfer it can carry, then the control record (count and
    total of those). The transfers it cannot carry are appended to ``withheld``."""
    yield ["H", LAYOUT, batch_ref(batch), batch.region.code, f"{batch.month:%Y-%m}"]
    purpose = f"{batch.month:%Y-%m} 社会救助金"
    count, total = 0, Decimal("0.00")
    for transfer in transfers(batch=batch):
        if transfer.problem:
            withheld.append(transfer)
            continue
        count += 1
        total += transfer.amount
        yield [
            "D",
            str(count),
            transfer.reference,
            transfer.account_number,
            transfer.account_holder,
            transfer.bank_name,
            f"{transfer.amount:.2f}",
            transfer.region_code,
            purpose,
        ]
    yield ["T", str(count), f"{total:.2f}"]


class _Hashing(io.RawIOBase):
    """A write-through file that hashes what passes through it."""

    def __init__(self, raw):
        self.raw, self.sha = raw, hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.sha.update(data)
        return self.raw.write(data)


FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(folder: Path) -> Path:
    """``folder`` (under BANK_FILE_ROOT) and every folder from the root down to it, created if
    missing and closed to everyone but the app's user (0700)."""
    root = Path(settings.BANK_FILE_ROOT)
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    for path in (folder, *folder.parents):
        os.chmod(path, FOLDER_MODE)
        if path == root:
            break
    return folder


def private_file(path: Path):
    """``path`` opened for writing (truncated), readable by the app's user only (0600)."""
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(handle, FILE_MODE)  # a file that already existed keeps its mode otherwise
    return os.fdopen(handle, "wb")


def _write_csv(path: Path, rows: Iterator[list[str]]) -> tuple[str, list[str]]:
    last: list[str] = []
    with private_file(path) as raw:
        hashing = _Hashing(raw)
        text = io.TextIOWrapper(hashing, encoding="utf-8", newline="", write_through=True)
        writer = csv.writer(text, lineterminator="\r\n")
        for row in rows:
            writer.writerow(exports.row(row))
            last = row
        text.flush()
        text.detach()
    return hashing.sha.hexdigest(), last


def _write_xlsx(path: Path, rows: Iterator[list[str]]) -> tuple[str, list[str]]:
    workbook = Workbook(write_only=True)
    sheets, in_sheet = 1, 0
    sheet = workbook.create_sheet("代发明细")
    last: list[str] = []
    for row in rows:
        if in_sheet == XLSX_ROWS_PER_SHEET:
            sheets, in_sheet = sheets + 1, 0
            sheet = workbook.create_sheet(f"代发明细{sheets}")
        # Text cells: amounts stay exact decimals, account numbers keep every digit.
        sheet.append(exports.row(row))
        in_sheet += 1
        last = row
    with private_file(path) as handle:
        workbook.save(handle)
    return sha256_of(path), last


def sha256_of(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


WRITERS = {BankFile.Format.CSV: _write_csv, BankFile.Format.XLSX: _write_xlsx}


def export_batch(*, batch: PaymentBatch, by: User) -> list[BankFile]:
    """Export an approved batch as CSV and XLSX bank files and move it to exported.

    An error nobody could have refused in advance (a full disk, a bug) leaves nothing written and
    the batch approved, with the reason in its ``error`` (shown by the API, answered as a 409):
    once the cause is fixed, exporting again is the resume. A success clears the reason.
    """
    try:
        files = _export(batch=batch, by=by)
    except DomainError:
        raise
    except Exception as error:
        log.exception("exporting batch %s failed", batch.pk)
        reason = str(_("导出失败：%(error)s") % {"error": f"{type(error).__name__}: {error}"})
        PaymentBatch.objects.filter(pk=batch.pk).update(error=reason[:2000])
        raise Conflict(reason, code="export_failed") from error
    PaymentBatch.objects.filter(pk=batch.pk).exclude(error="").update(error="")
    return files


@transaction.atomic
def _export(*, batch: PaymentBatch, by: User) -> list[BankFile]:
    """The export itself, in one transaction.

    The move is claimed first (a conditional update, held until commit), so two exports of the
    same batch cannot both write files. The transfers the file cannot carry are withheld (see
    the module's docstring); the control total plus the withheld total must equal the sum of the
    batch's lines, or nothing is exported.
    """
    batch = move_batch(batch=batch, to=PaymentBatch.Status.EXPORTED, by=by)
    line_total = batch.lines.aggregate(total=MoneySum("amount"))["total"] or Decimal("0")
    folder = private_folder(Path(settings.BANK_FILE_ROOT) / batch.region.code)
    files = []
    written: list[Path] = []
    try:
        for fmt, write in WRITERS.items():
            partial = folder / f"{batch.month:%Y-%m}-{batch_ref(batch)}.{fmt}.part"
            written.append(partial)
            withheld: list[Transfer] = []
            sha, control = write(partial, file_rows(batch=batch, withheld=withheld))
            count, total = int(control[1]), Decimal(control[2])
            withheld_total = sum((t.amount for t in withheld), Decimal("0"))
            if total + withheld_total != line_total:
                raise Conflict(
                    _("银行文件合计%(file)s与批次明细合计%(lines)s不符，未导出")
                    % {"file": total + withheld_total, "lines": line_total},
                    code="control_total_mismatch",
                )
            final = folder / f"{batch.month:%Y-%m}-{batch_ref(batch)}-{sha[:12]}.{fmt}"
            os.replace(partial, final)
            written.append(final)
            files.append(
                BankFile.objects.create(
                    batch=batch,
                    format=fmt,
                    path=str(final.relative_to(settings.BANK_FILE_ROOT)),
                    sha256=sha,
                    record_count=count,
                    total_amount=total,
                    withheld=[
                        {
                            "reference": t.reference,
                            "household": t.household_id,
                            "amount": f"{t.amount:.2f}",
                            "reason": t.problem,
                        }
                        for t in withheld
                    ],
                    created_by=by,
                )
            )
        _mark_withheld(batch=batch, withheld=withheld)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return files


def _mark_withheld(*, batch: PaymentBatch, withheld: list[Transfer]) -> None:
    """The lines of each withheld transfer → failed, with the reason: the bank never got them,
    and the re-issue path pays them once the household's bank details are corrected."""
    for transfer in withheld:
        batch.lines.filter(
            household_id=transfer.household_id, status=PaymentLine.Status.PENDING
        ).update(
            status=PaymentLine.Status.FAILED,
            failure_reason=f"{WITHHELD}：{transfer.problem}"[:200],
        )


def open_bank_file(*, bank_file: BankFile):
    """The kept file, opened for reading after its checksum is verified against the record."""
    path = Path(settings.BANK_FILE_ROOT) / bank_file.path
    if not path.exists() or sha256_of(path) != bank_file.sha256:
        raise Conflict(
            _("银行文件%(name)s已丢失或被改动(校验和不符)") % {"name": path.name},
            code="bank_file_checksum_mismatch",
        )
    return open(path, "rb")
