"""The standards and CPI API: finance and admin add values; others read within their region."""

import datetime
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from rules.models import PriceIndex, Standard


@pytest.fixture
def api():
    def as_user(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return as_user


def standard_payload(**overrides):
    payload = {
        "region": "321100000000",
        "component": "standard",
        "value": "875",
        "effective_from": "2024-07-01",
        "note": "镇江市2024年低保标准",
    }
    payload.update(overrides)
    return payload


def test_finance_adds_a_standard_with_an_effective_date(api, regions, make_user):
    finance = make_user("finance", regions["zhenjiang"])
    response = api(finance).post("/api/standards/", standard_payload(), format="json")
    assert response.status_code == 201, response.data
    standard = Standard.objects.get(pk=response.data["id"])
    assert (standard.value, standard.effective_from) == (Decimal("875"), datetime.date(2024, 7, 1))
    assert standard.created_by == finance
    assert response.data["label"] == "低保标准"


def test_a_past_effective_date_is_accepted_and_marked_retroactive(api, regions, make_user):
    finance = make_user("finance", regions["zhenjiang"])
    response = api(finance).post(
        "/api/standards/", standard_payload(effective_from="2023-07-01"), format="json"
    )
    assert response.status_code == 201
    assert response.data["retroactive"] is True
    assert Standard.objects.filter(effective_from="2023-07-01").exists()


def test_admin_may_add_a_standard(api, regions, make_user):
    admin = make_user("admin", regions["jiangsu"])
    response = api(admin).post("/api/standards/", standard_payload(), format="json")
    assert response.status_code == 201


@pytest.mark.parametrize("role", ["caseworker", "grid_worker", "county_approver", "auditor"])
def test_other_roles_may_not_add_a_standard(api, regions, make_user, role):
    user = make_user(role, regions["zhenjiang"])
    response = api(user).post("/api/standards/", standard_payload(), format="json")
    assert response.status_code == 403
    assert not Standard.objects.exists()


def test_finance_may_not_set_another_citys_standard(api, regions, make_user):
    finance = make_user("finance", regions["zhenjiang"])
    response = api(finance).post(
        "/api/standards/", standard_payload(region="320400000000"), format="json"
    )
    assert response.status_code == 400
    assert "region" in response.data
    assert not Standard.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"component": "no_such_thing"}, "component"),
        ({"value": "abc"}, "value"),
        ({"value": "-1"}, "value"),
        ({"component": "orphan_community_share", "value": "65"}, "value"),
        ({"component": "rounding_mode", "value": "9"}, "value"),
        ({"effective_from": "2024-07-15"}, "effective_from"),
        ({"effective_from": "not a date"}, "effective_from"),
        ({"category": "no_such_category"}, "category"),
        ({"region": "321102001001"}, "region"),
        ({"region": "999900000000"}, "region"),
    ],
)
def test_bad_standard_input_is_refused_field_by_field(api, regions, make_user, overrides, field):
    finance = make_user("finance", regions["zhenjiang"])
    response = api(finance).post("/api/standards/", standard_payload(**overrides), format="json")
    assert response.status_code == 400
    assert field in response.data
    assert not Standard.objects.exists()


def test_a_second_value_for_the_same_date_is_a_conflict(api, regions, make_user):
    finance = make_user("finance", regions["zhenjiang"])
    client = api(finance)
    assert client.post("/api/standards/", standard_payload(), format="json").status_code == 201
    response = client.post("/api/standards/", standard_payload(value="900"), format="json")
    assert response.status_code == 409
    assert Standard.objects.get().value == Decimal("875")


def test_standards_are_read_only_once_recorded(api, regions, make_user):
    finance = make_user("finance", regions["zhenjiang"])
    client = api(finance)
    created = client.post("/api/standards/", standard_payload(), format="json").data
    response = client.patch(f"/api/standards/{created['id']}/", {"value": "1"}, format="json")
    assert response.status_code == 405
    assert Standard.objects.get().value == Decimal("875")


def test_caseworkers_read_their_citys_standards_but_not_other_cities(api, regions, make_user):
    Standard.objects.create(
        region=regions["zhenjiang"], component="standard", value=875, effective_from="2024-07-01"
    )
    Standard.objects.create(
        region=regions["changzhou"], component="standard", value=1020, effective_from="2023-07-01"
    )
    caseworker = make_user("caseworker", regions["town_a"])
    response = api(caseworker).get("/api/standards/")
    assert response.status_code == 200
    assert [row["region"] for row in response.data["results"]] == ["321100000000"]


def cpi_payload(**overrides):
    payload = {"region": "320400000000", "month": "2024-08", "cpi_rise_percent": "3.2"}
    payload.update(overrides)
    return payload


def test_finance_records_the_months_cpi(api, regions, make_user):
    finance = make_user("finance", regions["changzhou"])
    response = api(finance).post("/api/price-indices/", cpi_payload(), format="json")
    assert response.status_code == 201, response.data
    assert response.data["month"] == "2024-08"
    recorded = PriceIndex.objects.get()
    assert (recorded.month, recorded.cpi_rise_percent) == (
        datetime.date(2024, 8, 1),
        Decimal("3.2"),
    )
    assert recorded.recorded_by == finance


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"month": "2024-13"}, "month"),
        ({"month": "August"}, "month"),
        ({"cpi_rise_percent": "lots"}, "cpi_rise_percent"),
        ({"cpi_rise_percent": "150"}, "cpi_rise_percent"),
        ({"region": "320402000000"}, "region"),
        ({"region": None}, "region"),
    ],
)
def test_bad_cpi_input_is_refused(api, regions, make_user, overrides, field):
    finance = make_user("finance", regions["changzhou"])
    response = api(finance).post("/api/price-indices/", cpi_payload(**overrides), format="json")
    assert response.status_code == 400
    assert field in response.data
    assert not PriceIndex.objects.exists()


def test_the_months_cpi_is_recorded_once(api, regions, make_user):
    finance = make_user("finance", regions["changzhou"])
    client = api(finance)
    assert client.post("/api/price-indices/", cpi_payload(), format="json").status_code == 201
    response = client.post("/api/price-indices/", cpi_payload(cpi_rise_percent="6"), format="json")
    assert response.status_code == 409
    assert PriceIndex.objects.get().cpi_rise_percent == Decimal("3.2")


def test_caseworkers_may_not_record_the_cpi(api, regions, make_user):
    caseworker = make_user("caseworker", regions["changzhou"])
    response = api(caseworker).post("/api/price-indices/", cpi_payload(), format="json")
    assert response.status_code == 403
    assert not PriceIndex.objects.exists()


def test_admin_pages_list_standards_and_refuse_edits(client, regions, make_user):
    admin = make_user("admin", regions["jiangsu"], is_staff=True)
    standard = Standard.objects.create(
        region=regions["zhenjiang"], component="standard", value=875, effective_from="2024-07-01"
    )
    client.force_login(admin)
    assert client.get("/admin/rules/standard/").status_code == 200
    assert client.get("/admin/rules/standard/add/").status_code == 200
    response = client.post(f"/admin/rules/standard/{standard.pk}/change/", {"value": "1"})
    assert response.status_code == 403
    standard.refresh_from_db()
    assert standard.value == Decimal("875")


def test_admin_add_form_goes_through_the_rules(client, regions, make_user):
    admin = make_user("admin", regions["jiangsu"], is_staff=True)
    client.force_login(admin)
    form = {
        "region": regions["zhenjiang"].pk,
        "category": "",
        "component": "standard",
        "value": "875",
        "effective_from": "2024-07-15",
        "note": "",
    }
    response = client.post("/admin/rules/standard/add/", form)
    assert response.status_code == 200  # the form again, with the error
    assert not Standard.objects.exists()
    form["effective_from"] = "2024-07-01"
    response = client.post("/admin/rules/standard/add/", form)
    assert response.status_code == 302
    assert Standard.objects.get().created_by == admin
