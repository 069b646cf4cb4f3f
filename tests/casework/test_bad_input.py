"""Bad input in casework: values with no sensible bounds are refused at entry with a field
message, and what is already stored exports as text, never as a formula or a 500."""

import datetime
import io
import zipfile
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from openpyxl import load_workbook
from rest_framework.test import APIClient

from casework.models import Adjustment, Enrolment, Referral
from casework.services import enrolments
from core.months import add_months, first_of_month
from tests.db import as_owner

THIS_MONTH = first_of_month(timezone.localdate())


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def enrolment(household, family, caseworker, approver):
    return enrolments.enrol(
        household=household,
        category="dibao",
        start_month=datetime.date(2024, 8, 1),
        by=caseworker,
        approved_by=approver,
    )


def _change(user, enrolment, change, **data):
    payload = {"effective_month": f"{THIS_MONTH:%Y-%m}", "reason_code": "income"}
    payload |= {"reason_text": "收入超标"} | data
    return client_for(user).post(f"/api/enrolments/{enrolment.pk}/{change}/", payload, "json")


@pytest.mark.parametrize(
    ("change", "data", "field"),
    [
        ("stop", {"reason_text": "收入\u0001超标"}, "reason_text"),
        ("stop", {"reason_text": "说明" * 350_000}, "reason_text"),  # 2.1 MB of UTF-8
        ("stop", {"effective_month": "2018-09"}, "effective_month"),
        ("stop", {"effective_month": f"{add_months(THIS_MONTH, 13):%Y-%m}"}, "effective_month"),
        ("gradual-exit", {"amount": "-5000"}, "amount"),
        ("gradual-exit", {"amount": "999999999999.99"}, "amount"),
        ("gradual-exit", {"months": 1000}, "months"),
    ],
)
def test_an_adjustment_out_of_bounds_is_refused_with_a_field_message(
    caseworker, enrolment, change, data, field
):
    response = _change(caseworker, enrolment, change, **data)

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not Adjustment.objects.exclude(kind="new").exists()
    assert Enrolment.objects.get(pk=enrolment.pk).status == "active"


def test_a_body_past_the_request_limit_is_a_json_400(caseworker, enrolment):
    response = _change(caseworker, enrolment, "stop", reason_text="说明" * 1_000_000)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert not Adjustment.objects.exclude(kind="new").exists()


def test_the_control_character_message_names_the_character(caseworker, enrolment):
    response = _change(caseworker, enrolment, "stop", reason_text="王\u0001五")

    assert "U+0001" in response.json()["reason_text"][0]


def test_a_change_within_the_back_pay_window_is_accepted(caseworker, enrolment):
    earliest = add_months(THIS_MONTH, -24)

    response = _change(caseworker, enrolment, "stop", effective_month=f"{earliest:%Y-%m}")

    assert response.status_code == 201, response.json()


def test_a_review_dated_1103_is_refused(caseworker, enrolment):
    response = client_for(caseworker).post(
        f"/api/enrolments/{enrolment.pk}/review/",
        {"note": "复核", "change": "decrease", "effective_month": "1103-01"},
        "json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["effective_month"]
    assert not enrolment.reviews.exists()


def test_a_referral_note_of_2_4_mb_is_refused(grid_worker, regions):
    response = client_for(grid_worker).post(
        "/api/referrals/",
        {
            "name": "赵六",
            "village": regions["village_a1"].pk,
            "reason": "other",
            "note": "情" * 800_000,
        },
        "json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["note"]
    assert not Referral.objects.exists()


def test_a_death_date_before_1900_is_refused(caseworker, family):
    response = client_for(caseworker).post(
        "/api/deaths/", {"member": family["head"].pk, "died_on": "1800-01-01"}, "json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["died_on"]


@pytest.mark.postgres
def test_the_database_refuses_an_adjustment_reason_past_its_length(enrolment):
    with pytest.raises(IntegrityError), transaction.atomic():
        Adjustment.objects.create(
            enrolment=enrolment,
            region_code=enrolment.region_code,
            kind="stop",
            reason_code="x",
            reason_text="长" * 2001,
            effective_month=THIS_MONTH,
        )


def test_a_bad_enum_in_a_list_action_filter_is_a_400(caseworker):
    response = client_for(caseworker).get("/api/applications/overdue/?state=AAA")

    assert response.status_code == 400
    assert list(response.json()) == ["state"]


def test_a_bad_month_filter_answers_with_the_field(auditor):
    response = client_for(auditor).get("/api/adjustments/?month=2024-13")

    assert response.status_code == 400
    assert list(response.json()) == ["month"]


@pytest.fixture
def stored_badly(enrolment, caseworker):
    """Adjustments recorded before the input bounds (append-only: they stay): a control character, a
    live formula, a formula hidden behind a minus sign, and a plain negative number as text."""
    reasons = ["王\u0001五\u0008", '=HYPERLINK("http://evil","点我")', "-1+2", "-5000"]
    for reason in reasons:
        Adjustment.objects.create(
            enrolment=enrolment,
            region_code=enrolment.region_code,
            kind="decrease",
            reason_code="legacy",
            reason_text=reason,
            effective_month=datetime.date(2024, 9, 1),
            amount_before=Decimal("1725.00"),
            amount_after=Decimal("0.00"),
        )
    return reasons


def test_the_xlsx_export_writes_stored_text_as_text_whatever_it_holds(auditor, stored_badly):
    response = client_for(auditor).get("/api/adjustments/export-xlsx/?kind=decrease")

    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows())[1:]
    reasons = [row[7].value for row in rows]
    assert reasons == ["王\ufffd五\ufffd", '\'=HYPERLINK("http://evil","点我")', "'-1+2", "-5000"]
    assert all(row[7].data_type == "s" for row in rows)
    assert [row[9].value for row in rows] == [1725] * 4  # amounts stay numbers
    assert rows[0][9].data_type == "n"


def test_the_csv_export_neutralizes_formula_prefixes(auditor, stored_badly):
    response = client_for(auditor).get("/api/adjustments/export-csv/?kind=decrease")

    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()[1:]
    assert [line.split(",")[7] for line in lines[2:]] == ["'-1+2", "-5000"]
    assert "'=HYPERLINK" in lines[1]
    assert "\x01" not in "".join(lines)


@pytest.fixture
def database_before_bounds(db):
    with as_owner(), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE casework_adjustment DROP CONSTRAINT adjustment_reason_length")


@pytest.mark.postgres
def test_a_stored_reason_longer_than_a_cell_is_cut_not_a_500(
    database_before_bounds, auditor, enrolment
):
    Adjustment.objects.create(
        enrolment=enrolment,
        region_code=enrolment.region_code,
        kind="decrease",
        reason_code="legacy",
        reason_text="长" * 40_000,
        effective_month=datetime.date(2024, 9, 1),
    )

    response = client_for(auditor).get("/api/adjustments/export-xlsx/?kind=decrease")

    (row,) = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))[
        1:
    ]
    assert len(row[7]) == 32_767 and row[7].endswith("…")
