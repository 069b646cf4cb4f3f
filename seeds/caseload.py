"""The synthetic caseload behind the benchmarks: households, members, incomes, enrolments.

Deterministic: the same seed, reference month and prior runs give the same rows. Rows are drafted
in plain Python, then written in chunks: COPY on PostgreSQL, executemany on SQLite. COPY bypasses
``save()``, so every derived value (region_code, birth date and sex from the ID) is set here, and
only values the registry services accept are produced (tests check a sample against them).

Resident IDs carry the area code of the person's county (as real IDs of the elderly do, whatever
the year the code was created) and are unique by construction: each person takes the next free
(birth date, order code) slot of their birth year and sex, whatever the area code, so two people
of different counties never share one either. Order codes 000–199 (make_resident_id
sequences 0–99) are left to hand-entered and demo data; the generator uses 200–999.
"""

import calendar
import datetime
import random
from bisect import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate

from django.db import models

from beneficiaries.models import Household, IncomeItem, IncomeType, Member, Region
from casework.models import CareLevel, Category, Enrolment, ReviewClass
from core.idnumbers import make_resident_id
from core.months import add_months, first_of_month, next_month

EARLIEST_START = datetime.date(2015, 1, 1)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘蒋蔡余杜叶程"
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国红梅志文国庆海波春燕晓东金凤德成家宝"
)
BANKS = (
    ("江苏银行", "622173"),
    ("中国农业银行", "622848"),
    ("中国工商银行", "622202"),
    ("中国建设银行", "621700"),
    ("江苏农村商业银行", "623066"),
)
DISABILITIES = ("visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple")


# random.randint/choice cost a microsecond each; one random() call is twenty times cheaper, and a
# million households draw some thirty million numbers.
def below(rng: random.Random, n: int) -> int:
    return int(rng.random() * n)


def between(rng: random.Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low + 1))


def pick(rng: random.Random, values: Sequence):
    return values[int(rng.random() * len(values))]


def luhn_digit(body: str) -> str:
    """The Luhn check digit of ``body`` (stdnum's luhn is correct but slow for a million cards)."""
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = ord(char) - 48
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str(-total % 10)


class Weighted:
    """A fixed weighted choice, drawn with one random() and a bisect (random.choices is slower)."""

    def __init__(self, table: Sequence[tuple[object, float]]):
        self.values = [value for value, _ in table]
        self.cumulative = list(accumulate(weight for _, weight in table))

    def __call__(self, rng: random.Random):
        return self.values[bisect(self.cumulative, rng.random() * self.cumulative[-1])]


ARCHETYPE = Weighted(
    [("dibao", 62), ("tekun", 14), ("marginal", 10), ("single_dibao", 8), ("children", 6)]
)
FAMILY_SIZE = Weighted([(1, 18), (2, 26), (3, 26), (4, 15), (5, 10), (6, 5)])
CARE_LEVEL = Weighted([(CareLevel.SELF_CARE, 55), (CareLevel.PARTIAL, 30), (CareLevel.FULL, 15)])
CHILD_CATEGORY = Weighted(
    [
        (Category.ORPHAN_COMMUNITY, 30),
        (Category.UNSUPPORTED_CHILD, 35),
        (Category.GUARDIAN_UNABLE_CHILD, 15),
        (Category.ILL_DISABLED_CHILD, 10),
        (Category.ORPHAN_INSTITUTION, 10),
    ]
)
COUNTED_WORK = Weighted([(IncomeType.WAGES, 70), (IncomeType.BUSINESS, 15), ("flexible", 15)])


@dataclass(slots=True)
class PersonDraft:
    name: str
    id_number: str
    birth_date: datetime.date
    sex: str
    relation: str
    age: int
    disability_category: str = ""
    disability_grade: int | None = None
    serious_illness: bool = False
    work_ability: str = Member.WorkAbility.FULL
    schooling: str = Member.Schooling.LEFT
    employment: str = Member.Employment.NOT_APPLICABLE
    # (type, monthly amount, valid_from, valid_to)
    incomes: list[tuple[str, str, datetime.date, datetime.date | None]] = field(
        default_factory=list
    )


@dataclass(slots=True)
class EnrolmentDraft:
    category: str
    member_index: int | None
    start_month: datetime.date
    review_class: str
    next_review_due: datetime.date
    care_level: str = ""


@dataclass(slots=True)
class HouseholdDraft:
    village: Region
    address: str
    hukou_type: str
    bank_name: str
    bank_account_number: str
    members: list[PersonDraft]
    enrolments: list[EnrolmentDraft]

    @property
    def bank_account_holder(self) -> str:
        return self.members[0].name


@dataclass
class IdSlots:
    """Hands out (birth date, make_resident_id sequence) pairs never handed out before.

    The generator takes sequences 100–499 (order codes 200–999); the demo loader 0–99.
    """

    taken: dict[str, int] = field(default_factory=dict)
    first_sequence: int = 100
    sequences_per_day: int = 400

    def take(self, year: int, sex: str) -> tuple[datetime.date, int]:
        while year > 1900:
            key = f"{year}{sex}"
            slot = self.taken.get(key, 0)
            days = 366 if calendar.isleap(year) else 365
            if slot < days * self.sequences_per_day:
                self.taken[key] = slot + 1
                # 97 is prime to 365 and 366: consecutive slots land on days spread over the year.
                day = slot * 97 % days
                birth = datetime.date(year, 1, 1) + datetime.timedelta(days=day)
                return birth, self.first_sequence + slot // days
            year -= 1  # this year and sex are full: the person is born a year earlier
        raise RuntimeError("no free resident-ID slot left")


def merge_slots(states: Sequence[dict[str, int]]) -> dict[str, int]:
    """The slots taken by all of these runs (each run's state is cumulative, so take the max)."""
    merged: dict[str, int] = {}
    for state in states:
        for key, value in state.items():
            merged[key] = max(merged.get(key, 0), value)
    return merged


class Drafter:
    """Drafts one household after another from a single seeded random stream."""

    def __init__(
        self,
        *,
        villages: Sequence[Region],
        seed: int,
        as_of: datetime.date,
        slots: IdSlots,
        serial: int,
        standard: int,
    ):
        self.rng = random.Random(seed)
        self.villages = villages
        self.as_of = first_of_month(as_of)
        self.slots = slots
        self.serial = serial
        # The city's monthly standard: incomes are drawn below, around and above it.
        self.standard = standard
        self.months_enrollable = (
            (self.as_of.year - EARLIEST_START.year) * 12 + self.as_of.month - EARLIEST_START.month
        )

    # ---- people -------------------------------------------------------------------------------
    def name(self, surname: str | None = None) -> str:
        rng = self.rng
        name = (surname or pick(rng, SURNAMES)) + pick(rng, GIVEN)
        return name if rng.random() < 0.3 else name + pick(rng, GIVEN)

    def person(
        self, *, age: int, relation: str, village: Region, sex: str | None = None, surname=None
    ) -> PersonDraft:
        rng = self.rng
        sex = sex or ("M" if rng.random() < 0.5 else "F")
        birth, sequence = self.slots.take(self.as_of.year - age, sex)
        completed = (
            self.as_of.year - birth.year - ((self.as_of.month, 1) < (birth.month, birth.day))
        )
        person = PersonDraft(
            name=self.name(surname),
            id_number=make_resident_id(village.code, birth, sequence, sex),
            birth_date=birth,
            sex=sex,
            relation=relation,
            age=completed,
        )
        if completed < 6:
            person.work_ability = Member.WorkAbility.NONE
            person.schooling = (
                Member.Schooling.PRESCHOOL if completed >= 3 else Member.Schooling.NONE
            )
        elif completed < 18:
            person.work_ability = Member.WorkAbility.NONE
            person.schooling = (
                Member.Schooling.PRIMARY
                if completed < 12
                else Member.Schooling.JUNIOR
                if completed < 15
                else Member.Schooling.SENIOR
            )
            person.employment = Member.Employment.STUDENT
        elif completed >= 60:
            person.work_ability = (
                Member.WorkAbility.NONE if completed >= 75 else Member.WorkAbility.PARTIAL
            )
            person.employment = Member.Employment.RETIRED
        else:
            person.employment = Member.Employment.UNEMPLOYED
        if rng.random() < 0.07:
            self.disable(person, grade=between(rng, 1, 4))
        if rng.random() < 0.04:
            self.fall_ill(person)
        return person

    def disable(self, person: PersonDraft, *, grade: int, category: str | None = None) -> None:
        rng = self.rng
        person.disability_category = category or pick(rng, DISABILITIES)
        person.disability_grade = grade
        if grade <= 2:
            person.work_ability = Member.WorkAbility.NONE
        elif person.work_ability == Member.WorkAbility.FULL:
            person.work_ability = Member.WorkAbility.PARTIAL
        # 残疾人两项补贴: exempt income.
        self.income(person, IncomeType.DISABILITY_SUBSIDY, between(rng, 90, 160))
        if grade <= 2 and rng.random() < 0.4:
            self.income(person, IncomeType.MEDICAL_DEDUCTION, between(rng, 100, 800))

    def fall_ill(self, person: PersonDraft) -> None:
        person.serious_illness = True
        if person.work_ability == Member.WorkAbility.FULL:
            person.work_ability = Member.WorkAbility.PARTIAL
        if self.rng.random() < 0.6:
            self.income(person, IncomeType.MEDICAL_DEDUCTION, between(self.rng, 200, 1500))

    def income(
        self, person: PersonDraft, type_: str, amount: int, *, expired: bool = False
    ) -> None:
        rng = self.rng
        valid_from = add_months(self.as_of, -between(rng, 2, 72))
        valid_to = None
        if expired:
            valid_to = add_months(self.as_of, -1) - datetime.timedelta(days=between(rng, 1, 200))
            valid_from = min(valid_from, first_of_month(valid_to))
        elif rng.random() < 0.1:
            valid_to = add_months(self.as_of, between(rng, 2, 24)) - datetime.timedelta(days=1)
        person.incomes.append((type_, f"{amount}.00", valid_from, valid_to))

    def counted_income(self, people: Sequence[PersonDraft], total: int) -> None:
        """Spread ``total`` yuan of counted monthly income over the household's earners."""
        rng = self.rng
        if total <= 0:
            return
        earners = [p for p in people if 18 <= p.age < 60 and p.work_ability != "none"]
        if earners:
            earner = pick(rng, earners)
            kind = COUNTED_WORK(rng)
            if kind == "flexible":
                earner.employment = Member.Employment.FLEXIBLE
                kind = IncomeType.WAGES
            else:
                earner.employment = Member.Employment.EMPLOYED
            self.income(earner, kind, total)
        else:
            elders = [p for p in people if p.age >= 60]
            if elders:
                self.income(pick(rng, elders), IncomeType.PENSION, total)
            else:
                # 赡养/抚养费 from relatives obliged to support them.
                self.income(pick(rng, people), IncomeType.SUPPORT, total)

    def exempt_extras(self, people: Sequence[PersonDraft]) -> None:
        rng = self.rng
        for person in people:
            if person.employment == Member.Employment.STUDENT and rng.random() < 0.2:
                self.income(person, IncomeType.SCHOLARSHIP, between(rng, 50, 200))
            elif person.age >= 60 and rng.random() < 0.08:
                self.income(person, IncomeType.SPECIAL_CARE, between(rng, 300, 1500))
            elif person.age >= 55 and rng.random() < 0.05:
                self.income(person, IncomeType.FAMILY_PLANNING, between(rng, 80, 150))
            if 18 <= person.age < 60 and rng.random() < 0.05:
                # A job that ended: on record, no longer counted.
                self.income(person, IncomeType.WAGES, between(rng, 1500, 4000), expired=True)

    def family(self, size: int, village: Region) -> list[PersonDraft]:
        rng = self.rng
        head_age = between(rng, 25, 85)
        head = self.person(age=head_age, relation=Member.Relation.HEAD, village=village)
        surname = head.name[0]
        people = [head]
        if size >= 2 and head_age < 80 and rng.random() < 0.75:
            spouse_sex = "F" if head.sex == "M" else "M"
            people.append(
                self.person(
                    age=max(20, head_age + between(rng, -5, 5)),
                    relation=Member.Relation.SPOUSE,
                    village=village,
                    sex=spouse_sex,
                )
            )
        while len(people) < size:
            if head_age < 50 and rng.random() < 0.25:
                relation, age = Member.Relation.PARENT, between(rng, head_age + 20, head_age + 35)
            elif head_age >= 55 and rng.random() < 0.5:
                relation, age = Member.Relation.GRANDCHILD, between(rng, 2, 17)
            else:
                relation, age = (
                    Member.Relation.CHILD,
                    between(rng, 2, max(2, min(head_age - 20, 35))),
                )
            people.append(self.person(age=age, relation=relation, village=village, surname=surname))
        return people

    # ---- enrolments ---------------------------------------------------------------------------
    def start_month(self, covered: Sequence[PersonDraft]) -> datetime.date:
        """A past month, after the youngest covered person's birth (everyone is at least two, so
        the month after their birth is before ``as_of``)."""
        start = add_months(EARLIEST_START, between(self.rng, 0, self.months_enrollable - 1))
        born = max(p.birth_date for p in covered)
        return max(start, next_month(born))

    def enrolment(
        self,
        category: str,
        member_index: int | None,
        start_month: datetime.date,
        review_class: str,
        care_level: str = "",
    ) -> EnrolmentDraft:
        """An enrolment in force since ``start_month``, reviewed every 6 or 12 months since."""
        period = 6 if review_class == ReviewClass.ABLE_TO_WORK else 12
        elapsed = (self.as_of.year - start_month.year) * 12 + self.as_of.month - start_month.month
        due = add_months(start_month, (elapsed // period + 1) * period)
        return EnrolmentDraft(category, member_index, start_month, review_class, due, care_level)

    def review_class(self, people: Sequence[PersonDraft]) -> str:
        if any(18 <= p.age < 60 and p.work_ability == "full" for p in people):
            return ReviewClass.ABLE_TO_WORK
        return ReviewClass.STABLE

    def household(self) -> HouseholdDraft:
        rng = self.rng
        village = self.villages[below(rng, len(self.villages))]
        archetype = ARCHETYPE(rng)
        s = self.standard
        enrolments: list[EnrolmentDraft] = []
        if archetype == "tekun":
            people = [self.tekun_person(village, Member.Relation.HEAD)]
            if rng.random() < 0.15:
                people.append(self.tekun_person(village, Member.Relation.SIBLING))
            for index, person in enumerate(people):
                enrolments.append(
                    self.enrolment(
                        Category.TEKUN,
                        index,
                        self.start_month([person]),
                        ReviewClass.STABLE,
                        CareLevel.FULL if person.disability_grade == 1 else CARE_LEVEL(rng),
                    )
                )
        elif archetype == "children":
            people = self.children_household(village, enrolments)
        else:
            size = FAMILY_SIZE(rng)
            if archetype != "dibao":
                size = max(size, 2)
            people = self.family(size, village)
            if archetype == "dibao":
                per_capita = 0 if rng.random() < 0.25 else between(rng, 1, int(s * 0.85))
                self.counted_income(people, per_capita * len(people))
                enrolments.append(
                    self.enrolment(
                        Category.DIBAO,
                        None,
                        self.start_month(people),
                        self.review_class(people),
                    )
                )
                minors = [i for i, p in enumerate(people) if p.age < 17]
                if minors and rng.random() < 0.05:
                    index = pick(rng, minors)
                    self.fall_ill(people[index])
                    enrolments.append(
                        self.enrolment(
                            Category.ILL_DISABLED_CHILD,
                            index,
                            self.start_month([people[index]]),
                            ReviewClass.STABLE,
                        )
                    )
            elif archetype == "marginal":
                per_capita = between(rng, s, int(s * 1.5) - 1)
                self.counted_income(people, per_capita * len(people))
                enrolments.append(
                    self.enrolment(
                        Category.MARGINAL,
                        None,
                        self.start_month(people),
                        self.review_class(people),
                    )
                )
            else:  # single_dibao: one ill or severely disabled member of a family above the line
                index = below(rng, len(people))
                covered = people[index]
                roll = rng.random()
                if roll < 0.5:
                    self.fall_ill(covered)
                elif roll < 0.85:
                    self.disable(covered, grade=between(rng, 1, 2))
                else:
                    self.disable(covered, grade=3, category=pick(rng, ("intellectual", "mental")))
                others = [p for p in people if p is not covered]
                per_capita = between(rng, s, int(s * 1.8))
                self.counted_income(others, per_capita * len(people))
                enrolments.append(
                    self.enrolment(
                        Category.SINGLE_DIBAO,
                        index,
                        self.start_month([covered]),
                        ReviewClass.STABLE,
                    )
                )
        self.exempt_extras(people)
        self.serial += 1
        bank_name, bin_ = BANKS[below(rng, len(BANKS))]
        body = f"{bin_}{self.serial:012d}"
        rural = village.name.endswith("村")
        return HouseholdDraft(
            village=village,
            address=(
                f"{village.name}{between(rng, 1, 12)}组{between(rng, 1, 80)}号"
                if rural
                else f"{village.name}{between(rng, 1, 40)}幢{between(rng, 1, 4)}单元"
                f"{between(rng, 1, 18)}0{between(rng, 1, 4)}室"
            ),
            hukou_type=Household.HukouType.RURAL if rural else Household.HukouType.URBAN,
            bank_name=bank_name,
            bank_account_number=body + luhn_digit(body),
            members=people,
            enrolments=enrolments,
        )

    def tekun_person(self, village: Region, relation: str) -> PersonDraft:
        """特困: no ability to work, no counted income, no one bound to support them."""
        rng = self.rng
        if rng.random() < 0.8:
            person = self.person(age=between(rng, 60, 95), relation=relation, village=village)
        else:
            person = self.person(age=between(rng, 18, 59), relation=relation, village=village)
            if person.disability_grade is None or person.disability_grade > 2:
                person.incomes.clear()
                self.disable(person, grade=between(rng, 1, 2))
        person.work_ability = Member.WorkAbility.NONE
        person.employment = Member.Employment.NOT_APPLICABLE
        return person

    def children_household(
        self, village: Region, enrolments: list[EnrolmentDraft]
    ) -> list[PersonDraft]:
        rng = self.rng
        category = CHILD_CATEGORY(rng)
        if category == Category.ORPHAN_INSTITUTION:
            child = self.person(
                age=between(rng, 2, 16), relation=Member.Relation.HEAD, village=village
            )
            people = [child]
        else:
            guardian = self.person(
                age=between(rng, 58, 80), relation=Member.Relation.HEAD, village=village
            )
            child = self.person(
                age=between(rng, 2, 16),
                relation=Member.Relation.GRANDCHILD,
                village=village,
                surname=guardian.name[0],
            )
            people = [guardian, child]
            if rng.random() < 0.3:
                people.insert(
                    1,
                    self.person(
                        age=max(58, guardian.age + between(rng, -4, 4)),
                        relation=Member.Relation.SPOUSE,
                        village=village,
                        sex="F" if guardian.sex == "M" else "M",
                    ),
                )
            self.income(guardian, IncomeType.PENSION, between(rng, 150, 900))
        if category == Category.ILL_DISABLED_CHILD and not child.serious_illness:
            if child.disability_grade is None and rng.random() < 0.5:
                self.disable(child, grade=between(rng, 1, 2))
            else:
                self.fall_ill(child)
        enrolments.append(
            self.enrolment(
                category, people.index(child), self.start_month([child]), ReviewClass.STABLE
            )
        )
        return people

    def households(self, count: int) -> Iterator[HouseholdDraft]:
        for _ in range(count):
            yield self.household()


# ---- writing ------------------------------------------------------------------------------------

HOUSEHOLD_FIELDS = (
    "id", "village_id", "region_code", "address", "hukou_type", "head_id", "bank_name",
    "bank_account_holder", "bank_account_number", "status", "created_at", "updated_at",
)  # fmt: skip
MEMBER_FIELDS = (
    "id", "household_id", "name", "id_number", "birth_date", "sex", "relation",
    "disability_category", "disability_grade", "serious_illness", "work_ability", "schooling",
    "employment", "is_alive", "death_date", "is_active", "created_at", "updated_at",
)  # fmt: skip
INCOME_FIELDS = (
    "id", "member_id", "type", "monthly_amount", "valid_from", "valid_to", "note", "created_at",
)  # fmt: skip
ENROLMENT_FIELDS = (
    "id", "household_id", "member_id", "region_code", "category", "status", "start_month",
    "end_month", "review_class", "care_level", "gradual_exit_amount", "gradual_exit_until",
    "next_review_due", "created_at", "updated_at",
)  # fmt: skip


@dataclass(frozen=True)
class Table:
    """A model's table as the generator writes it: our columns plus constant defaults of others."""

    model: type[models.Model]
    columns: tuple[str, ...]
    extra: tuple  # values of columns added by other branches, from their field defaults

    @classmethod
    def of(cls, model: type[models.Model], attnames: Sequence[str]) -> "Table":
        columns = [model._meta.get_field(name.removesuffix("_id")).column for name in attnames]
        extra = []
        for f in model._meta.concrete_fields:
            if f.column in columns or f.null:
                continue
            if not f.has_default() or callable(f.default):
                raise RuntimeError(f"generate_caseload does not know how to fill {f}")
            columns.append(f.column)
            extra.append(f.get_default())
        return cls(model, tuple(columns), tuple(extra))

    @property
    def name(self) -> str:
        return self.model._meta.db_table


def household_rows(
    drafts: Sequence[HouseholdDraft],
    ids: Callable[[str, int], list[int]],
    now: str,
) -> dict[str, list[tuple]]:
    """Rows for each table, with ids taken from ``ids(table, count)`` (the tables' sequences)."""
    member_count = sum(len(d.members) for d in drafts)
    income_count = sum(len(p.incomes) for d in drafts for p in d.members)
    enrolment_count = sum(len(d.enrolments) for d in drafts)
    household_ids = iter(ids(Household._meta.db_table, len(drafts)))
    member_ids = iter(ids(Member._meta.db_table, member_count))
    income_ids = iter(ids(IncomeItem._meta.db_table, income_count))
    enrolment_ids = iter(ids(Enrolment._meta.db_table, enrolment_count))
    rows: dict[str, list[tuple]] = {"household": [], "member": [], "income": [], "enrolment": []}
    for draft in drafts:
        household_id = next(household_ids)
        code = draft.village.code
        ids_of_members = []
        for p in draft.members:
            member_id = next(member_ids)
            ids_of_members.append(member_id)
            rows["member"].append(
                (
                    member_id, household_id, p.name, p.id_number, p.birth_date, p.sex,
                    p.relation, p.disability_category, p.disability_grade, p.serious_illness,
                    p.work_ability, p.schooling, p.employment, True, None, True, now, now,
                )
            )  # fmt: skip
            for type_, amount, valid_from, valid_to in p.incomes:
                rows["income"].append(
                    (next(income_ids), member_id, type_, amount, valid_from, valid_to, "", now)
                )
        rows["household"].append(
            (
                household_id, draft.village.pk, code, draft.address, draft.hukou_type,
                ids_of_members[0], draft.bank_name, draft.bank_account_holder,
                draft.bank_account_number,
                Household.Status.ACTIVE, now, now,
            )
        )  # fmt: skip
        for e in draft.enrolments:
            member_id = None if e.member_index is None else ids_of_members[e.member_index]
            rows["enrolment"].append(
                (
                    next(enrolment_ids), household_id, member_id, code, e.category,
                    Enrolment.Status.ACTIVE, e.start_month, None, e.review_class, e.care_level,
                    None, None, e.next_review_due, now, now,
                )
            )  # fmt: skip
    return rows
