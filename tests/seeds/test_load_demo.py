import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from beneficiaries.models import Household, IncomeItem, Member, Region
from casework.models import (
    Adjustment,
    Application,
    CaseStep,
    Enrolment,
    Objection,
    Referral,
    ReliefCase,
)
from core.idnumbers import parse_resident_id
from payments.models import PaymentBatch
from seeds.demo import (
    ADJUSTMENT_CASES,
    APPLICATION_PATHS,
    FLAG_PATHS,
    RELIEF_CASES,
    load_demo,
)

MODELS = (
    Household,
    Member,
    IncomeItem,
    Enrolment,
    Adjustment,
    Application,
    CaseStep,
    Objection,
    Referral,
    ReliefCase,
    PaymentBatch,
)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.fixture
def seeded(db):
    call_command("load_seeds", stdout=io.StringIO(), stderr=io.StringIO())


def test_load_demo_enrols_households_through_the_services(seeded):
    result = load_demo(city_code="3211", households=25)
    work = len(APPLICATION_PATHS) + len(FLAG_PATHS) + len(ADJUSTMENT_CASES) + len(RELIEF_CASES)
    assert result.households == 25 + work
    assert Household.objects.filter(region_code__startswith="3211").count() == result.households
    enrolments = Enrolment.objects.all()
    assert enrolments.count() == result.enrolments + 2  # and the two approved applications'
    # enrol() wrote one NEW adjustment for each, with its reason.
    assert Adjustment.objects.filter(kind="new").count() == len(enrolments)
    assert Adjustment.objects.filter(kind="new", reason_code="migrated").count() >= 25
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
    for referral in Referral.objects.exclude(id_number=""):
        assert referral.id_number[:6] == referral.region_code[:6]


def test_load_demo_leaves_applications_at_each_step_and_flags(seeded):
    load_demo(city_code="3211", households=5)
    states = Counter(Application.objects.values_list("state", flat=True))
    assert states == Counter(
        {
            "submitted": 1,
            "home_visit": 2,
            "economic_check": 2,
            "township_review": 1,
            "public_notice": 2,
            "approval": 2,
            "approved": 2,
            "refused": 2,
            "withdrawn": 1,
        }
    )
    refused = Application.objects.filter(state="refused").first()
    assert refused.refusal_reason
    assert all(a.region_code.startswith("321102001") for a in Application.objects.all())
    assert Objection.objects.filter(resolved_at__isnull=True).count() == 1
    flags = Counter(Referral.objects.values_list("status", flat=True))
    assert flags == Counter({"open": 2, "rejected": 1, "converted": 4})
    assert {r.flagged_by.username for r in Referral.objects.all()} == {"zj-grid"}


def test_every_money_change_of_the_demo_work_has_two_different_signatures(seeded):
    load_demo(city_code="3211", households=5)
    work = Adjustment.objects.filter(region_code__startswith="321102001")
    assert set(work.values_list("kind", flat=True)) >= {
        "new", "increase", "decrease", "stop", "resume", "gradual_exit"
    }  # fmt: skip
    for adjustment in work.exclude(reason_code="migrated"):
        assert adjustment.proposed_by_id != adjustment.approved_by_id, adjustment.kind
    for relief in ReliefCase.objects.exclude(decided_by=None):
        assert relief.decided_by_id != relief.created_by_id
    batch = PaymentBatch.objects.get()
    assert batch.status == "computed" and batch.prepared_by.username == "zj-finance"
    assert batch.approved_by is None and batch.line_count > 0


def test_the_demo_relief_lies_on_both_sides_of_the_township_limit(seeded):
    load_demo(city_code="3211", households=5)
    tiers = Counter(ReliefCase.objects.values_list("tier", "status"))
    assert tiers == Counter(
        {("township", "submitted"): 1, ("county", "submitted"): 1, ("county", "approved"): 1}
    )


def test_running_load_demo_twice_creates_nothing_new(seeded):
    out = io.StringIO()
    call_command("load_demo", "--city", "3211", "--households", "12", stdout=out)
    before = counts()
    call_command("load_demo", "--city", "3211", "--households", "12", stdout=out)
    assert counts() == before
    assert (
        "households created: 0  enrolments: 0  applications: 0  referrals: 0  adjustments: 0  "
        "relief cases: 0  batches: 0"
    ) in out.getvalue()


def test_load_demo_needs_the_demo_users(db):
    with pytest.raises(CommandError, match="load_seeds"):
        call_command("load_demo", "--city", "3211", "--households", "3", stdout=io.StringIO())
    assert not any(counts().values())


@pytest.mark.postgres
def test_demo_households_carry_their_history(seeded):
    load_demo(city_code="3211", households=4)
    for model in (Household, Member, Enrolment):
        assert model.pgh_event_model.objects.count() >= model.objects.count()
