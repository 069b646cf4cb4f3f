"""Partner systems call the payments API with scoped tokens: the bank sends return files, a
platform reads monthly totals; each inside its region, on the routes its scopes name only."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from beneficiaries import service_accounts
from beneficiaries.models import ApiToken
from payments import approval, bankfiles
from payments.models import BankReturn, PaymentBatch

SEP = datetime.date(2024, 9, 1)
BANK = ["bank_return.upload"]
TOTALS = ["batch_totals.read"]


@pytest.fixture
def exported(make_batch, add_line, household, approver):
    batch = make_batch(SEP)
    add_line(batch, household, "1725")
    batch = approval.approve_batch(batch=batch, by=approver)
    bankfiles.export_batch(batch=batch, by=approver)
    return PaymentBatch.objects.get(pk=batch.pk)


def _token(user) -> tuple[ApiToken, APIClient]:
    token, secret = service_accounts.issue_token(user=user, name="对接", by=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return token, client


def _upload(client, batch, content: bytes):
    return client.post(
        f"/api/batches/{batch.pk}/return-file/",
        {"file": SimpleUploadedFile("回盘.csv", content)},
        format="multipart",
    )


def test_the_bank_uploads_a_return_file_with_its_scoped_token(
    exported, return_file, make_partner, regions
):
    bank = make_partner("bank-zhenjiang", regions["zhenjiang"], BANK)
    _token_row, client = _token(bank)

    found = client.get("/api/batches/?status=exported")
    response = _upload(client, exported, return_file(exported.bank_files.get(format="csv")))

    assert found.status_code == 200 and found.json()["results"][0]["id"] == exported.pk
    assert response.status_code == 201, response.json()
    assert response.json()["paid_total"] == "1725.00"
    assert BankReturn.objects.get(batch=exported).imported_by == bank
    assert PaymentBatch.objects.get(pk=exported.pk).status == "reconciled"


def test_a_platform_reads_the_monthly_totals_with_its_token(exported, make_partner, regions):
    platform = make_partner("platform-zhenjiang", regions["zhenjiang"], TOTALS)
    _token_row, client = _token(platform)

    listed = client.get("/api/batches/")
    review = client.get(f"/api/batches/{exported.pk}/review/")

    assert [batch["month"] for batch in listed.json()["results"]] == ["2024-09"]
    assert review.status_code == 200
    assert review.json()["by_category"][0]["amount"] == "1725.00"
    assert review.json()["by_district"][0]["name"] == "京口区"


@pytest.mark.parametrize(
    ("scopes", "method", "path", "status"),
    [
        # the bank: its own routes, nothing else of the batch
        (BANK, "get", "/api/batches/{pk}/", 200),
        (BANK, "get", "/api/batches/{pk}/review/", 403),
        (BANK, "post", "/api/batches/{pk}/approve/", 403),
        (BANK, "post", "/api/batches/{pk}/close/", 403),
        (BANK, "get", "/api/batches/{pk}/bank-file/?file_format=csv", 403),
        (BANK, "get", "/api/payment-lines/", 403),
        (BANK, "get", "/api/households/", 403),
        # the platform reads totals and writes nothing
        (TOTALS, "get", "/api/batches/{pk}/review/", 200),
        (TOTALS, "get", "/api/batches/{pk}/diff/", 403),
        (TOTALS, "post", "/api/batches/{pk}/return-file/", 403),
        (TOTALS, "post", "/api/batches/", 403),
        (TOTALS, "get", "/api/payment-lines/", 403),
        (TOTALS, "get", "/api/enrolments/", 403),
    ],
)
def test_a_partner_calls_only_the_routes_its_scopes_name(
    exported, make_partner, regions, scopes, method, path, status
):
    partner = make_partner("partner", regions["zhenjiang"], scopes)
    _token_row, client = _token(partner)

    response = getattr(client, method)(path.format(pk=exported.pk))

    assert response.status_code == status
    assert PaymentBatch.objects.get(pk=exported.pk).status == "exported"
    assert not BankReturn.objects.exists()


@pytest.mark.parametrize(
    ("scopes", "region", "method", "path"),
    [
        (BANK, "changzhou", "get", "/api/batches/{pk}/"),
        (BANK, "changzhou", "post", "/api/batches/{pk}/return-file/"),
        (TOTALS, "changzhou", "get", "/api/batches/{pk}/review/"),
        (TOTALS, "tianning", "get", "/api/batches/{pk}/"),
        # a county's platform does not see its city's batch either
        (TOTALS, "jingkou", "get", "/api/batches/{pk}/review/"),
    ],
)
def test_a_partner_gets_404_for_a_batch_outside_its_region(
    exported, make_partner, regions, return_file, scopes, region, method, path
):
    partner = make_partner("partner-elsewhere", regions[region], scopes)
    _token_row, client = _token(partner)
    data = {}
    if method == "post":
        content = return_file(exported.bank_files.get(format="csv"))
        data = {"file": SimpleUploadedFile("r.csv", content)}

    response = getattr(client, method)(path.format(pk=exported.pk), data)

    assert response.status_code == 404
    assert client.get("/api/batches/").json()["count"] == 0
    assert PaymentBatch.objects.get(pk=exported.pk).status == "exported"


def test_a_revoked_token_is_refused_on_the_next_call(exported, make_partner, regions):
    platform = make_partner("platform", regions["zhenjiang"], TOTALS)
    token, client = _token(platform)
    before = client.get(f"/api/batches/{exported.pk}/review/")

    service_accounts.revoke_token(token=token, by=None)
    after = client.get(f"/api/batches/{exported.pk}/review/")

    assert before.status_code == 200
    assert after.status_code in (401, 403)
    assert after.json()["detail"] == "认证令牌无效。"


def test_an_expired_token_is_refused(exported, make_partner, regions, clock):
    platform = make_partner("platform", regions["zhenjiang"], TOTALS)
    token, client = _token(platform)

    clock(token.expiry + datetime.timedelta(seconds=1))
    response = client.get(f"/api/batches/{exported.pk}/review/")

    assert response.status_code in (401, 403)
    assert ApiToken.objects.filter(pk=token.pk).exists()  # kept: the history names it


def test_a_revoked_service_account_is_refused_with_all_its_tokens(
    exported, return_file, make_partner, regions
):
    bank = make_partner("bank", regions["zhenjiang"], BANK)
    first, client = _token(bank)
    second, other_client = _token(bank)

    service_accounts.revoke_service_account(account=bank.service_account, by=None)

    assert client.get("/api/batches/").status_code in (401, 403)
    assert other_client.get("/api/batches/").status_code in (401, 403)
    assert ApiToken.objects.filter(user=bank, revoked_at=None).count() == 0
    assert bank.service_account.revoked_at is not None
    with pytest.raises(Exception, match="停用"):
        service_accounts.issue_token(user=bank, name="again", by=None)


@pytest.mark.postgres
def test_history_rows_name_the_token_and_the_service_account(
    exported, return_file, make_partner, regions
):
    bank = make_partner("bank", regions["zhenjiang"], BANK)
    token, client = _token(bank)

    _upload(client, exported, return_file(exported.bank_files.get(format="csv")))

    event = PaymentBatch.pgh_event_model.objects.filter(pgh_obj=exported, status="reconciled").get()
    assert event.pgh_context.metadata["user"] == bank.pk
    assert event.pgh_context.metadata["token"] == token.token_key
    assert event.pgh_context.metadata["token_id"] == token.pk
    assert event.pgh_context.metadata["service_account"] == bank.username
    assert token.token_key.startswith("doudi_")
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


def test_a_route_outside_the_scopes_is_refused_with_a_message_in_either_language(
    exported, make_partner, regions
):
    platform = make_partner("platform", regions["zhenjiang"], TOTALS)
    _token_row, client = _token(platform)

    chinese = client.post(f"/api/batches/{exported.pk}/approve/")
    english = client.post(f"/api/batches/{exported.pk}/approve/?lang=en")

    assert chinese.json()["detail"] == "此服务账号的权限范围不包括这个接口。"
    assert english.json()["detail"] == "This service account's scopes do not include this endpoint."
    assert PaymentBatch.objects.get(pk=exported.pk).status == "exported"
