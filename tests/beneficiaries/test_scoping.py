"""Roles and region scope in the registry API: each denial, and what each role may still do."""

import datetime
from decimal import Decimal

import pytest
from rest_framework.test import APIRequestFactory

from beneficiaries import services
from beneficiaries.api.serializers import MemberSerializer
from beneficiaries.models import Asset, Household, IncomeItem, Member


@pytest.fixture
def records(household, caseworker):
    """A household of township A with a member, an income and an asset."""
    income = services.add_income(
        member=household.head,
        type="wages",
        monthly_amount=Decimal("900"),
        valid_from=datetime.date(2024, 1, 1),
        by=caseworker,
    )
    asset = services.add_asset(
        household=household, kind="deposit", value=Decimal("5000"), by=caseworker
    )
    return {
        "households": household.pk,
        "members": household.head.pk,
        "incomes": income.pk,
        "assets": asset.pk,
    }


@pytest.mark.parametrize("resource", ["households", "members", "incomes", "assets"])
def test_another_townships_caseworker_gets_404_for_each_record(
    api, records, caseworker_b, resource
):
    client = api(caseworker_b)
    assert client.get(f"/api/{resource}/{records[resource]}/").status_code == 404
    assert client.get(f"/api/{resource}/").data["count"] == 0


@pytest.mark.parametrize("resource", ["households", "members", "incomes", "assets"])
def test_the_townships_own_caseworker_sees_each_record(api, records, caseworker, resource):
    client = api(caseworker)
    assert client.get(f"/api/{resource}/{records[resource]}/").status_code == 200
    assert client.get(f"/api/{resource}/").data["count"] == 1


def test_another_townships_caseworker_cannot_change_a_household(api, household, caseworker_b):
    response = api(caseworker_b).patch(
        f"/api/households/{household.pk}/", {"address": "改"}, format="json"
    )
    assert response.status_code == 404
    assert Household.objects.get(pk=household.pk).address == "北府路1号"


def test_another_townships_household_cannot_be_named_in_an_input(
    api, household, caseworker_b, new_id
):
    response = api(caseworker_b).post(
        "/api/members/",
        {"household": household.pk, "name": "外人", "id_number": new_id(), "relation": "child"},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.data) == {"household"}
    # Exactly the answer for an id that does not exist at all: nothing to probe.
    missing = api(caseworker_b).post(
        "/api/members/",
        {"household": 999999, "name": "外人", "id_number": new_id(), "relation": "child"},
        format="json",
    )
    assert missing.data["household"] == [
        response.data["household"][0].replace(str(household.pk), "999999")
    ]
    assert household.members.count() == 1


def test_a_caseworker_cannot_register_in_another_townships_village(api, regions, caseworker_b):
    response = api(caseworker_b).post(
        "/api/households/",
        {"village": regions["village_a1"].pk, "address": "x", "hukou_type": "urban"},
        format="json",
    )
    assert response.status_code == 400
    assert "village" in response.data
    assert not Household.objects.exists()


def test_regions_are_scoped_to_the_users_subtree(api, regions, caseworker_b):
    codes = [r["code"] for r in api(caseworker_b).get("/api/regions/").data["results"]]
    assert codes == ["321102002000", "321102002001"]


@pytest.mark.parametrize("resource", ["households", "members", "incomes", "assets", "member-moves"])
def test_grid_workers_have_no_registry_access(api, regions, records, make_user, resource):
    grid_worker = make_user("grid_worker", regions["village_a1"])
    client = api(grid_worker)
    assert client.get(f"/api/{resource}/").status_code == 403
    if resource in records:
        assert client.get(f"/api/{resource}/{records[resource]}/").status_code == 403


def test_grid_workers_may_read_the_regions_of_their_area(api, regions, make_user):
    grid_worker = make_user("grid_worker", regions["village_a1"])
    response = api(grid_worker).get("/api/regions/")
    assert [r["code"] for r in response.data["results"]] == ["321102001001"]


def test_grid_workers_see_resident_ids_masked(regions, household, make_user, caseworker):
    request = APIRequestFactory().get("/")
    member = household.head
    request.user = make_user("grid_worker", regions["village_a1"])
    masked = MemberSerializer(member, context={"request": request}).data["id_number"]
    request.user = caseworker
    full = MemberSerializer(member, context={"request": request}).data["id_number"]
    assert full == member.id_number
    assert masked == member.id_number[:4] + "*" * 10 + member.id_number[-4:]


def test_an_id_is_masked_when_no_user_is_known(household):
    assert MemberSerializer(household.head).data["id_number"].count("*") == 10


def test_auditors_read_everything_in_their_region(api, regions, records, make_user):
    auditor = make_user("auditor", regions["jingkou"])
    client = api(auditor)
    for resource, pk in records.items():
        assert client.get(f"/api/{resource}/{pk}/").status_code == 200


def test_an_auditor_of_another_city_sees_nothing(api, regions, records, make_user):
    auditor = make_user("auditor", regions["changzhou"])
    assert api(auditor).get(f"/api/households/{records['households']}/").status_code == 404


@pytest.mark.parametrize("role", ["auditor", "county_approver", "finance"])
def test_read_only_roles_cannot_write(api, regions, records, make_user, new_id, role):
    user = make_user(role, regions["jingkou"])
    client = api(user)
    household_id = records["households"]
    attempts = [
        client.post(
            "/api/households/",
            {"village": regions["village_a1"].pk, "address": "x", "hukou_type": "urban"},
            format="json",
        ),
        client.patch(f"/api/households/{household_id}/", {"address": "改"}, format="json"),
        client.post(
            "/api/members/",
            {"household": household_id, "name": "x", "id_number": new_id(), "relation": "child"},
            format="json",
        ),
        client.patch(
            f"/api/incomes/{records['incomes']}/", {"valid_to": "2024-02-01"}, format="json"
        ),
        client.post(
            "/api/assets/",
            {"household": household_id, "kind": "house", "value": "1"},
            format="json",
        ),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    assert Household.objects.count() == 1
    assert Household.objects.get(pk=household_id).address == "北府路1号"
    assert Member.objects.count() == 1
    assert IncomeItem.objects.get().valid_to is None
    assert Asset.objects.count() == 1


def test_an_administrator_is_scoped_like_everyone(api, regions, records, make_user):
    admin = make_user("admin", regions["town_b"])
    client = api(admin)
    assert client.get(f"/api/households/{records['households']}/").status_code == 404
    assert client.get("/api/households/").data["count"] == 0


def test_an_anonymous_request_is_refused(client, records):
    assert client.get("/api/households/").status_code == 403
