"""Temporary relief pages: the tier and ceiling shown as the figures are typed come from the
service's own assessment; pay first and instalments go through propose_relief."""

import datetime
from decimal import Decimal

from django.test import Client
from django.utils import timezone

from beneficiaries.models import User
from casework.models import ReliefCase, ReliefInstalment
from core.months import add_months, first_of_month
from tests.factories import HouseholdFactory, MemberFactory
from tests.web.conftest import Workday


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def household_in(village, name="钱桂英"):
    household = HouseholdFactory(village=village)
    household.head = MemberFactory(household=household, name=name)
    household.save()
    return household


def relief(household, **changes) -> dict:
    data = {
        "household": household.pk,
        "kind": "emergency",
        "cause": "disaster",
        "need": "房屋因暴雨倒塌，无处居住。",
        "cost": "",
        "proposed_amount": "1000",
        "instalments-TOTAL_FORMS": "4",
        "instalments-INITIAL_FORMS": "0",
        "instalments-MIN_NUM_FORMS": "0",
        "instalments-MAX_NUM_FORMS": "12",
    }
    data.update(changes)
    return data


def test_the_assessment_shows_the_township_tier_and_the_ceiling(workday: Workday, regions):
    household = household_in(regions["village_a1"])
    client = signed_in(workday.users["caseworker"])
    response = client.post("/casework/relief/assess/", relief(household), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    shown = response.context["assessment"]
    assert shown["tier"] == "乡镇审批"
    assert shown["ceiling"] > Decimal("1000")
    assert not shown["refusal"]
    assert "<html" not in response.content.decode()  # a fragment


def test_an_amount_above_the_township_limit_needs_the_county(workday: Workday, regions):
    household = household_in(regions["village_a1"])
    client = signed_in(workday.users["caseworker"])
    low = client.post("/casework/relief/assess/", relief(household, proposed_amount="100"))
    limit = next(s for s in low.context["assessment"]["steps"] if "乡镇审批限额" in s["rule"])
    assert limit
    high = client.post(
        "/casework/relief/assess/",
        relief(household, cause="accidental_death", proposed_amount="5000"),
    )
    assert high.context["assessment"]["tier"] == "县级审批"


def test_an_amount_above_the_cap_is_refused_with_the_figures(workday: Workday, regions):
    household = household_in(regions["village_a1"])
    client = signed_in(workday.users["caseworker"])
    shown = client.post(
        "/casework/relief/assess/", relief(household, proposed_amount="999999")
    ).context["assessment"]
    assert shown["tier"] == ""
    assert "超过本地临时救助封顶额" in shown["refusal"]
    response = client.post("/casework/relief/new/", relief(household, proposed_amount="999999"))
    assert response.status_code == 400
    assert response.context["form"].errors["proposed_amount"] == [shown["refusal"]]
    assert not ReliefCase.objects.exists()


def test_a_case_paid_first_is_approved_by_a_second_person_with_its_documents_due(
    workday: Workday, regions
):
    from casework.services.temporary_relief import decide_relief

    household = household_in(regions["village_a1"])
    client = signed_in(workday.users["caseworker"])
    response = client.post("/casework/relief/new/", relief(household, pay_first="on"))
    case = ReliefCase.objects.get()
    assert response["Location"] == f"/casework/relief/{case.pk}/"
    assert (case.status, case.pay_first) == ("submitted", True)
    colleague = User.objects.create_user(
        username="zhang-cw2", password="x", role="caseworker", region=regions["town_a"]
    )
    decide_relief(relief=case, approve=True, by=colleague)
    case.refresh_from_db()
    assert (case.status, case.pay_first) == (ReliefCase.Status.APPROVED, True)
    assert case.documents_due > timezone.localdate()
    page = client.get(f"/casework/relief/{case.pk}/").content.decode()
    assert "材料已补齐" in page
    client.post(f"/casework/relief/{case.pk}/documents/")
    case.refresh_from_db()
    assert case.documents_completed_at is not None


def test_pay_first_above_the_township_limit_is_refused_beside_the_box(workday: Workday, regions):
    household = household_in(regions["village_a1"])
    response = signed_in(workday.users["caseworker"]).post(
        "/casework/relief/new/",
        relief(household, cause="accidental_death", pay_first="on", proposed_amount="5000"),
    )
    assert response.status_code == 400
    assert "先行救助仅适用于乡镇审批限额内" in response.context["form"].errors["pay_first"][0]
    assert not ReliefCase.objects.exists()


def test_staged_instalments_are_kept_month_by_month(workday: Workday, regions):
    household = household_in(regions["village_a1"])
    month = first_of_month(timezone.localdate())
    later = add_months(month, 2)
    response = signed_in(workday.users["caseworker"]).post(
        "/casework/relief/new/",
        relief(
            household,
            **{
                "proposed_amount": "1000",
                "instalments-0-month": f"{month:%Y-%m}",
                "instalments-0-amount": "600",
                "instalments-1-month": f"{later:%Y-%m}",
                "instalments-1-amount": "400",
            },
        ),
    )
    assert response.status_code == 302
    assert list(
        ReliefInstalment.objects.order_by("due_month").values_list("due_month", "amount")
    ) == [(month, Decimal("600.00")), (later, Decimal("400.00"))]


def test_instalments_that_do_not_add_up_are_refused_and_nothing_is_saved(workday: Workday, regions):
    household = household_in(regions["village_a1"])
    month = first_of_month(timezone.localdate())
    response = signed_in(workday.users["caseworker"]).post(
        "/casework/relief/new/",
        relief(
            household,
            **{"instalments-0-month": f"{month:%Y-%m}", "instalments-0-amount": "300"},
        ),
    )
    assert response.status_code == 400
    assert "合计等于救助金额" in response.context["instalment_error"]
    assert not ReliefCase.objects.exists() and not ReliefInstalment.objects.exists()


def test_a_missing_need_is_shown_beside_the_field(workday: Workday, regions):
    household = household_in(regions["village_a1"])
    response = signed_in(workday.users["caseworker"]).post(
        "/casework/relief/new/", relief(household, need="")
    )
    assert response.status_code == 400
    assert response.context["form"].errors["need"]
    assert 'id="id_need_error"' in response.content.decode()
    assert not ReliefCase.objects.exists()


def test_another_townships_relief_case_is_a_404(workday: Workday, regions):
    household = household_in(regions["village_a1"])
    signed_in(workday.users["caseworker"]).post("/casework/relief/new/", relief(household))
    case = ReliefCase.objects.get()
    other = signed_in(workday.users["caseworker_b"])
    assert other.get(f"/casework/relief/{case.pk}/").status_code == 404
    assert other.post(f"/casework/relief/{case.pk}/documents/").status_code == 404


def test_the_documents_overdue_list_counts_the_late_pay_first_cases(workday: Workday, regions):
    household = household_in(regions["village_a1"])
    client = signed_in(workday.users["caseworker"])
    client.post("/casework/relief/new/", relief(household, pay_first="on"))
    ReliefCase.objects.update(documents_due=timezone.localdate() - datetime.timedelta(days=1))
    response = client.get("/casework/relief/", {"documents": "overdue"})
    assert response.context["count"] == 1
    assert "钱桂英" in response.content.decode()
