import csv
import datetime
import io

import pytest
from django.db import IntegrityError, transaction
from openpyxl import Workbook

from core.exceptions import Conflict, DomainError
from payments.approval import approve_batch
from payments.bankfiles import export_batch
from payments.corrections import correction_lines
from payments.models import BankReturn, PaymentBatch, PaymentLine
from payments.reconciliation import import_return_file
from tests.factories import HouseholdFactory

AUG = datetime.date(2024, 8, 1)
SEP = datetime.date(2024, 9, 1)
OCT = datetime.date(2024, 10, 1)


@pytest.fixture
def exported(regions, make_batch, add_line, approver):
    """August: three households paid 1725, 1620 and 900; exported."""
    batch = make_batch(AUG)
    homes = [HouseholdFactory(village=regions["village_a1"]) for _ in range(3)]
    for household, amount in zip(homes, ["1725", "1620", "900"], strict=True):
        add_line(batch, household, amount)
    approve_batch(batch=batch, by=approver)
    (csv_file, _) = export_batch(batch=batch, by=approver)
    return batch, csv_file, homes


def _unchanged(batch):
    batch.refresh_from_db()
    assert batch.status == "exported"
    assert set(batch.lines.values_list("status", flat=True)) == {"pending"}
    assert not BankReturn.objects.exists()


def test_the_return_file_marks_each_line_paid_or_failed(exported, return_file, approver):
    batch, csv_file, homes = exported
    content = return_file(csv_file, failed={homes[1].pk: "账户已销户"})

    bank_return = import_return_file(batch=batch, content=content, filename="r.csv", by=approver)

    statuses = dict(batch.lines.values_list("household_id", "status"))
    assert statuses == {homes[0].pk: "paid", homes[1].pk: "failed", homes[2].pk: "paid"}
    assert batch.lines.get(household=homes[1]).failure_reason == "账户已销户"
    assert (bank_return.paid_count, bank_return.paid_total) == (2, 2625)
    assert (bank_return.failed_count, bank_return.failed_total) == (1, 1620)
    assert PaymentBatch.objects.get(pk=batch.pk).status == "reconciled"


def test_a_return_file_missing_a_record_is_refused_saying_what_differs(
    exported, return_file, approver
):
    batch, csv_file, homes = exported

    def drop_last(rows):
        rows = [row for row in rows if row[2] != f"B{batch.pk}-H{homes[2].pk}"]
        rows[-1] = ["T", "2", "3345.00"]
        return rows

    content = return_file(csv_file, edit=drop_last)

    with pytest.raises(DomainError) as refused:
        import_return_file(batch=batch, content=content, filename="r.csv", by=approver)

    message = str(refused.value)
    assert "回盘文件2笔，导出文件3笔" in message
    assert "回盘文件3345.00，导出文件4245.00" in message
    assert f"B{batch.pk}-H{homes[2].pk}" in message
    _unchanged(batch)


def test_a_return_file_with_a_changed_amount_is_refused(exported, return_file, approver):
    batch, csv_file, homes = exported

    def raise_one(rows):
        rows[1][6] = "1825.00"
        rows[-1][2] = "4345.00"
        return rows

    with pytest.raises(DomainError, match="总金额不符：回盘文件4345.00，导出文件4245.00"):
        import_return_file(
            batch=batch,
            content=return_file(csv_file, edit=raise_one),
            filename="r.csv",
            by=approver,
        )

    _unchanged(batch)


def test_a_return_file_is_not_imported_twice(exported, return_file, approver):
    batch, csv_file, _ = exported
    content = return_file(csv_file)
    import_return_file(batch=batch, content=content, filename="r.csv", by=approver)

    with pytest.raises(Conflict):
        import_return_file(batch=batch, content=content, filename="r.csv", by=approver)

    assert BankReturn.objects.count() == 1


def test_a_failed_transfer_is_reissued_exactly_once_after_the_account_is_fixed(
    exported, return_file, approver, make_batch
):
    batch, csv_file, homes = exported
    failing = homes[1]
    content = return_file(csv_file, failed={failing.pk: "户名与账号不符"})
    import_return_file(batch=batch, content=content, filename="r.csv", by=approver)
    september = make_batch(SEP)

    assert correction_lines(batch=september) == []

    failing.bank_account_number = "6222020000000000014"
    failing.save()
    october = make_batch(OCT)
    (reissue,) = correction_lines(batch=october)
    reissue.save()
    november = make_batch(datetime.date(2024, 11, 1))

    assert (reissue.household, reissue.amount, reissue.kind) == (failing, 1620, "reissue")
    assert reissue.bank_account_number == "6222020000000000014"
    assert correction_lines(batch=november) == []
    assert PaymentLine.objects.filter(kind="reissue").count() == 1


def test_the_database_refuses_a_second_reissue_of_the_same_transfer(
    make_batch, add_line, household
):
    september, october = make_batch(SEP), make_batch(OCT)
    ref = f"reissue:1:{household.pk}"
    add_line(september, household, "1620", kind=PaymentLine.Kind.REISSUE, source_ref=ref)

    with pytest.raises(IntegrityError), transaction.atomic():
        add_line(october, household, "1620", kind=PaymentLine.Kind.REISSUE, source_ref=ref)

    assert PaymentLine.objects.filter(source_ref=ref).count() == 1


def test_a_return_file_is_accepted_as_xlsx(exported, return_file, approver):
    batch, csv_file, homes = exported
    rows = list(
        csv.reader(io.StringIO(return_file(csv_file, failed={homes[0].pk: "冻结"}).decode()))
    )
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    content = io.BytesIO()
    workbook.save(content)

    bank_return = import_return_file(
        batch=batch, content=content.getvalue(), filename="回盘.xlsx", by=approver
    )

    assert (bank_return.failed_count, bank_return.failed_total) == (1, 1725)
    assert batch.lines.get(household=homes[0]).failure_reason == "冻结"
