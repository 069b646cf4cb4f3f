import datetime
import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from beneficiaries.models import User
from payments.models import PaymentBatch, Recovery

SEP = datetime.date(2024, 9, 1)


@pytest.fixture
def batch(make_batch, add_line, household):
    batch = make_batch(SEP)
    add_line(batch, household, "1725")
    return batch


def _as(client, user):
    client.force_login(user)
    return client


def test_the_preparer_is_refused_and_another_finance_user_approves_once(
    client, batch, preparer, approver
):
    url = f"/api/batches/{batch.pk}/approve/"

    refused = _as(client, preparer).post(url)
    approved = _as(client, approver).post(url)
    again = client.post(url)

    assert refused.status_code == 400
    assert refused.json()["code"] == "approver_is_preparer"
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert again.status_code == 409
    assert PaymentBatch.objects.get(pk=batch.pk).approved_by == approver


def test_the_policy_refuses_an_administrator_both_signatures_and_nothing_moves(
    client, batch, make_user, regions, household, preparer
):
    admin = make_user("admin", regions["zhenjiang"])
    recovery = Recovery.objects.create(
        household=household,
        region_code=household.region_code,
        amount="300.00",
        reason=Recovery.Reason.values[0],
        note="审计发现隐瞒收入",
        created_by=preparer,
    )

    urls = [
        f"/api/batches/{batch.pk}/submit/",
        f"/api/batches/{batch.pk}/approve/",
        f"/api/recoveries/{recovery.pk}/approve/",
    ]
    answers = [_as(client, admin).post(url).status_code for url in urls]

    assert answers == [403, 403, 403]
    batch.refresh_from_db()
    recovery.refresh_from_db()
    assert (batch.status, batch.approved_by, recovery.approved_by) == ("computed", None, None)


def test_a_batch_outside_the_users_region_is_not_found(client, batch, make_user, regions):
    outsider = make_user("finance", regions["changzhou"])

    response = _as(client, outsider).post(f"/api/batches/{batch.pk}/approve/")

    assert response.status_code == 404
    assert PaymentBatch.objects.get(pk=batch.pk).status == "computed"


def test_review_gives_totals_and_changes(client, batch, approver):
    response = _as(client, approver).get(f"/api/batches/{batch.pk}/review/")

    body = response.json()
    assert body["by_category"][0]["amount"] == "1725.00"
    assert body["by_district"][0]["name"] == "京口区"
    assert body["changes"] == {"new": 1, "stopped": 0, "changed": 0}
    assert (
        _as(client, approver).get(f"/api/batches/{batch.pk}/diff/?change=new").json()["count"] == 1
    )


def test_export_download_and_return_file_round_trip(client, batch, approver, return_file):
    client = _as(client, approver)
    client.post(f"/api/batches/{batch.pk}/approve/")
    exported = client.post(f"/api/batches/{batch.pk}/bank-file/")
    download = client.get(f"/api/batches/{batch.pk}/bank-file/?file_format=csv")
    content = b"".join(download.streaming_content)
    bank_file = batch.bank_files.get(format="csv")

    wrong = client.post(
        f"/api/batches/{batch.pk}/return-file/",
        {
            "file": SimpleUploadedFile(
                "r.csv", return_file(bank_file, edit=lambda rows: rows[:-2] + rows[-1:])
            )
        },
    )
    accepted = client.post(
        f"/api/batches/{batch.pk}/return-file/",
        {"file": SimpleUploadedFile("r.csv", return_file(bank_file))},
    )

    assert exported.status_code == 201
    assert hashlib.sha256(content).hexdigest() == download["X-Checksum-SHA256"] == bank_file.sha256
    assert wrong.status_code == 400 and "笔数不符" in wrong.json()["detail"]
    assert accepted.status_code == 201 and accepted.json()["paid_total"] == "1725.00"
    assert PaymentBatch.objects.get(pk=batch.pk).status == "reconciled"


def test_recoveries_are_recorded_listed_and_marked_repaid(client, household, approver):
    client = _as(client, approver)

    created = client.post(
        "/api/recoveries/",
        {
            "household": household.pk,
            "amount": "300.00",
            "reason": "hidden_income",
            "note": "审计发现",
        },
    )
    listed = client.get("/api/recoveries/")
    repaid = client.post(f"/api/recoveries/{created.json()['id']}/repaid/")

    assert created.status_code == 201
    assert listed.json()["results"][0]["outstanding"] == "300.00"
    assert repaid.json()["outstanding"] == "0.00"
    assert Recovery.objects.get().repaid_amount == 300


def test_a_caseworker_cannot_record_a_recovery(client, household, make_user, regions):
    caseworker = make_user("caseworker", regions["town_a"])

    response = _as(client, caseworker).post(
        "/api/recoveries/",
        {"household": household.pk, "amount": "300.00", "reason": "death", "note": "x"},
    )

    assert response.status_code == 403
    assert not Recovery.objects.exists()


def test_the_admin_approve_action_approves_nothing_administrators_are_not_finance(
    client, batch, preparer, approver
):
    for user in (preparer, approver):
        # The admin is the administrators' (core.policy), and only a second finance user
        # approves a batch: an administrator never does, preparer or not.
        user.is_staff, user.role = True, User.Role.ADMIN
        user.save()
    form = {"action": "approve", "_selected_action": [batch.pk]}

    _as(client, preparer).post("/admin/payments/paymentbatch/", form)
    _as(client, approver).post("/admin/payments/paymentbatch/", form)

    batch = PaymentBatch.objects.get(pk=batch.pk)
    assert (batch.status, batch.approved_by) == ("computed", None)
