"""The one access rule closes what leaked: reads without a role check, messages naming another
region's household or case, filters that told a foreign id from a missing one, and users
without a region who saw every region."""

import csv
import datetime
import io

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from beneficiaries.imports import COLUMNS, import_households
from beneficiaries.models import Member, User
from casework.models import Application, Referral
from payments.models import PaymentBatch, Recovery
from tests.factories import EnrolmentFactory, HouseholdFactory, MemberFactory

Role = User.Role
ELSEWHERE = "此人已在其他地区登记，请联系该地区民政部门"


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def zhenjiang_family(regions):
    """A Zhenjiang household of an old couple, its head born in 1955."""
    household = HouseholdFactory(village=regions["village_a1"], address="京口区正东路12号")
    head = MemberFactory(household=household, name="王桂英", birth=datetime.date(1955, 1, 1))
    return household, head


@pytest.fixture
def cz_caseworker(regions, make_user):
    return make_user(Role.CASEWORKER, regions["town_c"])


def test_a_grid_worker_may_not_read_an_enrolments_explanation(regions, make_user):
    enrolment = EnrolmentFactory(household=HouseholdFactory(village=regions["village_a1"]))
    grid = make_user(Role.GRID_WORKER, regions["town_a"])
    response = api(grid).get(f"/api/enrolments/{enrolment.pk}/explain/", {"month": "2024-08"})
    assert response.status_code == 403
    assert "角色" in response.data["detail"]


def test_a_grid_worker_may_not_read_recoveries(regions, make_user, zhenjiang_family):
    household, _ = zhenjiang_family
    Recovery.objects.create(
        household=household,
        region_code=household.region_code,
        amount="300.00",
        reason=Recovery.Reason.values[0],
        note="隐瞒工资收入",
    )
    grid = make_user(Role.GRID_WORKER, regions["town_a"])
    response = api(grid).get("/api/recoveries/")
    assert response.status_code == 403
    assert "隐瞒" not in response.content.decode()


@pytest.mark.parametrize("path", ["review", "diff"])
@pytest.mark.parametrize("role", [Role.GRID_WORKER, Role.CASEWORKER])
def test_batch_review_and_diff_are_for_finance_and_audit(regions, make_user, path, role):
    batch = PaymentBatch.objects.create(
        region=regions["zhenjiang"], month=datetime.date(2024, 8, 1), status="computed"
    )
    user = make_user(role, regions["zhenjiang"])
    assert api(user).get(f"/api/batches/{batch.pk}/{path}/").status_code == 403
    auditor = make_user(Role.AUDITOR, regions["zhenjiang"])
    assert api(auditor).get(f"/api/batches/{batch.pk}/{path}/").status_code == 200


def test_a_role_refused_by_the_policy_is_a_403_in_chinese_and_english(regions, make_user):
    grid = make_user(Role.GRID_WORKER, regions["town_a"])
    referral = Referral.objects.create(
        name="王桂英",
        village=regions["village_a1"],
        reason=Referral.Reason.values[0],
        flagged_by=grid,
    )
    response = api(grid).post(f"/api/referrals/{referral.pk}/convert/", {}, format="json")
    assert response.status_code == 403
    assert response.data["detail"] == "您的角色不能执行此操作。"
    response = api(grid).post(f"/api/referrals/{referral.pk}/convert/?lang=en", {}, format="json")
    assert response.status_code == 403
    assert "role" in response.data["detail"]
    referral.refresh_from_db()
    assert referral.status == Referral.Status.OPEN


def test_another_regions_resident_typed_into_members_names_only_the_county(
    regions, cz_caseworker, zhenjiang_family
):
    household, head = zhenjiang_family
    cz_household = HouseholdFactory(village=regions["village_c1"])
    before = Member.objects.count()
    response = api(cz_caseworker).post(
        "/api/members/",
        {
            "household": cz_household.pk,
            "name": "王桂英",
            "id_number": head.id_number,
            "relation": "spouse",
        },
        format="json",
    )
    assert response.status_code == 400
    (message,) = response.data["id_number"]
    assert message == f"{ELSEWHERE}（京口区）。"
    assert household.address not in message and str(household.pk) not in message
    assert Member.objects.count() == before


def test_another_regions_resident_in_an_import_names_only_the_county(
    regions, cz_caseworker, zhenjiang_family
):
    household, head = zhenjiang_family
    values = {
        "household_key": "H1",
        "village_code": "320402001001",
        "address": "天宁区东门路3号",
        "hukou_type": "城镇",
        "name": "王桂英",
        "id_number": head.id_number,
        "relation": "户主",
    }
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column.label for column in COLUMNS])
    writer.writerow([values.get(column.key, "") for column in COLUMNS])
    before = Member.objects.count()
    result = import_households(
        content=buffer.getvalue().encode("utf-8-sig"), filename="households.csv", by=cz_caseworker
    )
    report = str(result.as_dict())
    assert not result.ok
    assert f"{ELSEWHERE}（京口区）。" in report
    assert household.address not in report and "北府社区" not in report
    assert Member.objects.count() == before


def test_a_grid_worker_flagging_someone_with_a_case_elsewhere_learns_only_the_county(
    regions, make_user, zhenjiang_family
):
    household, head = zhenjiang_family
    application = Application.objects.create(
        household=household,
        member=head,
        category="dibao",
        submitted_by=make_user(Role.CASEWORKER, regions["town_a"]),
        submitted_on=datetime.date(2024, 7, 1),
    )
    cz_grid = make_user(Role.GRID_WORKER, regions["town_c"])
    response = api(cz_grid).post(
        "/api/referrals/",
        {
            "name": "王桂英",
            "id_number": head.id_number,
            "village": regions["village_c1"].pk,
            "reason": Referral.Reason.values[0],
        },
        format="json",
    )
    assert response.status_code == 409
    assert response.data["detail"] == f"{ELSEWHERE}（京口区）。"
    assert "existing" not in response.data and str(application.pk) not in str(response.data)
    assert not Referral.objects.exists()


@pytest.mark.parametrize(
    "path", ["/api/enrolments/", "/api/applications/", "/api/recoveries/", "/api/relief-cases/"]
)
def test_a_filter_on_an_id_outside_the_region_answers_like_a_missing_id(regions, make_user, path):
    foreign = HouseholdFactory(village=regions["village_c1"])
    auditor = make_user(Role.AUDITOR, regions["zhenjiang"])
    outside = api(auditor).get(path, {"household": foreign.pk})
    missing = api(auditor).get(path, {"household": foreign.pk + 1000})
    assert outside.status_code == missing.status_code == 400
    assert outside.data == missing.data


@pytest.mark.parametrize("superuser", [False, True])
def test_a_user_without_a_region_sees_nothing_and_is_told_to_ask_an_administrator(
    regions, make_user, zhenjiang_family, superuser
):
    user = make_user(Role.CASEWORKER, None, is_staff=True, is_superuser=superuser)
    response = api(user).get("/api/households/")
    assert response.status_code == 403
    assert "管理员" in response.data["detail"]
    client = Client()
    client.force_login(user)
    page = client.get("/home/")
    assert page.status_code == 403
    assert "请联系管理员为您分配地区" in page.content.decode()
    assert client.get("/admin/").status_code == 403


def test_createsuperuser_makes_an_administrator_of_the_region_it_is_given(regions, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Zj-admin-2024!")
    call_command(
        "createsuperuser",
        interactive=False,
        username="js-root",
        email="root@example.com",
        region=regions["jiangsu"].pk,
    )
    user = User.objects.get(username="js-root")
    assert user.role == Role.ADMIN and user.region == regions["jiangsu"]
    client = Client()
    client.force_login(user)
    assert client.get("/admin/").status_code == 200
