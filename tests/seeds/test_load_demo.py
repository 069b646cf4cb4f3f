import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from beneficiaries.models import Household, IncomeItem, Member, Region
from casework.models import Adjustment, Application, CaseStep, Enrolment, Referral
from core.idnumbers import parse_resident_id
from seeds.demo import APPLICATION_PATHS, load_demo

MODELS = (Household, Member, IncomeItem, Enrolment, Adjustment, Application, CaseStep, Referral)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.fixture
def seeded(db):
    call_command("load_seeds", stdout=io.StringIO(), stderr=io.StringIO())


def test_load_demo_enrols_households_through_the_services(seeded):
    result = load_demo(city_code="3211", households=25)
    assert result.households == 25 + len(APPLICATION_PATHS)
    assert Household.objects.filter(region_code__startswith="3211").count() == result.households
    enrolments = Enrolment.objects.all()
    assert enrolments.count() == result.enrolments >= 25
    # enrol() wrote one NEW adjustment for each, with its reason.
    assert Adjustment.objects.filter(kind="new", reason_code="migrated").count() == len(enrolments)
    for member in Member.objects.all():
        assert parse_resident_id(member.id_number).birth_date == member.birth_date
        assert (
            int(member.id_number[14:17]) < 200
        )  # the demo's order codes, apart from the generator's


@pytest.mark.parametrize("city_code", ["3211", "3204"])
def test_every_demo_id_carries_the_county_of_the_village_old_or_young(seeded, city_code):
    load_demo(city_code=city_code, households=60)
    counties = set(
        Region.objects.filter(level="county", code__startswith=city_code).values_list(
            "code", flat=True
        )
    )
    members = list(Member.objects.select_related("household"))
    for member in members:
        resident = parse_resident_id(member.id_number)
        assert member.id_number[:6] == member.household.region_code[:6]
        assert f"{member.id_number[:6]}000000" in counties
        assert resident.birth_date == member.birth_date
    assert min(m.birth_date.year for m in members) < 1945
    referral = Referral.objects.get()
    assert referral.id_number[:6] == referral.region_code[:6]


def test_load_demo_leaves_applications_at_each_step_and_a_flag(seeded):
    load_demo(city_code="3211", households=5)
    states = Counter(Application.objects.values_list("state", flat=True))
    assert states == Counter(
        ["submitted", "home_visit", "economic_check", "township_review", "public_notice", "refused"]
    )
    refused = Application.objects.get(state="refused")
    assert refused.refusal_reason
    assert CaseStep.objects.filter(application=refused).count() == 5
    assert all(a.region_code.startswith("321102001") for a in Application.objects.all())
    referral = Referral.objects.get()
    assert referral.status == Referral.Status.OPEN and referral.flagged_by.username == "zj-grid"


def test_running_load_demo_twice_creates_nothing_new(seeded):
    out = io.StringIO()
    call_command("load_demo", "--city", "3211", "--households", "12", stdout=out)
    before = counts()
    call_command("load_demo", "--city", "3211", "--households", "12", stdout=out)
    assert counts() == before
    assert "households created: 0  enrolments: 0  applications: 0  referrals: 0" in out.getvalue()


def test_load_demo_needs_the_demo_users(db):
    with pytest.raises(CommandError, match="load_seeds"):
        call_command("load_demo", "--city", "3211", "--households", "3", stdout=io.StringIO())
    assert not any(counts().values())


@pytest.mark.postgres
def test_demo_households_carry_their_history(seeded):
    load_demo(city_code="3211", households=4)
    for model in (Household, Member, Enrolment):
        assert model.pgh_event_model.objects.count() >= model.objects.count()
