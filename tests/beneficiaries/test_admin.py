"""The Django admin of the registry: for administrators only, scoped like the API, writes via
services. Every other role is refused (403) by ``web.access.AdminOnlyMiddleware``."""

import pytest
from django.test import Client

from beneficiaries import services
from beneficiaries.models import Household, Member, User


@pytest.fixture
def staff(regions, make_user):
    """A logged-in admin client for a new staff user: ``staff("admin", region)``."""

    def login(role, region) -> Client:
        client = Client()
        client.force_login(make_user(role, region, is_staff=True))
        return client

    return login


def test_an_administrator_sees_only_the_households_of_the_subtree(
    regions, household, caseworker_b, staff
):
    other = services.register_household(
        village=regions["village_b1"], address="花山湾1号", hukou_type="rural", by=caseworker_b
    )
    client = staff("admin", regions["town_a"])
    changelist = client.get("/admin/beneficiaries/household/")
    assert changelist.status_code == 200
    assert list(changelist.context["cl"].result_list) == [household]
    assert client.get(f"/admin/beneficiaries/household/{household.pk}/change/").status_code == 200
    # Another township's household does not exist for this user: redirected away, not shown.
    response = client.get(f"/admin/beneficiaries/household/{other.pk}/change/")
    assert response.status_code == 302
    member = household.head
    assert (
        staff("admin", regions["town_b"])
        .get(f"/admin/beneficiaries/member/{member.pk}/change/")
        .status_code
        == 302
    )


def test_village_choices_are_limited_to_the_users_subtree(regions, staff):
    response = staff("admin", regions["town_a"]).get("/admin/beneficiaries/household/add/")
    choices = response.context["adminform"].form.fields["village"].queryset
    assert set(choices) == {regions["village_a1"], regions["village_a2"]}


def test_a_household_added_in_the_admin_goes_through_the_service(regions, staff):
    client = staff("admin", regions["town_a"])
    response = client.post(
        "/admin/beneficiaries/household/add/",
        {
            "village": regions["village_a1"].pk,
            "address": "北府路5号",
            "hukou_type": "urban",
            "bank_account_number": "6222020000000000001",
            "members-TOTAL_FORMS": "0",
            "members-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "银行卡号校验位错误" in response.content.decode()
    assert not Household.objects.exists()
    response = client.post(
        "/admin/beneficiaries/household/add/",
        {
            "village": regions["village_a1"].pk,
            "address": "北府路5号",
            "hukou_type": "urban",
            "bank_account_number": "6222020000000000000",
            "members-TOTAL_FORMS": "0",
            "members-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    assert Household.objects.get().region_code == "321102001001"


def test_a_duplicate_person_added_in_the_admin_is_a_form_error_naming_the_household(
    empty_household, regions, household, caseworker, staff
):
    response = staff("admin", regions["town_a"]).post(
        "/admin/beneficiaries/member/add/",
        {
            "household": empty_household.pk,
            "name": "王伟",
            "id_number": household.head.id_number,
            "relation": "head",
            "work_ability": "full",
            "schooling": "none",
            "employment": "na",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert f"#{household.pk} 北府路1号" in errors["id_number"][0]
    assert not empty_household.members.exists()


def test_an_auditor_is_refused_by_the_admin(regions, household, staff):
    client = staff("auditor", regions["jingkou"])
    assert client.get("/admin/beneficiaries/household/").status_code == 403
    assert client.get("/admin/beneficiaries/household/add/").status_code == 403
    response = client.post(
        f"/admin/beneficiaries/household/{household.pk}/change/",
        {
            "address": "改",
            "hukou_type": "urban",
            "members-TOTAL_FORMS": "0",
            "members-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 403
    assert Household.objects.get().address == "北府路1号"


def test_a_grid_worker_has_no_registry_in_the_admin(regions, household, staff):
    client = staff("grid_worker", regions["village_a1"])
    assert client.get("/admin/beneficiaries/household/").status_code == 403
    assert client.get("/admin/beneficiaries/member/").status_code == 403


def test_an_administrator_manages_only_the_users_of_the_subtree(regions, make_user, staff):
    inside = make_user("caseworker", regions["town_a"], username="inside")
    outside = make_user("caseworker", regions["town_b"], username="outside")
    client = staff("admin", regions["town_a"])
    changelist = client.get("/admin/beneficiaries/user/")
    usernames = {u.username for u in changelist.context["cl"].result_list}
    assert "inside" in usernames and "outside" not in usernames
    assert client.get(f"/admin/beneficiaries/user/{outside.pk}/change/").status_code == 302
    assert client.get(f"/admin/beneficiaries/user/{inside.pk}/change/").status_code == 200


def test_an_administrator_creates_staff_users_only_in_the_subtree(regions, staff):
    client = staff("admin", regions["town_a"])
    refused = client.post(
        "/admin/beneficiaries/user/add/",
        {
            "username": "newcw",
            "password1": "a-long-pass-phrase-1",
            "password2": "a-long-pass-phrase-1",
            "role": "caseworker",
            "region": regions["town_b"].pk,
        },
    )
    assert refused.status_code == 200
    assert not User.objects.filter(username="newcw").exists()
    created = client.post(
        "/admin/beneficiaries/user/add/",
        {
            "username": "newcw",
            "password1": "a-long-pass-phrase-1",
            "password2": "a-long-pass-phrase-1",
            "role": "caseworker",
            "region": regions["village_a1"].pk,
        },
    )
    assert created.status_code == 302
    user = User.objects.get(username="newcw")
    assert user.is_staff and not user.is_superuser and user.region == regions["village_a1"]


def test_a_caseworker_cannot_manage_users(regions, staff):
    assert (
        staff("caseworker", regions["town_a"]).get("/admin/beneficiaries/user/").status_code == 403
    )


def test_the_set_head_action_changes_the_head(regions, household, caseworker, new_id, staff):
    spouse = services.add_member(
        household=household,
        name="李娜",
        id_number=new_id(sex="F"),
        relation="spouse",
        by=caseworker,
    )
    response = staff("admin", regions["town_a"]).post(
        "/admin/beneficiaries/member/",
        {"action": "make_head", "_selected_action": [spouse.pk]},
    )
    assert response.status_code == 302
    household.refresh_from_db()
    assert household.head == spouse
    assert Member.objects.get(pk=spouse.pk).relation == "head"


def test_a_household_changed_in_the_admin_keeps_its_village(regions, household, staff):
    response = staff("admin", regions["town_a"]).post(
        f"/admin/beneficiaries/household/{household.pk}/change/",
        {"address": "北府路2号", "hukou_type": "rural", "bank_name": "江苏银行",
         "bank_account_holder": "王伟", "bank_account_number": "6217000000000000012",
         "members-TOTAL_FORMS": "1", "members-INITIAL_FORMS": "1",
         "members-0-id": household.head.pk, "members-0-household": household.pk},
    )  # fmt: skip
    assert response.status_code == 302, response.context["adminform"].form.errors
    household.refresh_from_db()
    assert (household.address, household.hukou_type) == ("北府路2号", "rural")
    assert household.bank_account_number == "6217000000000000012"
    assert household.region_code == "321102001001"


def test_a_member_corrected_in_the_admin_is_checked_like_a_new_one(regions, household, staff):
    member = household.head
    response = staff("admin", regions["town_a"]).post(
        f"/admin/beneficiaries/member/{member.pk}/change/",
        {"name": "王伟", "id_number": member.id_number[:17] + "Y", "relation": "head",
         "disability_category": "", "work_ability": "full", "schooling": "none",
         "employment": "na"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "id_number" in response.context["adminform"].form.errors
    assert Member.objects.get(pk=member.pk).id_number == member.id_number


@pytest.mark.parametrize(
    "model", ["household", "member", "incomeitem", "asset", "membermove", "region"]
)
def test_every_registry_admin_page_renders_for_an_administrator(regions, household, staff, model):
    client = staff("admin", regions["town_a"])
    assert client.get(f"/admin/beneficiaries/{model}/").status_code == 200
    add = client.get(f"/admin/beneficiaries/{model}/add/")
    assert add.status_code == (403 if model == "region" else 200)
