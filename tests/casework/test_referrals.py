import datetime

import pytest

from casework.models import Application, Referral
from casework.services import applications, referrals
from core.exceptions import Conflict, DomainError
from core.idnumbers import make_resident_id


def flag(grid_worker, regions, **kwargs):
    fields = {"name": "赵六", "village": regions["village_a1"], "reason": "serious_illness"}
    return referrals.flag_candidate(by=grid_worker, **(fields | kwargs))


def test_a_grid_worker_flags_a_candidate(grid_worker, regions):
    referral = flag(grid_worker, regions, note="肝癌晚期,无收入")
    assert referral.status == Referral.Status.OPEN
    assert referral.region_code == regions["village_a1"].code
    assert referral.flagged_by == grid_worker


def test_only_grid_workers_flag_in_their_own_villages(grid_worker, caseworker, regions):
    with pytest.raises(Conflict):
        flag(caseworker, regions)
    with pytest.raises(Conflict):
        flag(grid_worker, regions, village=regions["village_b1"])
    assert not Referral.objects.exists()


def test_an_invalid_id_number_is_refused_on_its_field(grid_worker, regions):
    with pytest.raises(DomainError) as error:
        flag(grid_worker, regions, id_number="321102198001010000")
    assert error.value.field == "id_number"


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


def test_a_failed_conversion_leaves_the_flag_open(grid_worker, regions, household, caseworker):
    referral = flag(grid_worker, regions)
    with pytest.raises(DomainError):
        referrals.convert_referral(
            referral=referral, household=household, category="tekun", by=caseworker
        )
    referral.refresh_from_db()
    assert referral.status == Referral.Status.OPEN
    assert not Application.objects.exists()
