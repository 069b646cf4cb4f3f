"""Bad input in the registry: bounds at entry (API, admin forms, imports) and uploads that are
refused whole, with a message, before they can cost memory or write anything."""

import io
import zipfile

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile

from beneficiaries.models import Household, IncomeItem, Member
from tests.beneficiaries.test_import import csv_bytes, row, xlsx


def test_a_control_character_in_the_bank_account_holder_is_refused(api, caseworker, regions):
    response = api(caseworker).post(
        "/api/households/",
        {
            "village": regions["village_a1"].pk,
            "address": "北府路2号",
            "hukou_type": "urban",
            "bank_account_holder": "王\u0001五",
            "bank_account_number": "6222020000000000000",
        },
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["bank_account_holder"]
    assert "U+0001" in response.json()["bank_account_holder"][0]
    assert not Household.objects.exists()


def test_a_control_character_cannot_be_patched_in_either(api, caseworker, household):
    response = api(caseworker).patch(
        f"/api/households/{household.pk}/", {"bank_account_holder": "王\u0001五"}, format="json"
    )

    assert response.status_code == 400
    household.refresh_from_db()
    assert household.bank_account_holder == "王伟"


def test_the_admin_form_refuses_what_the_api_refuses():
    form_class = forms.modelform_factory(Household, fields=["address", "bank_account_holder"])

    form = form_class(data={"address": "北府路\u202e2号", "bank_account_holder": "王\u0001五"})

    assert not form.is_valid()
    assert set(form.errors) == {"address", "bank_account_holder"}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"monthly_amount": "999999999999.99"}, "monthly_amount"),
        ({"monthly_amount": "-1"}, "monthly_amount"),
        ({"valid_from": "0001-01-01"}, "valid_from"),
        ({"valid_from": "9999-12-31"}, "valid_from"),
        ({"note": "备注\u0000"}, "note"),
    ],
)
def test_an_income_out_of_bounds_is_refused(api, caseworker, household, data, field):
    member = household.members.get()
    payload = {
        "member": member.pk,
        "type": "wages",
        "monthly_amount": "1800.00",
        "valid_from": "2024-01-01",
    } | data

    response = api(caseworker).post("/api/incomes/", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not IncomeItem.objects.exists()


def test_an_import_row_with_a_control_character_is_reported_and_nothing_written(
    api, caseworker, new_id
):
    rows = [
        row(
            household_key="H1",
            village_code="321102001001",
            address="北府路1号",
            hukou_type="城镇",
            name="王\u0001五",
            id_number=new_id(),
            relation="户主",
            income_type="工资性收入",
            monthly_amount="999999999999.99",
            income_valid_from="0001-01-01",
        )
    ]
    upload = SimpleUploadedFile("roll.csv", csv_bytes(rows))

    response = api(caseworker).post("/api/households/import/", {"file": upload}, format="multipart")

    assert response.status_code == 400
    columns = {error["column"] for error in response.json()["errors"]}
    assert columns == {"姓名", "月收入", "收入起始日期"}
    assert not Member.objects.exists()


def _import(api, user, name: str, content: bytes):
    upload = SimpleUploadedFile(name, content)
    return api(user).post("/api/households/import/", {"file": upload}, format="multipart")


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
    api, caseworker, settings, monkeypatch
):
    settings.UPLOAD_MAX_BYTES = 1024 * 1024

    def never(*args, **kwargs):
        raise AssertionError("the file was read")

    monkeypatch.setattr("beneficiaries.imports.import_households", never)
    response = _import(api, caseworker, "roll.csv", b"a,b\n" * 300_000)

    assert response.status_code == 400
    assert "上限" in response.json()["file"][0]


def test_a_csv_cell_over_131072_characters_is_a_400(api, caseworker, new_id):
    rows = [row(household_key="H1", address="长" * 131_073, name="王五", id_number=new_id())]

    response = _import(api, caseworker, "roll.csv", csv_bytes(rows))

    assert response.status_code == 400
    assert "第2行" in response.json()["file"][0]
    assert not Household.objects.exists()


def test_a_csv_cell_over_the_cell_limit_is_a_400(api, caseworker, new_id):
    rows = [row(household_key="H1", address="长" * 5_000, name="王五", id_number=new_id())]

    response = _import(api, caseworker, "roll.csv", csv_bytes(rows))

    assert response.status_code == 400
    assert "1000" in response.json()["file"][0]


def test_a_damaged_xlsx_is_a_400(api, caseworker):
    content = xlsx([row(household_key="H1", name="王五")])

    response = _import(api, caseworker, "roll.xlsx", content[: len(content) // 2])

    assert response.status_code == 400
    assert "损坏" in response.json()["file"][0]


def zip_bomb(expanded: int) -> bytes:
    """An XLSX-shaped archive whose shared strings expand to ``expanded`` bytes of XML."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            block = b"<si><t>" + b"A" * 1_000_000 + b"</t></si>"
            for _ in range(expanded // len(block)):
                part.write(block)
    return buffer.getvalue()


def test_an_xlsx_that_expands_past_the_limit_is_refused_before_it_is_parsed(api, caseworker):
    bomb = zip_bomb(250 * 1024 * 1024)
    assert len(bomb) < 2 * 1024 * 1024

    response = _import(api, caseworker, "roll.xlsx", bomb)

    assert response.status_code == 400
    assert "解压后" in response.json()["file"][0]
    assert not Household.objects.exists()


def test_a_file_with_too_many_rows_is_refused(api, caseworker, monkeypatch):
    from core.uploads import Limits

    monkeypatch.setattr("beneficiaries.imports.LIMITS", Limits(max_rows=3))
    content = csv_bytes([row(household_key=f"H{n}") for n in range(5)])

    response = _import(api, caseworker, "roll.csv", content)

    assert response.status_code == 400
    assert "超过3行" in response.json()["file"][0]
