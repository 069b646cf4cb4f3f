"""The registry API: writes through the services, filters, pagination, 400s in zh and en."""

import datetime

import pytest
from django.test import Client

from beneficiaries import services
from beneficiaries.models import Household, IncomeItem, Member, MemberMove
from tests.factories import EnrolmentFactory


def test_a_caseworker_registers_a_household_and_its_members(api, regions, caseworker, new_id):
    client = api(caseworker)
    response = client.post(
        "/api/households/",
        {
            "village": regions["village_a1"].pk,
            "address": "北府路9号",
            "hukou_type": "urban",
            "bank_account_number": "6217000000000000012",
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    household_id = response.data["id"]
    assert response.data["region_code"] == "321102001001"
    number = new_id(birth=datetime.date(1950, 1, 2), sex="F")
    response = client.post(
        "/api/members/",
        {
            "household": household_id,
            "name": "赵敏",
            "id_number": number,
            "relation": "head",
            "disability_category": "physical",
            "disability_grade": 2,
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["birth_date"] == "1950-01-02"
    assert response.data["sex"] == "F"
    assert Household.objects.get(pk=household_id).head.id_number == number
    detail = client.get(f"/api/households/{household_id}/").data
    assert [m["name"] for m in detail["members"]] == ["赵敏"]


def test_a_bad_id_gets_a_chinese_field_message_by_default(api, household, caseworker):
    response = api(caseworker).post(
        "/api/members/",
        {
            "household": household.pk,
            "name": "李四",
            "id_number": "32110219800517001X",
            "relation": "child",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "身份证号校验码 (第18位) 不符" in response.data["id_number"][0]
    assert household.members.count() == 1


def test_the_same_bad_id_gets_an_english_message_on_request(api, household, caseworker):
    body = {
        "household": household.pk,
        "name": "李四",
        "id_number": "32110219800517001X",
        "relation": "child",
    }
    by_header = api(caseworker).post(
        "/api/members/", body, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    by_query = api(caseworker).post("/api/members/?lang=en", body, format="json")
    for response in (by_header, by_query):
        assert response.status_code == 400
        assert "check digit (18th character)" in response.data["id_number"][0]
    assert household.members.count() == 1


def test_missing_fields_are_named_in_chinese_and_in_english(api, caseworker):
    zh = api(caseworker).post("/api/households/", {}, format="json")
    en = api(caseworker).post("/api/households/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert zh.status_code == en.status_code == 400
    assert set(zh.data) == {"village", "address", "hukou_type"}
    assert zh.data["address"] == ["该字段是必填项。"]
    assert en.data["address"] == ["This field is required."]
    assert not Household.objects.exists()


def test_a_duplicate_person_is_refused_naming_the_household_in_both_languages(
    empty_household, api, regions, household, caseworker
):
    body = {
        "household": empty_household.pk,
        "name": "王伟",
        "id_number": household.head.id_number,
        "relation": "head",
    }
    zh = api(caseworker).post("/api/members/", body, format="json")
    en = api(caseworker).post("/api/members/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert zh.status_code == en.status_code == 400
    assert f"#{household.pk} 北府路1号" in zh.data["id_number"][0]
    assert "已是家庭" in zh.data["id_number"][0]
    assert f"#{household.pk} 北府路1号" in en.data["id_number"][0]
    assert "already an active member" in en.data["id_number"][0]
    assert not empty_household.members.exists()


def test_households_filter_by_region_status_hukou_name_id_and_category(
    api, regions, household, caseworker, new_id
):
    rural = services.register_household(
        village=regions["village_a2"], address="宝塔路2号", hukou_type="rural", by=caseworker
    )
    services.add_member(
        household=rural, name="孙丽", id_number=new_id(), relation="head", by=caseworker
    )
    EnrolmentFactory(household=rural, category="dibao")
    client = api(caseworker)

    def ids(query):
        response = client.get(f"/api/households/?{query}")
        assert response.status_code == 200, response.data
        return [row["id"] for row in response.data["results"]]

    assert ids("region=321102001002") == [rural.pk]
    assert ids("region=321102001000") == [household.pk, rural.pk]
    assert ids("hukou_type=urban") == [household.pk]
    assert ids("status=closed") == []
    assert ids("name=孙") == [rural.pk]
    assert ids(f"id_number={household.head.id_number}") == [household.pk]
    assert ids("category=dibao") == [rural.pk]
    assert ids("category=tekun") == []


def test_members_filter_by_name_id_and_disability(api, household, caseworker, new_id):
    child = services.add_member(
        household=household,
        name="王小明",
        id_number=new_id(),
        relation="child",
        by=caseworker,
        disability_category="intellectual",
        disability_grade=3,
    )
    client = api(caseworker)
    by_name = client.get("/api/members/?name=小明").data["results"]
    by_id = client.get(f"/api/members/?id_number={child.id_number}").data["results"]
    by_grade = client.get("/api/members/?disability_grade=3").data["results"]
    assert [m["id"] for m in by_name] == [m["id"] for m in by_id] == [child.pk]
    assert [m["id"] for m in by_grade] == [child.pk]


def test_lists_are_paginated(api, regions, caseworker):
    for n in range(5):
        services.register_household(
            village=regions["village_a1"], address=f"路{n}号", hukou_type="urban", by=caseworker
        )
    page = api(caseworker).get("/api/households/?page_size=2&page=2").data
    assert page["count"] == 5
    assert len(page["results"]) == 2
    assert page["next"] and page["previous"]


def test_income_is_added_and_ended_but_never_rewritten(api, household, caseworker):
    client = api(caseworker)
    response = client.post(
        "/api/incomes/",
        {
            "member": household.head.pk,
            "type": "wages",
            "monthly_amount": "1800.50",
            "valid_from": "2024-01-01",
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["is_counted"] is True
    income_id = response.data["id"]
    ended = client.patch(
        f"/api/incomes/{income_id}/",
        {"valid_to": "2024-06-30", "monthly_amount": "1"},
        format="json",
    )
    assert ended.status_code == 200
    income = IncomeItem.objects.get(pk=income_id)
    assert str(income.monthly_amount) == "1800.50"
    assert income.valid_to == datetime.date(2024, 6, 30)


def test_a_move_through_the_api_is_recorded(empty_household, api, regions, household, caseworker):
    response = api(caseworker).post(
        "/api/member-moves/",
        {
            "member": household.head.pk,
            "to_household": empty_household.pk,
            "moved_on": "2024-06-01",
            "reason": "投靠子女",
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    move = MemberMove.objects.get()
    assert response.data["to_household"] == empty_household.pk
    assert move.to_member.household == empty_household
    assert not Member.objects.get(pk=household.head.pk).is_active


def test_put_is_not_allowed(api, household, caseworker):
    response = api(caseworker).put(
        f"/api/households/{household.pk}/", {"address": "x"}, format="json"
    )
    assert response.status_code == 405


def test_the_schema_generates_and_lists_the_registry(client, caseworker):
    client.force_login(caseworker)
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/households/",
        "/api/members/{id}/",
        "/api/incomes/",
        "/api/assets/",
        "/api/member-moves/",
        "/api/regions/",
    ):
        assert path in paths


def test_the_api_docs_page_is_served(client, caseworker):
    client.force_login(caseworker)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


@pytest.mark.parametrize(
    "path", ["households/", "members/", "incomes/", "assets/", "member-moves/", "regions/"]
)
def test_the_browsable_api_renders(regions, household, caseworker, path):
    client = Client()
    client.force_login(caseworker)
    response = client.get(f"/api/{path}", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"<html" in response.content
