import datetime
import io
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Sum

from beneficiaries.facts import households_out_of_step
from beneficiaries.models import (
    COUNTED_INCOME,
    DEDUCTED_COSTS,
    Household,
    HouseholdFactsPeriod,
    IncomeItem,
    IncomeType,
    Member,
    Region,
    User,
)
from beneficiaries.services import add_member
from casework.models import MEMBER_CATEGORIES, Adjustment, AdjustmentCount, Category, Enrolment
from casework.services.enrolments import check_coverage
from core.exceptions import DomainError
from core.idnumbers import parse_resident_id, validate_bank_account
from seeds.caseload import (
    Drafter,
    HouseholdDraft,
    IdSlots,
    PersonDraft,
    luhn_digit,
    merge_slots,
)
from seeds.demo import register_draft
from seeds.generator import CaseloadExists, delete_generated, generate_caseload
from seeds.models import GeneratedCaseload
from seeds.regions import load_regions, villages_of
from tests.factories import HouseholdFactory

AS_OF = datetime.date(2026, 11, 1)
CHILD_CATEGORIES = {
    Category.ORPHAN_INSTITUTION,
    Category.ORPHAN_COMMUNITY,
    Category.UNSUPPORTED_CHILD,
    Category.GUARDIAN_UNABLE_CHILD,
    Category.ILL_DISABLED_CHILD,
}


def age_on(birth: datetime.date, day: datetime.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def counted_per_capita(household: Household, on: datetime.date) -> Decimal:
    total = Decimal("0")
    members = list(household.members.all())
    for item in IncomeItem.objects.filter(member__household=household):
        if item.valid_from <= on and (item.valid_to is None or item.valid_to >= on):
            if item.type in COUNTED_INCOME:
                total += item.monthly_amount
            elif item.type in DEDUCTED_COSTS:
                total -= item.monthly_amount
    return total / len(members)


def content(city_code: str) -> list:
    """The generated rows without ids and timestamps, in generation order."""
    rows = []
    for household in Household.objects.filter(region_code__startswith=city_code).order_by("id"):
        members = household.members.order_by("id")
        rows.append(
            (
                household.region_code,
                household.address,
                household.bank_account_number,
                [
                    (m.name, m.id_number, m.relation, m.disability_grade, m.serious_illness)
                    for m in members
                ],
                [
                    (i.type, i.monthly_amount, i.valid_from, i.valid_to)
                    for i in IncomeItem.objects.filter(member__household=household).order_by("id")
                ],
                [
                    (
                        e.category,
                        e.start_month,
                        e.care_level,
                        e.member.id_number if e.member else "",
                    )
                    for e in household.enrolments.order_by("id")
                ],
            )
        )
    return rows


def assert_caseload_follows_the_rules(city_code: str) -> None:
    households = list(
        Household.objects.filter(region_code__startswith=city_code).select_related("village")
    )
    assert households
    for household in households:
        assert household.village.level == "village"
        assert household.region_code == household.village.code
        assert validate_bank_account(household.bank_account_number)
        head = Member.objects.get(pk=household.head_id)
        assert head.household_id == household.pk and head.relation == Member.Relation.HEAD
        assert household.bank_account_holder == head.name
        assert household.enrolments.exists()
    members = list(
        Member.objects.filter(household__region_code__startswith=city_code).select_related(
            "household"
        )
    )
    for member in members:
        resident = parse_resident_id(member.id_number)
        assert member.id_number[:6] == member.household.region_code[:6]
        assert (resident.birth_date, resident.sex) == (member.birth_date, member.sex)
        assert member.birth_date < AS_OF
        if member.disability_grade is not None:
            assert member.disability_category and 1 <= member.disability_grade <= 4
    active_ids = [m.id_number for m in members if m.is_active]
    assert len(active_ids) == len(set(active_ids))
    for item in IncomeItem.objects.filter(member__household__region_code__startswith=city_code):
        assert item.type in IncomeType.values and item.monthly_amount >= 0
        assert item.valid_to is None or item.valid_to >= item.valid_from
    enrolments = Enrolment.objects.filter(region_code__startswith=city_code).select_related(
        "household", "member"
    )
    for e in enrolments:
        check_coverage(
            household=e.household, category=e.category, member=e.member, care_level=e.care_level
        )
        assert e.status == Enrolment.Status.ACTIVE and e.end_month is None
        assert e.start_month.day == 1 and e.start_month < AS_OF
        assert e.region_code == e.household.region_code
        assert (e.member_id is not None) == (e.category in MEMBER_CATEGORIES)
        if e.category in CHILD_CATEGORIES:
            assert age_on(e.member.birth_date, AS_OF) < 18
        if e.category == Category.SINGLE_DIBAO:
            m = e.member
            assert (
                m.serious_illness
                or (m.disability_grade or 9) <= 2
                or (m.disability_grade == 3 and m.disability_category in {"intellectual", "mental"})
            )
        if e.category == Category.DIBAO:
            assert counted_per_capita(e.household, AS_OF) < 875


def draft_of(household: Household) -> HouseholdDraft:
    """A generated household read back as a draft, to be entered again through the services."""
    people = []
    for m in household.members.order_by("id"):
        person = PersonDraft(
            name=m.name,
            id_number=m.id_number,
            birth_date=m.birth_date,
            sex=m.sex,
            relation=m.relation,
            age=age_on(m.birth_date, AS_OF),
            disability_category=m.disability_category,
            disability_grade=m.disability_grade,
            serious_illness=m.serious_illness,
            work_ability=m.work_ability,
            schooling=m.schooling,
            employment=m.employment,
            incomes=[
                (i.type, str(i.monthly_amount), i.valid_from, i.valid_to)
                for i in m.incomes.order_by("id")
            ],
        )
        people.append(person)
    return HouseholdDraft(
        village=household.village,
        address=household.address,
        hukou_type=household.hukou_type,
        bank_name=household.bank_name,
        bank_account_number=household.bank_account_number,
        members=people,
        enrolments=[],
    )


def assert_services_accept_a_sample(city_code: str, by: User) -> None:
    """Re-enter a sample through the registry services (then roll back): they accept every row."""
    sample = Household.objects.filter(region_code__startswith=city_code).order_by("id")[:15]
    with transaction.atomic():
        for household in sample:
            draft = draft_of(household)
            assert household.bank_account_holder == draft.bank_account_holder
            household.members.update(is_active=False)
            copy, members = register_draft(draft, by=by)
            for member, person in zip(members, draft.members, strict=True):
                assert (member.birth_date, member.sex) == (person.birth_date, person.sex)
            copy.refresh_from_db()
            assert copy.head == members[0]
        transaction.set_rollback(True)


@pytest.fixture
def admin(db, make_user):
    load_regions()
    return make_user(User.Role.ADMIN, Region.objects.get(code="320000000000"))


def generate(households: int = 120, **options) -> GeneratedCaseload:
    return generate_caseload(
        city_code=options.pop("city_code", "3211"),
        households=households,
        seed=options.pop("seed", 7),
        as_of=AS_OF,
        chunk_size=options.pop("chunk_size", 50),
        **options,
    )


def test_generated_caseload_follows_the_registry_and_casework_rules(admin):
    run = generate(households=150)
    assert run.households == Household.objects.count() == 150
    assert run.enrolments == Enrolment.objects.count()
    assert_caseload_follows_the_rules("3211")
    assert_services_accept_a_sample("3211", admin)


def test_a_generated_person_cannot_be_registered_again(admin):
    generate(households=5)
    person = Member.objects.order_by("id").first()
    other = HouseholdFactory(village=villages_of("3211")[-1])
    with pytest.raises(DomainError) as refused:
        add_member(
            household=other, name=person.name, id_number=person.id_number, relation="head", by=admin
        )
    assert refused.value.field == "id_number"
    assert not other.members.exists()


@pytest.mark.postgres
def test_copy_path_writes_valid_rows_without_history_and_keeps_sequences_ahead(admin):
    tracked = (Household, Member, IncomeItem, Enrolment)
    run = generate(households=300, chunk_size=64)
    for model in tracked:
        assert model.objects.exists()
        assert not model.pgh_event_model.objects.exists()
    assert_caseload_follows_the_rules("3211")
    assert_services_accept_a_sample("3211", admin)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM casework_enrolment e LEFT JOIN beneficiaries_household h"
            " ON h.id = e.household_id WHERE h.id IS NULL"
        )
        assert cursor.fetchone()[0] == 0
    newest = HouseholdFactory(village=villages_of("3211")[0])
    assert newest.pk > run.household_id_ranges[-1][1]
    # Triggers are back once the generator is done: a registration writes its history.
    assert Household.pgh_event_model.objects.filter(pgh_obj_id=newest.pk).count() == 1


@pytest.mark.postgres
def test_reset_counts_the_citys_adjustments_again(admin):
    """The reset deletes adjustments with the triggers off; the auditors' kept counts follow
    (another city's stay as they were)."""
    generate(households=12)
    generate(households=6, city_code="3204")
    for city in ("3211", "3204"):
        for enrolment in Enrolment.objects.filter(region_code__startswith=city)[:3]:
            Adjustment.objects.create(
                enrolment=enrolment,
                region_code=enrolment.region_code,
                kind="review_confirmed",
                reason_code="bench",
                effective_month=AS_OF,
            )
    kept = dict(AdjustmentCount.objects.values_list("region_code", "n"))
    assert sum(kept.values()) == 6

    delete_generated(city_code="3211")

    assert not Adjustment.objects.filter(region_code__startswith="3211").exists()
    assert not AdjustmentCount.objects.filter(region_code__startswith="3211", n__gt=0).exists()
    assert AdjustmentCount.objects.aggregate(n=Sum("n"))["n"] == 3
    assert dict(
        AdjustmentCount.objects.filter(region_code__startswith="3204").values_list(
            "region_code", "n"
        )
    ) == {code: n for code, n in kept.items() if code.startswith("3204")}


@pytest.mark.postgres
def test_without_superuser_rights_history_triggers_are_still_skipped(db, monkeypatch):
    monkeypatch.setattr("seeds.generator.can_skip_triggers", lambda: False)
    generate(households=40)
    assert_caseload_follows_the_rules("3211")
    for model in (Household, Member, IncomeItem, Enrolment):
        assert not model.pgh_event_model.objects.exists()


def test_the_same_seed_gives_the_same_caseload_and_another_seed_another(db):
    generate(households=40)
    first = content("3211")
    generate(households=40, reset=True)
    assert content("3211") == first
    generate(households=40, reset=True, seed=8)
    assert content("3211") != first


def test_chunk_size_does_not_change_the_caseload(db):
    generate(households=30, chunk_size=7)
    first = content("3211")
    generate(households=30, chunk_size=30, reset=True)
    assert content("3211") == first


def test_a_second_run_for_the_city_is_refused_and_changes_nothing(db):
    generate(households=10)
    before = content("3211")
    with pytest.raises(CaseloadExists):
        generate(households=10)
    assert content("3211") == before
    assert GeneratedCaseload.objects.count() == 1


def test_append_adds_households_with_new_people(db):
    generate(households=20)
    generate(households=20, append=True)
    assert Household.objects.count() == 40
    ids = list(Member.objects.values_list("id_number", flat=True))
    assert len(ids) == len(set(ids))
    accounts = list(Household.objects.values_list("bank_account_number", flat=True))
    assert len(accounts) == len(set(accounts))


def test_another_city_gets_people_of_its_own(db):
    generate(households=20)
    generate(households=20, city_code="3204")
    assert Household.objects.filter(region_code__startswith="3204").count() == 20
    ids = list(Member.objects.values_list("id_number", flat=True))
    assert len(ids) == len(set(ids))


def test_reset_deletes_only_the_generated_households(db):
    generate(households=15)
    registered = HouseholdFactory(village=villages_of("3211")[0])
    assert delete_generated(city_code="3211") == 15
    assert list(Household.objects.all()) == [registered]
    assert not Member.objects.exists() and not Enrolment.objects.exists()
    assert not GeneratedCaseload.objects.exists()


def test_resident_ids_stay_unique_over_fifty_thousand_households_in_two_runs():
    villages = [
        Region(id=i, code=f"3211120010{i:02d}", name="东城村", level="village") for i in (1, 2)
    ]
    first = Drafter(villages=villages, seed=1, as_of=AS_OF, slots=IdSlots(), serial=0, standard=875)
    ids = [p.id_number for d in first.households(30_000) for p in d.members]
    second = Drafter(
        villages=villages,
        seed=1,
        as_of=AS_OF,
        slots=IdSlots(merge_slots([first.slots.taken])),
        serial=first.serial,
        standard=875,
    )
    ids += [p.id_number for d in second.households(20_000) for p in d.members]
    assert len(ids) > 100_000
    assert len(ids) == len(set(ids))
    assert all(int(number[14:17]) >= 200 for number in ids[:1000])


def test_drafts_mix_categories_sizes_incomes_and_conditions():
    villages = [Region(id=1, code="321102001001", name="北府社区", level="village")]
    drafter = Drafter(
        villages=villages, seed=3, as_of=AS_OF, slots=IdSlots(), serial=0, standard=875
    )
    drafts = list(drafter.households(3000))
    categories = Counter(e.category for d in drafts for e in d.enrolments)
    assert set(categories) == set(Category.values)
    assert categories.most_common(1)[0][0] == Category.DIBAO
    assert {len(d.members) for d in drafts} == {1, 2, 3, 4, 5, 6}
    people = [p for d in drafts for p in d.members]
    assert any(p.serious_illness for p in people)
    assert {p.disability_grade for p in people} >= {1, 2, 3, 4}
    types = {t for p in people for t, *_ in p.incomes}
    assert types & COUNTED_INCOME and types - COUNTED_INCOME - DEDUCTED_COSTS
    assert any(valid_to and valid_to < AS_OF for p in people for *_, valid_to in p.incomes)
    care = {e.care_level for d in drafts for e in d.enrolments if e.category == Category.TEKUN}
    assert care == {"self_care", "partial", "full"}


def assert_local_ids(person_villages, city_code: str, as_of: datetime.date) -> None:
    """Each (person, village): an ID the validator accepts, carrying the code of the village's
    county (one of the city's own), and a birth date that gives the person's drafted age."""
    counties = set(
        Region.objects.filter(level="county", code__startswith=city_code).values_list(
            "code", flat=True
        )
    )
    births = []
    for person, village in person_villages:
        resident = parse_resident_id(person.id_number)
        assert person.id_number[:6] == village.code[:6], (person.id_number, village.code)
        assert f"{person.id_number[:6]}000000" in counties
        assert resident.birth_date == person.birth_date
        assert age_on(resident.birth_date, as_of) == person.age
        births.append(resident.birth_date.year)
    # The sample holds the elderly, born long before their county's code existed.
    assert min(births) < 1945 and sum(year < 1960 for year in births) > 50


@pytest.mark.parametrize("city_code", ["3211", "3204"])
def test_every_drafted_id_is_valid_and_carries_the_county_of_the_village(db, city_code):
    load_regions()
    drafter = Drafter(
        villages=villages_of(city_code),
        seed=11,
        as_of=AS_OF,
        slots=IdSlots(),
        serial=0,
        standard=875,
    )
    drafts = list(drafter.households(2000))
    assert len({d.village.code[:6] for d in drafts}) == 6  # every county of the city
    assert_local_ids(((p, d.village) for d in drafts for p in d.members), city_code, AS_OF)


@pytest.mark.parametrize("body", ["622173000000000001", "79927398713", "621700123456789012"])
def test_luhn_digit_agrees_with_stdnum(body):
    from stdnum import luhn

    assert luhn_digit(body) == luhn.calc_check_digit(body)


def test_generate_caseload_command_prints_households_per_second(db):
    out = io.StringIO()
    call_command(
        "generate_caseload", "--city", "3211", "--households", "12", "--as-of", "2026-11",
        stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    assert "households: 12" in out.getvalue()
    assert "households/s:" in out.getvalue()
    assert Household.objects.count() == 12


def test_every_drafted_enrolment_starts_in_the_past_and_after_the_birth():
    january = datetime.date(2026, 1, 1)
    villages = [Region(id=1, code="320402001001", name="东门社区", level="village")]
    drafter = Drafter(
        villages=villages, seed=5, as_of=january, slots=IdSlots(), serial=0, standard=1020
    )
    for draft in drafter.households(3000):
        for e in draft.enrolments:
            covered = draft.members if e.member_index is None else [draft.members[e.member_index]]
            assert e.start_month < january
            assert all(e.start_month > p.birth_date for p in covered)
            assert e.next_review_due > january


def test_the_engine_explains_every_generated_enrolment(db):
    from casework.facts import explain_enrolment

    generate(households=120)
    for enrolment in Enrolment.objects.select_related("household"):
        amount = explain_enrolment(enrolment=enrolment, month=AS_OF).amount
        if enrolment.category == Category.MARGINAL:
            assert amount == 0  # no monthly cash for marginal families (DOMAIN.md)
        else:
            assert amount > 0, enrolment.category


def test_the_generator_writes_each_households_facts_by_month(admin):
    generate(households=30, chunk_size=10)
    assert set(HouseholdFactsPeriod.objects.values_list("household_id", flat=True)) == set(
        Household.objects.values_list("pk", flat=True)
    )
    assert households_out_of_step() == []

    delete_generated(city_code="3211")

    assert not HouseholdFactsPeriod.objects.exists()
