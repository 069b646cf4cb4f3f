import datetime

import pytest

from casework.models import Application, Referral
from casework.services import applications, referrals, registry_events
from core.exceptions import Conflict, DomainError, Forbidden
from core.idnumbers import make_resident_id
from tests.casework.test_api import client_for
from tests.factories import HouseholdFactory, MemberFactory


def flag(grid_worker, regions, **kwargs):
    fields = {"name": "赵六", "village": regions["village_a1"], "reason": "serious_illness"}
    return referrals.flag_candidate(by=grid_worker, **(fields | kwargs))


def test_a_grid_worker_flags_a_candidate(grid_worker, regions):
    referral = flag(grid_worker, regions, note="肝癌晚期,无收入")
    assert referral.status == Referral.Status.OPEN
    assert referral.region_code == regions["village_a1"].code
    assert referral.flagged_by == grid_worker


def test_only_grid_workers_flag_in_their_own_villages(grid_worker, caseworker, regions):
    with pytest.raises(Forbidden):
        flag(caseworker, regions)
    with pytest.raises(Conflict):
        flag(grid_worker, regions, village=regions["village_b1"])
    assert not Referral.objects.exists()


def test_an_invalid_id_number_is_refused_on_its_field(grid_worker, regions):
    with pytest.raises(DomainError) as error:
        flag(grid_worker, regions, id_number="321102198001010000")
    assert error.value.field == "id_number"
    assert error.value.code == "id_number_check_digit"


def test_an_elderly_person_is_flagged_with_the_id_as_written_on_the_card(grid_worker, regions):
    # 京口区 321102 exists since 1984; she was born in 1931 and re-registered there.
    referral = flag(grid_worker, regions, id_number=" ３２１１０２１９３１１０２０００２８ ")
    assert referral.id_number == "321102193110200028"


def test_a_flag_with_an_impossible_birth_date_names_the_date(grid_worker, regions):
    with pytest.raises(DomainError) as error:
        flag(grid_worker, regions, id_number="321102193102300029")
    assert error.value.field == "id_number"
    assert "19310230" in str(error.value.message)
    assert not Referral.objects.exists()


def test_a_second_flag_for_the_same_id_number_returns_the_open_one(grid_worker, regions):
    id_number = make_resident_id("321102", datetime.date(1970, 1, 1), 7, "M")
    first = flag(grid_worker, regions, id_number=id_number)
    with pytest.raises(applications.DuplicateCase) as error:
        flag(grid_worker, regions, name="赵六六", id_number=id_number)
    assert error.value.existing == first
    assert Referral.objects.count() == 1


def test_without_id_the_same_name_in_the_same_village_is_a_duplicate(regions, make_user):
    grid_worker = make_user("grid_worker", regions["town_a"])
    flag(grid_worker, regions)
    with pytest.raises(applications.DuplicateCase):
        flag(grid_worker, regions, reason="lost_job")
    flag(grid_worker, regions, village=regions["village_a2"])
    assert Referral.objects.count() == 2


def test_a_person_with_an_open_application_is_not_flagged_again(
    grid_worker, regions, household, family, caseworker
):
    application = applications.submit_application(
        household=household, category="dibao", by=caseworker
    )
    with pytest.raises(applications.DuplicateCase) as error:
        flag(grid_worker, regions, name="李二", id_number=family["spouse"].id_number)
    assert error.value.existing == application
    with pytest.raises(applications.DuplicateCase):
        flag(grid_worker, regions, name="王小")
    assert not Referral.objects.exists()


def test_the_caseworker_converts_a_flag_into_a_linked_application(
    grid_worker, regions, household, family, caseworker
):
    referral = flag(grid_worker, regions, name="王大", note="户主重病")
    application = referrals.convert_referral(
        referral=referral, household=household, category="dibao", by=caseworker
    )
    referral.refresh_from_db()
    assert referral.status == Referral.Status.CONVERTED
    assert referral.application == application
    assert application.steps.get().comment == "户主重病"
    with pytest.raises(Conflict):
        referrals.reject_referral(referral=referral, reason="重复", by=caseworker)


def test_a_rejection_carries_the_reason_the_grid_worker_sees(grid_worker, regions, caseworker):
    referral = flag(grid_worker, regions)
    with pytest.raises(DomainError):
        referrals.reject_referral(referral=referral, reason=" ", by=caseworker)
    referrals.reject_referral(referral=referral, reason="已享受特困供养", by=caseworker)
    referral.refresh_from_db()
    assert referral.status == Referral.Status.REJECTED
    assert referral.rejection_reason == "已享受特困供养"
    assert referral.handled_by == caseworker


def test_a_failed_conversion_leaves_the_flag_open(
    grid_worker, regions, household, family, caseworker
):
    referral = flag(grid_worker, regions, name="王大")
    with pytest.raises(DomainError, match="该类别须指定保障的家庭成员"):
        referrals.convert_referral(
            referral=referral, household=household, category="tekun", by=caseworker
        )
    referral.refresh_from_db()
    assert referral.status == Referral.Status.OPEN
    assert not Application.objects.exists()


# A man born in 1955 registered in 京口区, with the check digit of GB 11643.
ELDERLY_ID = "321102195501013210"


def flag_elderly(grid_worker, regions) -> Referral:
    return flag(grid_worker, regions, name="钱老汉", id_number=ELDERLY_ID)


def test_a_flag_is_not_turned_into_a_case_of_a_household_without_the_person(
    grid_worker, regions, household, family, caseworker
):
    other = HouseholdFactory(village=regions["village_a1"])
    MemberFactory(household=other, name="钱老汉", id_number=ELDERLY_ID)
    referral = flag_elderly(grid_worker, regions)
    response = client_for(caseworker).post(
        f"/api/referrals/{referral.pk}/convert/",
        {"household": household.pk, "category": "dibao"},
        format="json",
    )
    assert response.status_code == 400
    (message,) = response.data["household"]
    assert message == (
        f"所选家庭中没有被发现的对象 钱老汉（{ELDERLY_ID}），请选择其所在的家庭（或先登记为成员）。"
    )
    referral.refresh_from_db()
    assert referral.status == Referral.Status.OPEN
    assert not Application.objects.exists()
    converted = client_for(caseworker).post(
        f"/api/referrals/{referral.pk}/convert/",
        {"household": other.pk, "category": "dibao"},
        format="json",
    )
    assert converted.status_code == 201, converted.data


def test_a_flag_without_an_id_number_is_matched_by_name(
    grid_worker, regions, household, family, caseworker
):
    referral = flag(grid_worker, regions, name="买买提·艾力")
    with pytest.raises(DomainError) as refused:
        referrals.convert_referral(
            referral=referral, household=household, category="dibao", by=caseworker
        )
    assert refused.value.field == "household"
    assert "买买提·艾力" in str(refused.value.message)
    MemberFactory(household=household, name="买买提·艾力", relation="other")
    application = referrals.convert_referral(
        referral=referral, household=household, category="dibao", by=caseworker
    )
    assert application.household == household


def test_a_person_who_moved_out_is_no_longer_in_the_household(
    grid_worker, regions, household, family, caseworker
):
    referral = flag(grid_worker, regions, name="李二", id_number=family["spouse"].id_number)
    other = HouseholdFactory(village=regions["village_a2"])
    registry_events.move_member(
        member=family["spouse"],
        to_household=other,
        moved_on=datetime.date(2024, 8, 20),
        reason="再婚",
        by=caseworker,
    )
    with pytest.raises(DomainError, match="李二"):
        referrals.convert_referral(
            referral=referral, household=household, category="dibao", by=caseworker
        )


def test_the_refusal_masks_the_resident_id_for_a_grid_worker(grid_worker, caseworker, regions):
    referral = flag_elderly(grid_worker, regions)
    household = HouseholdFactory(village=regions["village_a1"])
    for user, shown in ((caseworker, ELDERLY_ID), (grid_worker, "3211**********3210")):
        with pytest.raises(DomainError) as refused:
            referrals._check_holds_flagged_person(referral=referral, household=household, by=user)
        assert f"钱老汉（{shown}）" in str(refused.value.message)
