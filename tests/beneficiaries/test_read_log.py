"""Who read whom: every read of personal data through the registry API is one append-only entry,
and auditors list and export the log of their region."""

import csv
import datetime
import io

import pytest
from django.db import DatabaseError, transaction
from openpyxl import load_workbook
from rest_framework.test import APIClient

from beneficiaries import service_accounts, services
from beneficiaries.models import ReadEntry
from core.idnumbers import make_resident_id


@pytest.fixture
def auditor(regions, make_user):
    return make_user("auditor", regions["zhenjiang"], username="zj-auditor")


@pytest.fixture
def members(household, caseworker):
    """Three more members of ``household``, old people born in 1955 in 京口区."""
    return [
        services.add_member(
            household=household,
            name=name,
            id_number=make_resident_id("321102", datetime.date(1955, 1, 1), n, "F"),
            relation="other",
            by=caseworker,
        )
        for n, name in enumerate(["李秀英", "欧阳·娜娜", "𠮷田"], start=101)
    ]


def test_a_household_read_records_who_what_which_household_and_from_where(
    api, household, caseworker
):
    response = api(caseworker).get(f"/api/households/{household.pk}/", REMOTE_ADDR="10.20.30.40")

    assert response.status_code == 200
    entry = ReadEntry.objects.get()
    assert (entry.user, entry.what, entry.household, entry.rows) == (
        caseworker,
        "household.detail",
        household,
        1,
    )
    assert (entry.ip_address, entry.path) == ("10.20.30.40", f"/api/households/{household.pk}/")
    assert entry.region_code == household.region_code
    assert entry.at is not None


def test_a_member_read_names_the_members_household(api, household, caseworker, members):
    api(caseworker).get(f"/api/members/{members[1].pk}/")
    entry = ReadEntry.objects.get()
    assert (entry.what, entry.household) == ("member.detail", household)


def test_a_list_is_one_entry_with_its_filter_and_row_count(api, household, caseworker, members):
    response = api(caseworker).get(f"/api/members/?household={household.pk}&page_size=3&page=1")

    assert len(response.json()["results"]) == 3
    entry = ReadEntry.objects.get()
    assert (entry.what, entry.rows, entry.query) == ("member.list", 3, f"household={household.pk}")
    assert entry.household == household


def test_a_list_across_households_names_no_household_and_the_readers_region(
    api, household, empty_household, caseworker
):
    api(caseworker).get("/api/households/?address=路")
    entry = ReadEntry.objects.get()
    assert (entry.what, entry.rows, entry.household) == ("household.list", 2, None)
    assert (entry.query, entry.region_code) == ("address=%E8%B7%AF", caseworker.region.code)


def test_a_read_outside_the_region_is_refused_and_not_logged(api, household, caseworker_b):
    response = api(caseworker_b).get(f"/api/households/{household.pk}/")
    assert response.status_code == 404
    assert not ReadEntry.objects.exists()


def test_income_and_asset_reads_name_their_household(api, household, caseworker, members):
    income = services.add_income(
        member=members[0], type="pension", monthly_amount="1200.00", valid_from="2024-01-01",
        by=caseworker,
    )  # fmt: skip
    api(caseworker).get(f"/api/incomes/{income.pk}/")
    assert ReadEntry.objects.get().household == household


def test_writes_are_not_read_entries(api, household, caseworker):
    response = api(caseworker).patch(
        f"/api/households/{household.pk}/", {"address": "北府路2号"}, format="json"
    )
    assert response.status_code == 200
    assert not ReadEntry.objects.exists()


def test_an_auditor_lists_the_read_log_per_household_and_per_user_inside_the_region(
    api, household, caseworker, auditor, regions, make_user
):
    reader = api(caseworker)
    reader.get(f"/api/households/{household.pk}/")
    reader.get("/api/members/")
    outsider = make_user("caseworker", regions["town_c"], username="cz-cw")
    api(outsider).get("/api/households/")

    client = api(auditor)
    everything = client.get("/api/read-log/").json()
    per_household = client.get(f"/api/read-log/?household={household.pk}").json()
    per_user = client.get("/api/read-log/?user=cw_a").json()

    assert everything["count"] == 2  # the Changzhou caseworker's read is not in Zhenjiang
    assert [e["what"] for e in per_household["results"]] == ["household.detail"]
    assert {e["user"] for e in per_user["results"]} == {"cw_a"}
    assert per_user["count"] == 2
    assert per_household["results"][0]["at"].endswith("+08:00")


@pytest.mark.parametrize("role", ["caseworker", "finance", "county_approver", "grid_worker"])
def test_only_auditors_read_the_read_log(api, regions, make_user, role):
    response = api(make_user(role, regions["zhenjiang"])).get("/api/read-log/")
    assert response.status_code == 403


def test_the_read_log_exports_as_csv_and_xlsx_through_the_cell_sanitizer(
    api, household, auditor, regions, make_user
):
    odd = make_user("caseworker", regions["town_a"], username="+1+cmd")
    api(odd).get(f"/api/households/{household.pk}/")
    client = api(auditor)

    body = b"".join(
        client.get(f"/api/read-log/export-csv/?household={household.pk}").streaming_content
    )
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    xlsx = client.get("/api/read-log/export-xlsx/?user=%2B1%2Bcmd")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]

    assert rows[0][:3] == ["编号", "时间", "查阅人"]
    assert len(rows) == 2 and rows[1][2] == "'+1+cmd"
    assert rows[1][4:6] == ["household.detail", str(household.pk)]
    assert len(values) == 2 and values[1][2] == "'+1+cmd"


@pytest.mark.postgres
def test_the_read_log_refuses_update_and_delete(api, household, caseworker):
    api(caseworker).get(f"/api/households/{household.pk}/")
    entry = ReadEntry.objects.get()
    for change in (
        lambda: ReadEntry.objects.filter(pk=entry.pk).update(what="nothing"),
        lambda: ReadEntry.objects.filter(pk=entry.pk).delete(),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            change()
    assert ReadEntry.objects.get(pk=entry.pk).what == "household.detail"


def test_a_read_with_a_token_names_the_token_and_its_service_account(
    api, household, auditor, make_partner, make_user, regions
):
    centre = make_partner("check-centre", regions["jingkou"], ["economic_check.upload"])
    token, secret = service_accounts.issue_token(user=centre, name="核对结果", by=None)
    person = make_user("caseworker", regions["jingkou"], username="cw-script")
    own, own_secret = service_accounts.issue_token(user=person, name="脚本", by=person)
    for key in (secret, own_secret):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert client.get(f"/api/households/{household.pk}/").status_code == 200
    api(person).get(f"/api/households/{household.pk}/")  # signed in, no token

    by_centre, by_script, signed_in = ReadEntry.objects.order_by("id")
    listed = api(auditor).get(f"/api/read-log/?token={token.token_key}").json()
    body = b"".join(api(auditor).get("/api/read-log/export-csv/").streaming_content)
    exported = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))

    assert (by_centre.user, by_centre.token) == (centre, token)
    assert (by_script.user, by_script.token) == (person, own)
    assert (signed_in.user, signed_in.token) == (person, None)
    assert [(e["user"], e["service_account"], e["token"]) for e in listed["results"]] == [
        ("check-centre", True, token.token_key)
    ]
    assert exported[0][-1] == "令牌"
    assert [row[-1] for row in exported[1:]] == ["", own.token_key, token.token_key]
