import csv
import datetime
import hashlib
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from core.exceptions import Conflict
from payments.approval import approve_batch
from payments.bankfiles import export_batch, open_bank_file
from payments.models import BankFile, PaymentBatch, PaymentLine
from tests.factories import HouseholdFactory

SEP = datetime.date(2024, 9, 1)


@pytest.fixture
def approved_batch(regions, make_batch, add_line, approver):
    """Three households: 1725; 1620 + 210 back pay; 300 offset to 0 by a recovery."""
    batch = make_batch(SEP)
    first, second, third = (HouseholdFactory(village=regions["village_a1"]) for _ in range(3))
    add_line(batch, first, "1725")
    add_line(batch, second, "1620")
    add_line(batch, second, "210", kind=PaymentLine.Kind.BACK_PAY, month=datetime.date(2024, 7, 1))
    add_line(batch, third, "300")
    add_line(batch, third, "-300", kind=PaymentLine.Kind.RECOVERY, source_ref="recovery:1")
    return approve_batch(batch=batch, by=approver)


def _csv_rows(root, bank_file):
    return list(csv.reader(io.StringIO((root / bank_file.path).read_text(encoding="utf-8"))))


def test_export_writes_one_transfer_per_household_and_a_control_record(
    approved_batch, approver, bank_file_root
):
    csv_file, xlsx_file = export_batch(batch=approved_batch, by=approver)

    rows = _csv_rows(bank_file_root, csv_file)
    details = [row for row in rows if row[0] == "D"]
    assert [row[6] for row in details] == ["1725.00", "1830.00"]
    assert rows[-1] == ["T", "2", "3555.00"]
    assert (csv_file.record_count, csv_file.total_amount) == (2, Decimal("3555.00"))
    assert PaymentBatch.objects.get(pk=approved_batch.pk).status == "exported"


def test_each_exported_file_is_kept_with_its_sha256(approved_batch, approver, bank_file_root):
    files = export_batch(batch=approved_batch, by=approver)

    for bank_file in files:
        content = (bank_file_root / bank_file.path).read_bytes()
        assert hashlib.sha256(content).hexdigest() == bank_file.sha256
        assert bank_file.sha256[:12] in bank_file.path
    workbook = load_workbook(bank_file_root / files[1].path, read_only=True)
    xlsx_rows = [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    assert xlsx_rows == _csv_rows(bank_file_root, files[0])


def test_the_control_total_equals_the_sum_of_the_batch_lines(approved_batch, approver):
    (csv_file, _) = export_batch(batch=approved_batch, by=approver)

    assert csv_file.total_amount == sum(line.amount for line in approved_batch.lines.all())


def test_a_batch_not_yet_approved_is_not_exported(make_batch, approver, bank_file_root):
    batch = make_batch(SEP)

    with pytest.raises(Conflict):
        export_batch(batch=batch, by=approver)

    assert PaymentBatch.objects.get(pk=batch.pk).status == "computed"
    assert not BankFile.objects.exists()
    assert not bank_file_root.exists() or not any(bank_file_root.rglob("*.*"))


def test_exporting_twice_is_refused(approved_batch, approver):
    export_batch(batch=approved_batch, by=approver)

    with pytest.raises(Conflict):
        export_batch(batch=approved_batch, by=approver)

    assert BankFile.objects.count() == 2


def test_a_kept_file_changed_on_disk_is_not_served(approved_batch, approver, bank_file_root):
    (csv_file, _) = export_batch(batch=approved_batch, by=approver)
    with open_bank_file(bank_file=csv_file) as handle:
        assert handle.read().startswith(b"H,DOUDI-BANKFILE-1")
    path = bank_file_root / csv_file.path
    path.write_bytes(path.read_bytes().replace(b"1725.00", b"7725.00"))

    with pytest.raises(Conflict, match="校验和"):
        open_bank_file(bank_file=csv_file)


def test_a_batch_larger_than_a_sheet_continues_on_the_next_sheet(
    approved_batch, approver, bank_file_root, monkeypatch
):
    monkeypatch.setattr("payments.bankfiles.XLSX_ROWS_PER_SHEET", 2)

    csv_file, xlsx_file = export_batch(batch=approved_batch, by=approver)

    workbook = load_workbook(bank_file_root / xlsx_file.path, read_only=True)
    sheets = [[list(r) for r in sheet.iter_rows(values_only=True)] for sheet in workbook.worksheets]
    assert [len(rows) for rows in sheets] == [2, 2]
    assert sheets[0] + sheets[1] == _csv_rows(bank_file_root, csv_file)


def test_a_household_with_two_accounts_in_one_batch_is_withheld_not_exported(
    make_batch, add_line, approver, household, bank_file_root
):
    batch = make_batch(SEP)
    add_line(batch, household, "1725")
    household.bank_account_number = "6222020000000000014"
    household.save()
    add_line(batch, household, "210", kind=PaymentLine.Kind.REISSUE, source_ref="reissue:1:1")
    approve_batch(batch=batch, by=approver)

    csv_file, _xlsx_file = export_batch(batch=batch, by=approver)

    assert PaymentBatch.objects.get(pk=batch.pk).status == "exported"
    assert _csv_rows(bank_file_root, csv_file)[-1] == ["T", "0", "0.00"]
    assert [w["reason"] for w in csv_file.withheld] == ["本户在本批次中有两个不同的银行账户"]
    assert set(batch.lines.values_list("status", flat=True)) == {"failed"}
