"""The second signature on the pages: the approver's list of what waits for their decision and
the decision pages of relief cases and proposed changes, deciding through the services the API
uses and saying why a decision is refused."""

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from beneficiaries.models import User
from casework.models import CaseState, ChangeRequest, Enrolment, Objection, ReliefCase
from casework.services import changes, temporary_relief
from tests.factories import HouseholdFactory, MemberFactory
from tests.web.conftest import Workday


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def colleague(regions) -> User:
    """A second caseworker of town A: the township's second signature."""
    return User.objects.create_user(
        username="zhang-cw2", password="x", role="caseworker", region=regions["town_a"]
    )


def relief_case(workday: Workday, regions, **fields) -> ReliefCase:
    household = HouseholdFactory(village=regions["village_a1"])
    household.head = MemberFactory(household=household, name="钱桂英")
    household.save()
    values = {
        "kind": "emergency",
        "cause": "disaster",
        "need": "房屋因暴雨倒塌，无处居住。",
        "proposed_amount": Decimal("1000"),
    }
    return temporary_relief.propose_relief(
        household=household, by=workday.users["caseworker"], **(values | fields)
    )


RELIEF_WAITING = "/casework/decisions/?show=relief"


def url(case: ReliefCase) -> str:
    return f"/casework/relief/{case.pk}/decision/"


def test_a_second_caseworker_approves_a_case_paid_first(workday: Workday, regions, colleague):
    case = relief_case(workday, regions, pay_first=True)
    client = signed_in(colleague)
    listed = client.get(RELIEF_WAITING)
    assert listed.context["count"] == 1
    assert "钱桂英" in listed.content.decode()
    shown = client.get(url(case)).content.decode()
    assert "批准先行救助" in shown and "不予救助" in shown

    response = client.post(url(case), {"decision": "approve", "reason": ""})

    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.decided_by) == (ReliefCase.Status.APPROVED, colleague)
    assert case.documents_due > timezone.localdate()
    after = client.get(url(case)).content.decode()
    assert "已批准" in after and "批准先行救助" not in after
    assert client.get(RELIEF_WAITING).context["count"] == 0


def test_the_proposer_cannot_approve_their_own_case(workday: Workday, regions):
    case = relief_case(workday, regions, pay_first=True)
    client = signed_in(workday.users["caseworker"])
    assert client.get(RELIEF_WAITING).context["count"] == 0
    shown = client.get(url(case))
    assert "提出或经办此事项的人不能审批" in shown.context["refusal"]
    assert "批准先行救助" not in shown.content.decode()

    response = client.post(url(case), {"decision": "approve", "reason": ""})

    assert response.status_code == 409
    case.refresh_from_db()
    assert (case.status, case.decided_by, case.documents_due) == ("submitted", None, None)


def test_a_case_above_the_township_limit_is_the_countys_to_decide(
    workday: Workday, regions, colleague
):
    case = relief_case(workday, regions, cause="accidental_death", proposed_amount=Decimal(5000))
    township = signed_in(colleague)
    assert township.get(RELIEF_WAITING).context["count"] == 0
    refusal = township.get(url(case)).context["refusal"]
    assert "该救助须由县级审批" in refusal and "超过乡镇审批限额" in refusal
    refused = township.post(url(case), {"decision": "approve", "reason": ""})
    assert refused.status_code == 409
    case.refresh_from_db()
    assert case.status == ReliefCase.Status.SUBMITTED

    county = signed_in(workday.users["approver"])
    assert county.get(RELIEF_WAITING).context["count"] == 1
    assert county.get(url(case)).context["refusal"] == ""
    response = county.post(url(case), {"decision": "approve", "reason": ""})

    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.decided_by) == ("approved", workday.users["approver"])


def test_a_case_within_the_township_limit_is_the_townships_to_decide(workday: Workday, regions):
    case = relief_case(workday, regions)
    county = signed_in(workday.users["approver"])
    assert county.get(RELIEF_WAITING).context["count"] == 0
    assert county.get(url(case)).context["refusal"] == "该救助在乡镇审批限额内，由乡镇经办人审批。"
    assert county.post(url(case), {"decision": "approve", "reason": ""}).status_code == 403
    case.refresh_from_db()
    assert case.status == ReliefCase.Status.SUBMITTED


def test_a_refusal_needs_its_reason_beside_the_field(workday: Workday, regions, colleague):
    case = relief_case(workday, regions)
    client = signed_in(colleague)
    response = client.post(url(case), {"decision": "reject", "reason": " "})
    assert response.status_code == 400
    assert response.context["form"].errors["reason"] == ["不予救助须写明理由。"]
    case.refresh_from_db()
    assert case.status == ReliefCase.Status.SUBMITTED

    client.post(url(case), {"decision": "reject", "reason": "家庭有存款，可自行解决。"})
    case.refresh_from_db()
    assert (case.status, case.refusal_reason) == ("refused", "家庭有存款，可自行解决。")


def test_another_townships_case_is_a_404(workday: Workday, regions):
    case = relief_case(workday, regions)
    other = signed_in(workday.users["caseworker_b"])
    assert other.get(url(case)).status_code == 404
    assert other.post(url(case), {"decision": "approve", "reason": ""}).status_code == 404
    case.refresh_from_db()
    assert case.status == ReliefCase.Status.SUBMITTED
    assert other.get(RELIEF_WAITING).context["count"] == 0


def proposed_stop(workday: Workday) -> ChangeRequest:
    enrolment = Enrolment.objects.get(application=workday.applications["approved"])
    return changes.propose_change(
        enrolment=enrolment,
        kind=ChangeRequest.Kind.STOP,
        effective_month=enrolment.start_month,
        reason_code="income",
        reason_text="家庭成员就业，收入超过低保标准。",
        by=workday.users["caseworker"],
    )


def test_the_county_approver_approves_a_proposed_change(workday: Workday):
    change = proposed_stop(workday)
    client = signed_in(workday.users["approver"])
    listed = client.get("/casework/decisions/", {"show": "changes"})
    assert listed.context["count"] == 1
    page = f"/casework/changes/{change.pk}/decision/"
    assert "批准调整" in client.get(page).content.decode()

    response = client.post(page, {"decision": "approve", "note": ""})

    assert response.status_code == 302
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.APPROVED
    assert change.adjustment.approved_by == workday.users["approver"]


def test_the_proposer_of_a_change_is_told_why_not_and_nothing_changes(workday: Workday):
    change = proposed_stop(workday)
    client = signed_in(workday.users["caseworker"])
    assert client.get("/casework/decisions/", {"show": "changes"}).context["count"] == 0
    page = f"/casework/changes/{change.pk}/decision/"
    shown = client.get(page)
    assert "您的角色不能办理此事项" in shown.context["refusal"]
    assert "批准调整" not in shown.content.decode()
    assert client.post(page, {"decision": "approve", "note": ""}).status_code == 403
    change.refresh_from_db()
    assert (change.status, change.adjustment) == (ChangeRequest.Status.PROPOSED, None)


def test_the_county_approver_approves_an_application_on_the_page(workday: Workday):
    application = workday.applications["approval"]
    client = signed_in(workday.users["approver"])
    listed = client.get("/casework/decisions/")
    assert listed.context["count"] == 2  # town A's and town B's, both in the county
    page = f"/casework/applications/{application.pk}/decision/"
    shown = client.get(page)
    assert shown.context["refusal"] == ""
    assert "批准申请" in shown.content.decode()

    response = client.post(page, {"decision": "approve", "comment": "符合低保条件。"})

    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == CaseState.APPROVED
    assert application.enrolment.adjustments.get().approved_by == workday.users["approver"]
    assert client.get("/casework/decisions/").context["count"] == 1


def test_the_caseworker_who_took_the_case_is_told_the_decision_is_the_countys(
    workday: Workday,
):
    application = workday.applications["approval"]
    client = signed_in(workday.users["caseworker"])
    page = f"/casework/applications/{application.pk}/decision/"
    shown = client.get(page)
    assert "只能由县级审批人办理" in shown.context["refusal"]
    assert "批准申请" not in shown.content.decode()
    assert client.post(page, {"decision": "approve", "comment": ""}).status_code == 409
    application.refresh_from_db()
    assert application.state == CaseState.APPROVAL


def test_an_open_objection_holds_approval_back_but_not_a_refusal(workday: Workday):
    application = workday.applications["approval"]
    Objection.objects.create(
        application=application,
        content="其子在外地务工，收入较高。",
        recorded_by=workday.users["caseworker"],
    )
    client = signed_in(workday.users["approver"])
    page = f"/casework/applications/{application.pk}/decision/"
    shown = client.get(page)
    assert "异议尚未核实处理" in shown.context["refusal"]
    assert (shown.context["may_approve"], shown.context["may_refuse"]) == (False, True)
    assert client.post(page, {"decision": "approve", "comment": ""}).status_code == 409

    missing = client.post(page, {"decision": "reject", "comment": ""})
    assert missing.status_code == 400
    assert missing.context["form"].errors["comment"]
    application.refresh_from_db()
    assert application.state == CaseState.APPROVAL

    client.post(page, {"decision": "reject", "comment": "经核实家庭收入高于低保标准。"})
    application.refresh_from_db()
    assert (application.state, application.refusal_reason) == (
        CaseState.REFUSED,
        "经核实家庭收入高于低保标准。",
    )


def test_another_countys_approver_gets_a_404(workday: Workday, regions):
    application = workday.applications["approval"]
    outsider = User.objects.create_user(
        username="cz-approver", password="x", role="county_approver", region=regions["changzhou"]
    )
    client = signed_in(outsider)
    page = f"/casework/applications/{application.pk}/decision/"
    assert client.get(page).status_code == 404
    assert client.post(page, {"decision": "approve", "comment": ""}).status_code == 404
    application.refresh_from_db()
    assert application.state == CaseState.APPROVAL
