"""Bad input in payments: stored bad data never stops the month. The bank file withholds what it
cannot carry and says why, a withheld transfer is re-issued to the corrected account, and a batch
that meets a value it cannot pay fails with the reason and resumes once it is fixed."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from openpyxl import load_workbook

from beneficiaries import services as registry
from casework.models import Enrolment
from payments import batches
from payments.approval import approve_batch
from payments.bankfiles import export_batch
from payments.corrections import correction_lines, reissue_lines
from payments.explanations import create_lines
from payments.models import PaymentBatch, PaymentLine
from rules.models import Standard
from rules.parameters import load_standards
from tests.db import as_owner, triggers_off
from tests.factories import HouseholdFactory

AUG = datetime.date(2024, 8, 1)
SEP = datetime.date(2024, 9, 1)
OCT = datetime.date(2024, 10, 1)


def _csv_rows(root, bank_file):
    return list(csv.reader(io.StringIO((root / bank_file.path).read_text(encoding="utf-8"))))


def _xlsx_rows(root, bank_file):
    workbook = load_workbook(root / bank_file.path)
    return [[c for c in row] for row in workbook.worksheets[0].iter_rows()]


@pytest.fixture
def poisoned_batch(regions, make_batch, add_line, approver):
    """Four households: one clean; a holder with a control character (王\\u0001五); a holder
    written as a formula; one whose month nets to −5,000."""
    batch = make_batch(SEP)
    clean = HouseholdFactory(village=regions["village_a1"])
    control = HouseholdFactory(village=regions["village_a1"], bank_account_holder="王\u0001五")
    formula = HouseholdFactory(
        village=regions["village_a1"], bank_account_holder='=HYPERLINK("http://x","点我")'
    )
    negative = HouseholdFactory(village=regions["village_a1"])
    add_line(batch, clean, "1725")
    add_line(batch, control, "840")
    add_line(batch, formula, "300")
    add_line(batch, negative, "-5000")
    approve_batch(batch=batch, by=approver)
    return batch, {"clean": clean, "control": control, "formula": formula, "negative": negative}


def test_the_bank_file_withholds_what_it_cannot_carry_and_says_which_and_why(
    poisoned_batch, approver, bank_file_root
):
    batch, households = poisoned_batch

    csv_file, xlsx_file = export_batch(batch=batch, by=approver)

    rows = _csv_rows(bank_file_root, csv_file)
    details = [row for row in rows if row[0] == "D"]
    assert [row[2] for row in details] == [f"B{batch.pk}-H{households['clean'].pk}"]
    assert rows[-1] == ["T", "1", "1725.00"]
    assert (csv_file.record_count, csv_file.total_amount) == (1, Decimal("1725.00"))
    withheld = {w["household"]: w for w in csv_file.withheld}
    assert set(withheld) == {households[k].pk for k in ("control", "formula", "negative")}
    assert "控制字符" in withheld[households["control"].pk]["reason"]
    assert "公式" in withheld[households["formula"].pk]["reason"]
    assert withheld[households["negative"].pk]["amount"] == "-5000.00"
    assert "负数" in withheld[households["negative"].pk]["reason"]
    # Written + withheld = the batch's lines: 1725 + 840 + 300 − 5000.
    assert csv_file.total_amount + sum(Decimal(w["amount"]) for w in csv_file.withheld) == -2135
    failed = PaymentLine.objects.filter(batch=batch, status="failed")
    assert failed.count() == 3
    assert all(line.failure_reason.startswith("未写入代发文件") for line in failed)
    assert _xlsx_rows(bank_file_root, xlsx_file)[1][2].value == details[0][2]


def test_a_withheld_transfer_is_reissued_to_the_corrected_account_by_the_next_batch(
    poisoned_batch, approver, preparer, make_batch, make_user, regions, bank_file_root
):
    batch, households = poisoned_batch
    export_batch(batch=batch, by=approver)
    caseworker = make_user("caseworker", regions["town_a"])
    registry.update_household(
        household=households["control"], by=caseworker, bank_account_holder="王五"
    )

    october = make_batch(OCT)  # prepared by ``preparer``
    (reissue,) = create_lines(reissue_lines(batch=october))
    approve_batch(batch=october, by=approver)
    csv_file, _ = export_batch(batch=october, by=approver)

    assert (reissue.kind, reissue.amount) == ("reissue", Decimal("840"))
    assert reissue.bank_account_holder == "王五"
    assert reissue.source_ref == f"reissue:{batch.pk}:{households['control'].pk}"
    october.refresh_from_db()
    assert (october.prepared_by, october.approved_by) == (preparer, approver)
    (detail,) = [row for row in _csv_rows(bank_file_root, csv_file) if row[0] == "D"]
    assert (detail[4], detail[6]) == ("王五", "840.00")
    assert reissue_lines(batch=make_batch(datetime.date(2024, 11, 1))) == []


def test_the_return_file_reconciles_the_transfers_written_and_leaves_withheld_ones_failed(
    poisoned_batch, approver, bank_file_root, return_file
):
    from payments.reconciliation import import_return_file

    batch, households = poisoned_batch
    csv_file, _ = export_batch(batch=batch, by=approver)

    import_return_file(
        batch=batch, content=return_file(csv_file), filename="return.csv", by=approver
    )

    statuses = dict(PaymentLine.objects.filter(batch=batch).values_list("household", "status"))
    assert statuses[households["clean"].pk] == "paid"
    assert {statuses[households[k].pk] for k in ("control", "formula", "negative")} == {"failed"}


def test_a_later_batch_closes_after_an_approved_month_with_a_negative_line(
    make_batch, add_line, household
):
    # Nothing is due for the enrolment now (stopped before August), yet August granted −5,000:
    # the closing step crashed on a back-pay line with no enrolment row (row None).
    august = make_batch(AUG, status=PaymentBatch.Status.APPROVED)
    august.approved_at = august.created_at
    with triggers_off():
        august.save()
    line = add_line(august, household, "-5000")
    Enrolment.objects.filter(pk=line.enrolment_id).update(
        start_month=datetime.date(2024, 1, 1), end_month=datetime.date(2024, 6, 1)
    )
    Enrolment.objects.get(pk=line.enrolment_id).adjustments.create(
        region_code=household.region_code,
        kind="stop",
        reason_code="moved",
        reason_text="迁出",
        effective_month=datetime.date(2024, 7, 1),
    )
    september = make_batch(SEP)

    assert correction_lines(batch=september) == []


@pytest.fixture
def database_before_bounds(db):
    """A database from before the input bounds: it accepted a gradual-exit amount the check now
    refuses (dropped before anything is written: PostgreSQL alters no table with pending
    triggers)."""
    with as_owner(), connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE casework_enrolment DROP CONSTRAINT gradual_exit_amount_within_bounds"
        )


@pytest.mark.postgres
def test_an_amount_no_month_can_pay_fails_the_batch_with_the_reason_and_it_resumes_once_fixed(
    database_before_bounds, regions, caseload
):
    poisoned = caseload[0]
    Enrolment.objects.filter(pk=poisoned.pk).update(
        status="gradual_exit",
        gradual_exit_amount=Decimal("999999999999.99"),
        gradual_exit_until=datetime.date(2024, 12, 1),
    )
    batch = batches.create_batch(region=regions["jingkou"], month=AUG, by=None)

    batch = batches.compute_batch(batch=batch, inline=True)

    assert batch.status == "failed"
    assert "line_amount_within_bounds" in batch.error
    assert not PaymentLine.objects.filter(enrolment=poisoned).exists()
    Enrolment.objects.filter(pk=poisoned.pk).update(gradual_exit_amount=Decimal("1725"))
    batches.resume_batch(batch=batch, inline=True)
    batch.refresh_from_db()
    assert (batch.status, batch.error, batch.line_count) == ("computed", "", 7)
    assert PaymentLine.objects.get(enrolment=poisoned).amount == Decimal("1725")


def test_an_error_in_closing_fails_the_batch_with_the_reason(regions, caseload, monkeypatch):
    batch = batches.create_batch(region=regions["jingkou"], month=AUG, by=None)
    monkeypatch.setattr(batches, "correction_lines", lambda batch: 1 / 0)

    batch = batches.compute_batch(batch=batch, inline=True)

    assert batch.status == "failed"
    assert "ZeroDivisionError" in batch.error
    assert not PaymentLine.objects.filter(batch=batch, kind="back_pay").exists()
    monkeypatch.undo()
    batches.resume_batch(batch=batch, inline=True)
    batch.refresh_from_db()
    assert (batch.status, batch.error) == ("computed", "")


def test_a_failed_batch_shows_why_in_the_api_and_resumes_there(
    client, regions, caseload, make_user, monkeypatch
):
    client.force_login(make_user("finance", regions["zhenjiang"]))
    monkeypatch.setattr(batches, "correction_lines", lambda batch: 1 / 0)
    batch = batches.compute_batch(
        batch=batches.create_batch(region=regions["jingkou"], month=AUG, by=None), inline=True
    )

    shown = client.get(f"/api/batches/{batch.pk}/").json()
    assert (shown["status"], shown["error"][:5]) == ("failed", "结算失败：")
    monkeypatch.undo()
    load_standards()
    response = client.post(f"/api/batches/{batch.pk}/resume/")
    assert response.status_code == 202
    assert PaymentBatch.objects.get(pk=batch.pk).status == "computed"


def test_an_export_that_fails_keeps_the_batch_approved_with_the_reason_and_can_be_repeated(
    poisoned_batch, approver, monkeypatch, client
):
    batch, _households = poisoned_batch

    def disk_full(path, rows):
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(__import__("payments.bankfiles").bankfiles.WRITERS, "csv", disk_full)
    client.force_login(approver)
    response = client.post(f"/api/batches/{batch.pk}/bank-file/")

    assert response.status_code == 409
    assert "No space left" in response.json()["detail"]
    batch.refresh_from_db()
    assert (batch.status, batch.error[:5]) == ("approved", "导出失败：")
    monkeypatch.undo()
    assert client.post(f"/api/batches/{batch.pk}/bank-file/").status_code == 201
    batch.refresh_from_db()
    assert (batch.status, batch.error) == ("exported", "")


@pytest.mark.parametrize("action", ["recompute", "resume"])
def test_a_malformed_batch_id_is_a_404_not_a_500(client, regions, make_user, action):
    client.force_login(make_user("finance", regions["zhenjiang"]))

    response = client.post(f"/api/batches/abc/{action}/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


@pytest.fixture
def exported(poisoned_batch, approver, client):
    batch, _households = poisoned_batch
    export_batch(batch=batch, by=approver)
    client.force_login(approver)
    return batch


def _return(client, batch, name: str, content: bytes):
    upload = SimpleUploadedFile(name, content)
    return client.post(f"/api/batches/{batch.pk}/return-file/", {"file": upload})


def test_a_return_file_cell_over_131072_characters_is_a_400(exported, client):
    content = f"H,DOUDI-BANKFILE-1\r\nD,1,B1-H1,{'9' * 131_073},x\r\nT,1,1.00\r\n".encode()

    response = _return(client, exported, "return.csv", content)

    assert response.status_code == 400
    assert "第2行" in response.json()["file"][0]
    assert PaymentBatch.objects.get(pk=exported.pk).status == "exported"


def test_a_damaged_xlsx_return_file_is_a_400(exported, client):
    response = _return(client, exported, "return.xlsx", b"PK\x03\x04 not really a workbook")

    assert response.status_code == 400
    assert "损坏" in response.json()["file"][0]
    assert PaymentBatch.objects.get(pk=exported.pk).status == "exported"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"value": "9999999999.9999"}, "value"),
        ({"value": "-1"}, "value"),
        ({"effective_from": "0001-01-01"}, "effective_from"),
        ({"note": "依据\u0001"}, "note"),
    ],
)
def test_a_standard_out_of_bounds_is_refused(client, regions, approver, data, field):
    client.force_login(approver)
    payload = {
        "region": "321100000000",
        "component": "standard",
        "category": "dibao",
        "value": "900",
        "effective_from": "2025-01-01",
    } | data

    response = client.post("/api/standards/", payload, content_type="application/json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not Standard.objects.exists()


def test_a_recovery_past_the_ceiling_is_refused(client, household, approver):
    client.force_login(approver)
    payload = {
        "household": household.pk,
        "amount": "999999999999.99",
        "reason": "overpayment",
        "note": "审计发现",
    }

    response = client.post("/api/recoveries/", payload, content_type="application/json")

    assert response.status_code == 400
    assert list(response.json()) == ["amount"]


def test_run_payroll_says_a_batch_failed_and_resumes_it_once_fixed(regions, caseload, monkeypatch):
    monkeypatch.setattr(batches, "correction_lines", lambda batch: 1 / 0)
    args = ["--month", "2024-08", "--region", "321102", "--sync"]

    with pytest.raises(CommandError, match="failed: 结算失败：ZeroDivisionError"):
        call_command("run_payroll", *args, stdout=io.StringIO())

    monkeypatch.undo()
    call_command("run_payroll", *args, "--resume", stdout=io.StringIO())
    assert PaymentBatch.objects.get().status == "computed"
