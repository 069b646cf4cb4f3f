"""A move of a person between households is made with its casework consequences in one
transaction, through the API and the admin alike: the member's own enrolments follow them and
both households are recomputed from the month after; if either part fails, neither is kept."""

import datetime

import pytest
from rest_framework.test import APIClient

from beneficiaries.models import Member, MemberMove
from casework.models import Adjustment, Enrolment
from casework.services import enrolments, registry_events
from core.exceptions import DomainError, Forbidden
from tests.factories import HouseholdFactory, MemberFactory

AUG = datetime.date(2024, 8, 1)


@pytest.fixture
def other_household(regions):
    other = HouseholdFactory(village=regions["village_a2"])
    other.head = MemberFactory(household=other, name="赵接收")
    other.save()
    return other


@pytest.fixture
def covered(household, family, other_household, caseworker):
    """The spouse has their own single-person dibao; both households have a dibao."""
    return {
        "own": enrolments.enrol(
            household=household,
            category="single_dibao",
            member=family["spouse"],
            start_month=AUG,
            by=caseworker,
        ),
        "left": enrolments.enrol(
            household=household, category="dibao", start_month=AUG, by=caseworker
        ),
        "joined": enrolments.enrol(
            household=other_household, category="dibao", start_month=AUG, by=caseworker
        ),
    }


def assert_followed_up(new_member: Member, covered: dict) -> None:
    move = new_member.moved_in
    reason_code = f"member_move:{move.pk}"
    own = Enrolment.objects.get(pk=covered["own"].pk)
    assert (own.status, own.end_month) == (Enrolment.Status.STOPPED, AUG)
    followed = Enrolment.objects.get(member=new_member)
    assert (followed.household, followed.category) == (new_member.household, "single_dibao")
    assert followed.start_month == datetime.date(2024, 9, 1)
    for key in ("left", "joined"):
        adjustment = covered[key].adjustments.get(reason_code=reason_code)
        assert adjustment.effective_month == datetime.date(2024, 9, 1)


def snapshot() -> tuple:
    return (
        list(Member.objects.order_by("pk").values_list("pk", "household_id", "is_active")),
        MemberMove.objects.count(),
        list(Enrolment.objects.order_by("pk").values_list("pk", "status", "end_month")),
        Adjustment.objects.count(),
    )


def test_a_move_through_the_api_adjusts_the_enrolments_it_affects(
    caseworker, family, other_household, covered
):
    client = APIClient()
    client.force_authenticate(caseworker)
    response = client.post(
        "/api/member-moves/",
        {
            "member": family["spouse"].pk,
            "to_household": other_household.pk,
            "moved_on": "2024-08-20",
            "reason": "再婚",
            "relation": "spouse",
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    move = MemberMove.objects.get(pk=response.data["id"])
    assert_followed_up(move.to_member, covered)
    assert client.get("/api/member-moves/").data["results"][0]["id"] == move.pk


def test_a_move_in_the_admin_adjusts_the_enrolments_it_affects(
    client, regions, make_user, family, other_household, covered
):
    client.force_login(make_user("admin", regions["zhenjiang"], is_staff=True))
    response = client.post(
        "/admin/beneficiaries/membermove/add/",
        {
            "member": family["spouse"].pk,
            "to_household": other_household.pk,
            "relation": "spouse",
            "moved_on": "2024-08-20",
            "reason": "再婚",
        },
    )
    assert response.status_code == 302, response.content.decode()
    assert_followed_up(MemberMove.objects.get().to_member, covered)


def test_when_the_consequences_fail_the_registry_move_is_not_kept(
    monkeypatch, caseworker, family, other_household, covered
):
    before = snapshot()

    def fails(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(registry_events, "record_adjustment", fails)
    with pytest.raises(RuntimeError):
        registry_events.move_member(
            member=family["spouse"],
            to_household=other_household,
            moved_on=datetime.date(2024, 8, 20),
            reason="再婚",
            by=caseworker,
        )
    assert snapshot() == before
    assert Member.objects.get(pk=family["spouse"].pk).is_active


def test_when_the_registry_move_fails_no_enrolment_changes(
    caseworker, family, other_household, covered
):
    before = snapshot()
    with pytest.raises(DomainError, match="该家庭已有户主"):
        registry_events.move_member(
            member=family["spouse"],
            to_household=other_household,
            moved_on=datetime.date(2024, 8, 20),
            reason="再婚",
            relation="head",
            by=caseworker,
        )
    assert snapshot() == before


@pytest.mark.parametrize("role", ["grid_worker", "county_approver", "finance", "auditor"])
def test_only_the_registry_writers_move_people(user_with_role, family, other_household, role):
    with pytest.raises(Forbidden):
        registry_events.move_member(
            member=family["spouse"],
            to_household=other_household,
            moved_on=datetime.date(2024, 8, 20),
            reason="再婚",
            by=user_with_role(role),
        )
    assert not MemberMove.objects.exists()
