"""Changes that move money on two signatures: one person proposes, another approves."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from casework.models import Adjustment, Application, CaseState, ChangeRequest, Enrolment
from casework.services import applications, changes, enrolments
from core.exceptions import Conflict, DomainError, Forbidden
from core.months import add_months, first_of_month, next_month
from tests.factories import HouseholdFactory

AUG = datetime.date(2024, 8, 1)


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def enrolment(household, family, caseworker, approver):
    return enrolments.enrol(
        household=household, category="dibao", start_month=AUG, by=caseworker, approved_by=approver
    )


def gradual_exit(user, enrolment, **fields):
    body = {
        "effective_month": f"{next_month(timezone.localdate()):%Y-%m}",
        "reason_code": "work_income",
        "reason_text": "就业后收入超过低保标准",
        **fields,
    }
    return client_for(user).post(f"/api/enrolments/{enrolment.pk}/gradual-exit/", body, "json")


def assert_unchanged(enrolment):
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.gradual_exit_amount, enrolment.end_month) == (
        Enrolment.Status.ACTIVE,
        None,
        None,
    )
    assert list(enrolment.adjustments.values_list("kind", flat=True)) == ["new"]


@pytest.mark.parametrize("amount", ["88888.00", "-5000.00"])
def test_a_caseworker_cannot_set_a_gradual_exit_amount_beyond_the_last_amount(
    caseworker, enrolment, amount
):
    response = gradual_exit(caseworker, enrolment, amount=amount, months=6)

    assert response.status_code == 400, response.json()
    assert "amount" in response.json()
    assert_unchanged(enrolment)
    assert not ChangeRequest.objects.exists()


def test_a_gradual_exit_longer_than_the_parameter_allows_is_refused(caseworker, enrolment):
    response = gradual_exit(caseworker, enrolment, months=7)

    assert response.status_code == 400, response.json()
    assert response.json()["months"] == ["渐退期最长6个月。"]
    assert_unchanged(enrolment)
    assert not ChangeRequest.objects.exists()


def test_a_gradual_exit_is_only_proposed_until_a_second_person_approves_it(
    caseworker, approver, enrolment
):
    month = next_month(timezone.localdate())
    last = enrolments.monthly_amount(
        enrolment=enrolment, month=first_of_month(timezone.localdate())
    )

    response = gradual_exit(caseworker, enrolment, amount=str(last - 100), months=3)

    assert response.status_code == 201, response.json()
    assert (response.json()["status"], response.json()["proposed_by"]) == (
        "proposed",
        "caseworker-a",
    )
    assert_unchanged(enrolment)

    approved = client_for(approver).post(
        f"/api/change-requests/{response.json()['id']}/approve/", {"note": "同意"}, "json"
    )

    assert approved.status_code == 200, approved.json()
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.GRADUAL_EXIT
    assert enrolment.gradual_exit_amount == last - 100
    assert enrolment.gradual_exit_until == add_months(month, 2)
    adjustment = enrolment.adjustments.get(kind=Adjustment.Kind.GRADUAL_EXIT)
    assert (adjustment.proposed_by, adjustment.approved_by) == (caseworker, approver)


def test_the_proposer_cannot_approve_their_own_change_even_where_townships_approve(
    caseworker, enrolment, set_parameter
):
    set_parameter("jingkou", "casework.township_approves", 1)
    response = gradual_exit(caseworker, enrolment)
    assert response.status_code == 201, response.json()

    approved = client_for(caseworker).post(
        f"/api/change-requests/{response.json()['id']}/approve/", {}, "json"
    )

    assert approved.status_code == 409
    assert approved.json()["code"] == "approver_is_proposer"
    assert_unchanged(enrolment)
    assert ChangeRequest.objects.get().status == ChangeRequest.Status.PROPOSED


def test_a_township_colleague_approves_where_the_county_delegated(
    caseworker, colleague, enrolment, set_parameter
):
    proposal = changes.propose_change(
        enrolment=enrolment,
        kind="stop",
        effective_month=next_month(timezone.localdate()),
        reason_code="income",
        reason_text="收入超标",
        by=caseworker,
    )
    with pytest.raises(Forbidden):
        changes.approve_change(change=proposal, by=colleague)

    set_parameter("jingkou", "casework.township_approves", 1)
    changes.approve_change(change=proposal, by=colleague)

    stop = enrolment.adjustments.get(kind=Adjustment.Kind.STOP)
    assert (stop.proposed_by, stop.approved_by) == (caseworker, colleague)


def test_a_rejected_or_withdrawn_proposal_changes_nothing(caseworker, approver, enrolment):
    def propose():
        return changes.propose_change(
            enrolment=enrolment,
            kind="decrease",
            effective_month=next_month(timezone.localdate()),
            reason_code="income",
            reason_text="收入增加",
            by=caseworker,
        )

    first = propose()
    with pytest.raises(Conflict):
        propose()
    with pytest.raises(DomainError):
        changes.reject_change(change=first, by=approver, note="")
    changes.reject_change(change=first, by=approver, note="收入证明不全")
    second = propose()
    with pytest.raises(Conflict):
        changes.withdraw_change(change=second, by=approver)
    changes.withdraw_change(change=second, by=caseworker)
    with pytest.raises(Conflict):
        changes.approve_change(change=second, by=approver)

    assert list(ChangeRequest.objects.values_list("status", flat=True)) == [
        "rejected",
        "withdrawn",
    ]
    assert_unchanged(enrolment)


def test_the_services_refuse_an_adjustment_approved_by_its_proposer(caseworker, enrolment):
    with pytest.raises(Conflict):
        enrolments.increase(
            enrolment=enrolment,
            effective_month=next_month(timezone.localdate()),
            reason_code="income",
            reason_text="收入减少",
            by=caseworker,
            approved_by=caseworker,
        )
    assert list(enrolment.adjustments.values_list("kind", flat=True)) == ["new"]


@pytest.mark.postgres
def test_the_database_refuses_an_adjustment_whose_approver_is_its_proposer(caseworker, enrolment):
    for approved_by in (caseworker, None):
        with pytest.raises(IntegrityError), transaction.atomic():
            Adjustment.objects.create(
                enrolment=enrolment,
                region_code=enrolment.region_code,
                kind=Adjustment.Kind.GRADUAL_EXIT,
                reason_code="work_income",
                reason_text="就业",
                effective_month=AUG,
                amount_before=Decimal("88888.00"),
                amount_after=Decimal("88888.00"),
                proposed_by=caseworker,
                approved_by=approved_by,
            )
    assert enrolment.adjustments.count() == 1


@pytest.mark.postgres
def test_the_database_refuses_a_change_approved_by_its_proposer(caseworker, enrolment):
    proposal = changes.propose_change(
        enrolment=enrolment,
        kind="stop",
        effective_month=next_month(timezone.localdate()),
        reason_code="income",
        reason_text="收入超标",
        by=caseworker,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ChangeRequest.objects.filter(pk=proposal.pk).update(
            status="rejected", decided_by=caseworker
        )
    proposal.refresh_from_db()
    assert proposal.status == ChangeRequest.Status.PROPOSED


def walk_to_approval(application, caseworker):
    for target in ("home_visit", "economic_check", "township_review", "public_notice"):
        applications.move_application(application=application, to=target, by=caseworker)
    Application.objects.filter(pk=application.pk).update(
        notice_ends=timezone.localdate() - datetime.timedelta(days=1)
    )
    applications.move_application(application=application, to="approval", by=caseworker)


def test_one_caseworker_cannot_take_an_application_through_all_seven_steps(
    household, family, caseworker, colleague, set_parameter
):
    set_parameter("jingkou", "casework.township_approves", 1)
    application = applications.submit_application(
        household=household, category="dibao", by=caseworker
    )
    walk_to_approval(application, caseworker)

    with pytest.raises(Conflict) as error:
        applications.move_application(application=application, to="approved", by=caseworker)

    assert error.value.code == "approver_is_proposer"
    application.refresh_from_db()
    assert (application.state, application.enrolment) == (CaseState.APPROVAL, None)
    assert not Enrolment.objects.exists()

    applications.move_application(application=application, to="approved", by=colleague)
    application.refresh_from_db()
    new = application.enrolment.adjustments.get()
    assert (new.proposed_by, new.approved_by) == (caseworker, colleague)


def test_an_approver_who_took_a_step_of_the_case_cannot_approve_it(
    household, family, caseworker, colleague, set_parameter
):
    set_parameter("jingkou", "casework.township_approves", 1)
    application = applications.submit_application(
        household=household, category="dibao", by=caseworker
    )
    applications.move_application(application=application, to="home_visit", by=colleague)
    for target in ("economic_check", "township_review", "public_notice"):
        applications.move_application(application=application, to=target, by=caseworker)
    Application.objects.filter(pk=application.pk).update(
        notice_ends=timezone.localdate() - datetime.timedelta(days=1)
    )
    applications.move_application(application=application, to="approval", by=caseworker)

    with pytest.raises(Conflict):
        applications.move_application(application=application, to="approved", by=colleague)
    assert not Enrolment.objects.exists()


def test_an_application_with_no_member_cannot_be_approved(regions, caseworker, approver):
    empty = HouseholdFactory(village=regions["village_a1"])
    application = applications.submit_application(household=empty, category="dibao", by=caseworker)
    walk_to_approval(application, caseworker)

    with pytest.raises(Conflict) as error:
        applications.move_application(application=application, to="approved", by=approver)

    assert error.value.code == "no_member"
    application.refresh_from_db()
    assert application.state == CaseState.APPROVAL
    assert not Enrolment.objects.exists()


def test_a_change_dated_before_the_back_pay_window_needs_the_county_approver(
    caseworker, colleague, approver, enrolment, set_parameter
):
    set_parameter("jingkou", "casework.township_approves", 1)
    set_parameter("jingkou", "back_pay_months", 12)
    this_month = first_of_month(timezone.localdate())
    before_window = add_months(this_month, -18)
    response = client_for(caseworker).post(
        f"/api/enrolments/{enrolment.pk}/stop/",
        {
            "effective_month": f"{before_window:%Y-%m}",
            "reason_code": "income",
            "reason_text": "收入超标，经核查自18个月前起",
        },
        "json",
    )
    assert response.status_code == 201, response.json()
    proposal = response.json()["id"]

    by_colleague = client_for(colleague).post(
        f"/api/change-requests/{proposal}/approve/", {}, "json"
    )
    assert by_colleague.status_code == 409
    assert by_colleague.json()["code"] == "county_approval_needed"
    assert_unchanged(enrolment)

    by_county = client_for(approver).post(f"/api/change-requests/{proposal}/approve/", {}, "json")
    assert by_county.status_code == 200, by_county.json()
    stop = enrolment.adjustments.get(kind=Adjustment.Kind.STOP)
    assert (stop.effective_month, stop.approved_by) == (before_window, approver)


def test_a_change_dated_beyond_what_even_an_approver_may_sign_is_refused(caseworker, enrolment):
    response = client_for(caseworker).post(
        f"/api/enrolments/{enrolment.pk}/stop/",
        {
            "effective_month": f"{add_months(timezone.localdate(), -121):%Y-%m}",
            "reason_code": "income",
            "reason_text": "收入超标",
        },
        "json",
    )
    assert response.status_code == 400
    assert "effective_month" in response.json()
    assert not ChangeRequest.objects.exists()
