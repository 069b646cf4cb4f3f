"""The rules engine: one enrolment, its household's facts and the parameters in force
→ an amount and the steps that explain it.

Pure Python over frozen snapshots: no database, no Django. It reads top to bottom like the
policy (DOMAIN.md "Monthly amounts"); every number it uses is a parameter (docs/parameters.md):

1. 渐退 gradual exit pays the last approved amount (``gradual_exit_amount``) in the exit's own
   months, ``gradual_exit_from`` to ``gradual_exit_until`` (the months before it were paid by
   the rules below, and a recompute of one of them still is); a suspended or stopped enrolment
   pays nothing.
2. 低保 dibao, the difference rule: per-capita income = the members' counted income (deductible
   costs already subtracted; a negative total counts as 0) ÷ household size; gap = standard −
   per-capita income, never below 0, raised to ``floor_share`` × standard when that is larger.
   Each covered member gets the gap, and the household the sum of its members' amounts.
   分类施保: a member in a supplement class (seriously ill, severely disabled, elderly, minor,
   living alone) gets, instead, the gap or the full standard (``supplement_*_full``) plus
   ``supplement_*_share`` × standard; in several classes, the one that pays most.
3. 单人保 single-person dibao: the member as a one-person household with their own income, plus
   their supplement (living alone means the real household has one member).
4. 特困: ``tekun_multiplier`` × standard + the care allowance of the care level (a fixed amount
   + a share of ``minimum_wage``): the member's self-care ability recorded for the month, else
   the enrolment's assessed level; none recorded counts as fully self-caring.
5. 困境儿童: orphans in an institution get ``orphan_institution_amount``; community orphans a
   share of it (rounded); the other children's categories a share of the community amount.
6. 低保边缘 marginal families: no monthly cash (amount 0, with the threshold explained).
7. 价格临时补贴 (``price_subsidy``): standard ÷ divisor per covered person, rounded to the yuan,
   when the month's CPI rise reaches the trigger; once per person per month: a person covered
   by several enrolments in force (a member of a dibao household with their own 特困 or
   children's enrolment) is paid on the first in ``PRICE_SUBSIDY_ORDER`` (dibao, marginal,
   特困, the children's categories, 单人保; then the oldest enrolment), and each line's
   explanation says which line pays them.

Rounding happens once, at the end of each member's amount (``rounding_quantum``,
``rounding_mode``). Steps name members by their position in the household, so the explanation
depends only on the facts; ``Result.members`` maps positions to member ids.

Each step is recorded as ``(code, values, result)``: the code of its kind in rules.steps, which
gives it words in Chinese and English when it is read, and its values in the order the formula
uses them. A result names the Standard rows of exactly the parameters its steps used.

Speed matters (a province's batch is a million households): per-category constants are derived
once per ``Params`` and steps are recorded as plain tuples.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import NamedTuple

from rules.steps import parameters_of, step_dict

ZERO = Decimal(0)
ONE = Decimal(1)

# Category values (casework.models.Category), as plain strings so the engine imports no Django.
DIBAO = "dibao"
SINGLE_DIBAO = "single_dibao"
TEKUN = "tekun"
ORPHAN_INSTITUTION = "orphan_institution"
ORPHAN_COMMUNITY = "orphan_community"
UNSUPPORTED_CHILD = "unsupported_child"
GUARDIAN_UNABLE_CHILD = "guardian_unable_child"
ILL_DISABLED_CHILD = "ill_disabled_child"
MARGINAL = "marginal"
HOUSEHOLD_CATEGORIES = frozenset({DIBAO, MARGINAL})
CHILD_CATEGORIES = frozenset(
    {
        ORPHAN_INSTITUTION,
        ORPHAN_COMMUNITY,
        UNSUPPORTED_CHILD,
        GUARDIAN_UNABLE_CHILD,
        ILL_DISABLED_CHILD,
    }
)
CATEGORIES = HOUSEHOLD_CATEGORIES | CHILD_CATEGORIES | {SINGLE_DIBAO, TEKUN}
# Which enrolment pays a person's price subsidy when several cover them in a month: the first
# in this order (then the oldest enrolment). The household's line comes first: it covers every
# member, so a member with an own enrolment adds nothing to the household's line and gets no
# second subsidy on their own.
PRICE_SUBSIDY_ORDER = (
    DIBAO,
    MARGINAL,
    TEKUN,
    ORPHAN_INSTITUTION,
    ORPHAN_COMMUNITY,
    UNSUPPORTED_CHILD,
    GUARDIAN_UNABLE_CHILD,
    ILL_DISABLED_CHILD,
    SINGLE_DIBAO,
)

# Enrolment status values (casework.models.Enrolment.Status).
ACTIVE = "active"
GRADUAL_EXIT = "gradual_exit"

# Care levels (casework.models.CareLevel); an empty level is treated as fully self-caring.
CARE_LEVELS = ("self_care", "partial", "full")

# The parameter ``rounding_mode`` is stored as a number (every Standard value is a Decimal).
ROUNDING_MODES = {1: ROUND_HALF_UP, 2: ROUND_HALF_EVEN, 3: ROUND_DOWN, 4: ROUND_UP}

# Classified supplements (分类施保). A member in several classes gets the one that pays most;
# supplements do not add up (Jiangsu: 就高不重复).
SUPPLEMENT_CLASSES = ("serious_illness", "severe_disability", "elderly", "minor", "living_alone")


class MissingParameter(LookupError):
    """A rule needs a parameter that has no value in force for the region and month."""


# ---------------------------------------------------------------------------------------------
# Facts: frozen snapshots fed to the engine.


# Facts are named tuples: immutable, compared by value, and made a million times per batch at a
# seventh of the cost of a frozen dataclass.


class MemberFacts(NamedTuple):
    """A living member active in the household in the month, with the facts in force in that
    month.

    ``counted_income`` is the member's counted monthly income minus deductible costs (necessary
    medical, nursing and rehabilitation costs); it may be negative when costs exceed income.
    ``care_level`` is the self-care ability recorded for the month ("" where none was: the
    enrolment's assessed level applies).
    """

    member_id: int
    age: int
    counted_income: Decimal
    serious_illness: bool = False
    disability_grade: int | None = None
    disability_category: str = ""
    care_level: str = ""


class HouseholdFacts(NamedTuple):
    """A household in a month: its members, and ``coverage``, the enrolments in force in the
    month as (enrolment id, member id or None for the household's own, category) when there are
    two or more (otherwise empty): only the price subsidy reads it, to pay it once per person."""

    household_id: int
    members: tuple[MemberFacts, ...]
    coverage: tuple[tuple[int, int | None, str], ...] = ()


class EnrolmentFacts(NamedTuple):
    """An enrolment as of a month. A gradual exit (渐退) keeps ``gradual_exit_amount`` from the
    month ``gradual_exit_from`` to ``gradual_exit_until`` (first days of months; the first may
    be unknown)."""

    enrolment_id: int
    category: str
    member_id: int | None = None
    care_level: str = ""
    status: str = ACTIVE
    gradual_exit_amount: Decimal | None = None
    gradual_exit_from: date | None = None
    gradual_exit_until: date | None = None


# ---------------------------------------------------------------------------------------------
# Results.


class Result:
    """The amount, the steps that explain it and the Standard ids of the parameters they used.

    ``steps`` are the steps as recorded, ``(code, values, result)`` (rules.steps gives them
    words); ``explanation()`` is their stored form. ``members`` lists (member_id, amount) for
    each covered member; their sum is ``amount``. Treat a Result as immutable: ``versions`` may
    be shared between results of one ``Params``.
    """

    __slots__ = ("amount", "steps", "versions", "_members", "_each")

    def __init__(
        self,
        amount: Decimal,
        steps: tuple[tuple, ...] = (),
        versions: dict[str, int] | None = None,
        members: tuple[tuple[int, Decimal], ...] = (),
    ):
        self.amount = amount
        self.steps = tuple(steps)
        self.versions = dict(versions or {})
        self._members = tuple(members)
        self._each = None

    @classmethod
    def _of(
        cls, amount: Decimal, steps, versions: dict, members: tuple, each: Decimal | None = None
    ) -> Result:
        # The engine's fast path: when every member gets the same ``each``, ``members`` holds
        # the MemberFacts until it is read.
        result = object.__new__(cls)
        result.amount = amount
        result.steps = steps
        result.versions = versions
        result._members = members
        result._each = each
        return result

    @property
    def members(self) -> tuple[tuple[int, Decimal], ...]:
        if self._each is not None:
            return tuple([(member.member_id, self._each) for member in self._members])
        return self._members

    def explanation(self) -> list[dict]:
        """The steps in their stored, JSON-ready form (rules.steps.step_dict)."""
        return [step_dict(step) for step in self.steps]

    def __eq__(self, other) -> bool:
        if not isinstance(other, Result):
            return NotImplemented
        return (self.amount, tuple(self.steps), self.versions) == (
            other.amount,
            tuple(other.steps),
            other.versions,
        )

    def __repr__(self) -> str:
        return f"Result(amount={self.amount!r}, steps={[step[0] for step in self.steps]})"


# ---------------------------------------------------------------------------------------------
# Parameters in force for one region and month.


def version_key(component: str, category: str = "") -> str:
    """How a parameter is named in ``Result.versions`` and PaymentLine.parameter_versions."""
    return f"{component}:{category}" if category else component


class Params:
    """Parameter values in force for one region and month (built by rules.parameters).

    ``values`` and ``versions`` are keyed by (component, category); a category's own value wins
    over the general one (category ""). ``versions`` holds Standard row ids; a value with no row
    (a catalogue default) has version 0.
    """

    __slots__ = ("region_code", "month", "_values", "_versions", "_compiled", "_fingerprint")

    def __init__(
        self,
        values: dict[tuple[str, str], Decimal],
        versions: dict[tuple[str, str], int] | None = None,
        *,
        region_code: str = "",
        month: date | None = None,
    ):
        self.region_code = region_code
        self.month = month
        self._values = {key: Decimal(value) for key, value in values.items()}
        self._versions = dict(versions or {})
        self._compiled: dict[tuple[str, str], _Rules] = {}
        self._fingerprint: tuple | None = None

    @property
    def fingerprint(self) -> tuple:
        """Every value and version in force, as one hashable value: two Params with the same
        fingerprint give every rule the same numbers and the same versions."""
        if self._fingerprint is None:
            self._fingerprint = (
                tuple(sorted(self._values.items())),
                tuple(sorted(self._versions.items())),
            )
        return self._fingerprint

    def _key(self, component: str, category: str) -> tuple[str, str]:
        if category and (component, category) in self._values:
            return (component, category)
        if (component, "") in self._values:
            return (component, "")
        where = f" ({category})" if category else ""
        raise MissingParameter(
            f"参数 {component}{where} 在 {self.region_code} {self.month} 无生效值"
        )

    def value(self, component: str, category: str = "") -> Decimal:
        return self._values[self._key(component, category)]

    def version(self, component: str, category: str = "") -> int:
        return self._versions.get(self._key(component, category), 0)

    @property
    def versions_used(self) -> dict[str, int]:
        """Every Standard row in force here, as ``Result.versions`` names them."""
        return {version_key(*key): vid for key, vid in self._versions.items() if vid}

    def rules(self, category: str, purpose: str = "monthly") -> _Rules:
        """The constants of one category's rule for one purpose, derived once and cached."""
        rules = self._compiled.get((category, purpose))
        if rules is None:
            rules = self._compiled[(category, purpose)] = _Rules(self, category, purpose)
        return rules


class _Rules:
    """Constants derived once from a Params for one category and purpose (the monthly amount,
    the price subsidy, gradual exit, temporary relief): the standard, rounding, supplements...

    Only what the purpose reads is read, so a region without, say, children's amounts can still
    pay dibao; ``versions`` holds the Standard ids of exactly those values.
    """

    def __init__(self, params: Params, category: str, purpose: str):
        self.params = params
        self.category = category
        self.versions: dict[str, int] = {}
        self.standard = self.read("standard")
        self.quantum = self.read("rounding_quantum").normalize()
        self.mode = int(self.read("rounding_mode"))
        if self.mode not in ROUNDING_MODES:
            raise MissingParameter(f"rounding_mode {self.mode} 不是有效的取整方式")
        self.rounding = ROUNDING_MODES[self.mode]
        self._used: dict[tuple[str, ...], dict[str, int]] = {}
        # The ages a rule compares a member's age with, sorted: it reads ages in no other way
        # (see facts_key). Rules that set none do not read ages.
        self.age_thresholds: tuple[int, ...] = ()
        compile_purpose = _COMPILERS.get(category if purpose == "monthly" else purpose)
        if compile_purpose is not None:
            compile_purpose(self)

    def read(self, component: str) -> Decimal:
        key = self.params._key(component, self.category)
        vid = self.params._versions.get(key)
        if vid:
            self.versions[version_key(*key)] = vid
        return self.params._values[key]

    def used(self, steps) -> dict[str, int]:
        """The versions of the parameters these steps used (``versions`` holds every one the
        rule read), one dict per distinct sequence of step kinds."""
        codes = tuple([step[0] for step in steps])
        used = self._used.get(codes)
        if used is None:
            components = parameters_of(codes)
            used = self._used[codes] = {
                key: vid
                for key, vid in self.versions.items()
                if key.partition(":")[0] in components
            }
        return used


# ---------------------------------------------------------------------------------------------
# What each rule reads, derived once per Params (see _Rules).


def _compile_dibao(r: _Rules) -> None:
    r.floor_share = r.read("floor_share")
    r.floor = r.standard * r.floor_share
    supplements = []
    for name in SUPPLEMENT_CLASSES:
        full = r.read(f"supplement_{name}_full") != ZERO
        share = r.read(f"supplement_{name}_share")
        if full or share:
            code = f"supplement_{'full' if full else 'gap'}.{name}"
            supplements.append((name, code, full, share, r.standard * share))
    r.supplements = tuple(supplements)
    if supplements:
        r.elderly_age = int(r.read("elderly_age"))
        r.minor_age = int(r.read("minor_age"))
        r.severe_grade = int(r.read("severe_disability_max_grade"))
        r.age_thresholds = tuple(sorted((r.minor_age, r.elderly_age)))


def _compile_tekun(r: _Rules) -> None:
    r.multiplier = r.read("tekun_multiplier")
    r.basic = r.standard * r.multiplier
    minimum_wage = r.read("minimum_wage")
    r.care = {}
    for level in CARE_LEVELS:
        fixed = r.read(f"care_{level}_amount")
        share = r.read(f"care_{level}_share")
        r.care[level] = (fixed, minimum_wage, share, fixed + minimum_wage * share)


def _compile_child(r: _Rules) -> None:
    r.institution = r.read("orphan_institution_amount")
    if r.category != ORPHAN_INSTITUTION:
        r.community_share = r.read("orphan_community_share")
        r.community = (r.institution * r.community_share).quantize(r.quantum, r.rounding)
    if r.category not in (ORPHAN_INSTITUTION, ORPHAN_COMMUNITY):
        r.child_share = r.read(f"{r.category}_share")


def _compile_marginal(r: _Rules) -> None:
    r.marginal_multiplier = r.read("marginal_multiplier")
    r.threshold = r.standard * r.marginal_multiplier


def _compile_price(r: _Rules) -> None:
    r.trigger = r.read("price_subsidy_trigger")
    r.trigger_high = r.read("price_subsidy_trigger_high")
    r.divisor = r.read("price_subsidy_divisor")
    r.divisor_high = r.read("price_subsidy_divisor_high")


def _compile_gradual_exit(r: _Rules) -> None:
    r.severe_grade = int(r.read("severe_disability_max_grade"))
    r.months = int(r.read("gradual_exit_months"))
    r.months_severe = int(r.read("gradual_exit_months_severe"))


def _compile_relief(r: _Rules) -> None:
    r.relief = {
        name: r.read(f"relief_{name}")
        for name in (
            "township_limit_multiple",
            "county_cap_multiple",
            "medical_max_multiple",
            "medical_threshold",
            "medical_excess_share",
            "medical_cap_multiple",
            "accidental_death_multiple",
            "other_multiple",
        )
    }


_COMPILERS = {
    DIBAO: _compile_dibao,
    SINGLE_DIBAO: _compile_dibao,
    TEKUN: _compile_tekun,
    MARGINAL: _compile_marginal,
    "price": _compile_price,
    "gradual_exit": _compile_gradual_exit,
    "relief": _compile_relief,
    **{category: _compile_child for category in CHILD_CATEGORIES},
}


# ---------------------------------------------------------------------------------------------
# The rules.


def covered_persons(enrolment: EnrolmentFacts, household: HouseholdFacts) -> int:
    """Household categories cover every living member in the household; others cover one."""
    if enrolment.category in HOUSEHOLD_CATEGORIES:
        return len(household.members)
    return 1 if _covered_member(enrolment, household) is not None else 0


def _covered_member(enrolment: EnrolmentFacts, household: HouseholdFacts) -> MemberFacts | None:
    for member in household.members:
        if member.member_id == enrolment.member_id:
            return member
    return None


def compute_amount(enrolment: EnrolmentFacts, household: HouseholdFacts, params: Params) -> Result:
    """The monthly amount of one enrolment, with its explanation (see the module docstring)."""
    status = enrolment.status
    if status == GRADUAL_EXIT:
        return _gradual_exit(enrolment, params.month)
    if status != ACTIVE:
        return Result._of(ZERO, (("not_paid", (), ZERO),), {}, ())
    rule = _RULES.get(enrolment.category)
    if rule is None:
        raise ValueError(f"unknown category {enrolment.category!r}")
    return rule(enrolment, household, params.rules(enrolment.category))


def _gradual_exit(enrolment: EnrolmentFacts, month: date | None) -> Result:
    """The amount kept in gradual exit, with its period and which month of it this is."""
    amount = enrolment.gradual_exit_amount or ZERO
    first, last = enrolment.gradual_exit_from, enrolment.gradual_exit_until
    if first is None or last is None or month is None:
        step = ("gradual_exit_until", (amount, _month_text(last)), amount)
    else:
        values = (
            amount,
            _month_text(first),
            _month_text(last),
            _months_between(first, month) + 1,
            _months_between(first, last) + 1,
        )
        step = ("gradual_exit", values, amount)
    return Result._of(amount, (step,), {}, ())


def _month_text(month: date | None) -> str:
    return "" if month is None else f"{month.year:04d}-{month.month:02d}"


def _months_between(first: date, later: date) -> int:
    return (later.year - first.year) * 12 + later.month - first.month


def facts_key(enrolment: EnrolmentFacts, household: HouseholdFacts, params: Params) -> tuple:
    """What ``compute_amount`` and ``price_subsidy`` read of the facts, and nothing else: under
    one Params (and one CPI figure) enrolments with equal keys get equal Results, the same amount,
    steps and versions (only ``Result.members`` names member ids). Households share their facts
    by the thousand (a dibao household of three with 900 counted income is one case), so a batch
    computes each key once.

    Each rule's key names what that rule reads, as the rule reads it: the household's size and
    counted income, and for a supplement the member's class facts by position (the steps name
    members by position); an age only by its band among the rule's ``age_thresholds``, which are
    all it compares ages with. A rule that comes to read another fact must add it to its key:
    tests/payments/test_engine_properties.py checks equal keys for equal results over facts
    drawn to collide.
    """
    status = enrolment.status
    category = enrolment.category
    # Who pays whose price subsidy, by position: empty unless the household has two or more
    # enrolments in force.
    shares = subsidy_shares(enrolment, household) if household.coverage else ()
    if status == ACTIVE:
        key = _KEYS.get(category)
        if key is None:  # compute_amount refuses an unknown category
            return (status, category, enrolment.enrolment_id)
        return (status, category, shares, *key(enrolment, household, params.rules(category)))
    if status == GRADUAL_EXIT:  # the recorded amount and period, the persons a subsidy covers
        persons = covered_persons(enrolment, household)
        return (
            status,
            category,
            enrolment.gradual_exit_amount,
            enrolment.gradual_exit_from,
            enrolment.gradual_exit_until,
            persons,
            shares,
        )
    return (status,)


def _class_facts(member: MemberFacts, r: _Rules) -> tuple:
    """What the supplement classes read of a member (see _member_amount)."""
    return (
        member.serious_illness,
        member.disability_grade,
        bisect_right(r.age_thresholds, member.age),
    )


def _dibao_key(enrolment: EnrolmentFacts, household: HouseholdFacts, r: _Rules) -> tuple:
    size, income = _household_income(household)
    if not r.supplements:
        return (size, income)
    return (size, income, tuple([_class_facts(member, r) for member in household.members]))


def _single_dibao_key(enrolment: EnrolmentFacts, household: HouseholdFacts, r: _Rules) -> tuple:
    member = _covered_member(enrolment, household)
    if member is None:
        return (None,)
    income = member.counted_income if member.counted_income > ZERO else ZERO
    if not r.supplements:
        return (income,)
    position = household.members.index(member)
    return (income, len(household.members), position, _class_facts(member, r))


def _tekun_key(enrolment: EnrolmentFacts, household: HouseholdFacts, r: _Rules) -> tuple:
    member = _covered_member(enrolment, household)
    return (member is not None, _care_level(enrolment, member))


def _care_level(enrolment: EnrolmentFacts, member: MemberFacts | None) -> str:
    """The member's self-care ability recorded for the month, else the enrolment's assessed
    level; none at all counts as fully self-caring."""
    return (member.care_level if member else "") or enrolment.care_level or "self_care"


def _child_key(enrolment: EnrolmentFacts, household: HouseholdFacts, r: _Rules) -> tuple:
    return (_covered_member(enrolment, household) is not None,)


def _marginal_key(enrolment: EnrolmentFacts, household: HouseholdFacts, r: _Rules) -> tuple:
    return _household_income(household)


def _household_income(household: HouseholdFacts) -> tuple[int, Decimal]:
    income = ZERO
    for member in household.members:
        income += member.counted_income
    return len(household.members), (income if income > ZERO else ZERO)


def _dibao(enrolment: EnrolmentFacts, household: HouseholdFacts, r: _Rules) -> Result:
    size, income = _household_income(household)
    if size == 0:
        return Result._of(ZERO, (("no_members", (), ZERO),), {}, ())
    per_capita = income / size
    gap = r.standard - per_capita
    if gap < ZERO:
        gap = ZERO
    steps = [
        ("household_income", (size, income), income),
        ("per_capita", (income, size), per_capita),
        ("gap", (r.standard, per_capita), gap),
    ]
    base = _floor(gap, r, steps) if gap < r.floor else gap
    if r.supplements and _any_supplement(household.members, size, r):
        return _with_supplements(household.members, base, r, steps)
    each = _round(base, r, steps)
    amount = each * size
    steps.append(("household", (each, size), amount))
    return Result._of(amount, steps, r.used(steps), household.members, each)


def _floor(gap: Decimal, r: _Rules, steps: list) -> Decimal:
    if gap < r.floor:
        steps.append(("floor", (r.standard, r.floor_share), r.floor))
        return r.floor
    return gap


def _may_be_supplemented(member: MemberFacts, size: int, r: _Rules) -> bool:
    """A quick test before the details: could this member fall in any supplement class?"""
    return (
        size == 1
        or member.serious_illness
        or member.disability_grade is not None
        or not r.minor_age <= member.age < r.elderly_age
    )


def _any_supplement(members: tuple[MemberFacts, ...], size: int, r: _Rules) -> bool:
    for member in members:
        if _may_be_supplemented(member, size, r):
            return True
    return False


def _round(amount: Decimal, r: _Rules, steps: list, position: int = 0) -> Decimal:
    rounded = amount.quantize(r.quantum, rounding=r.rounding)
    if rounded != amount:
        if position:
            steps.append(("round_member", (position, amount, r.quantum, r.mode), rounded))
        else:
            steps.append(("round", (amount, r.quantum, r.mode), rounded))
    return rounded


def _member_amount(
    member: MemberFacts, position: int, size: int, base: Decimal, r: _Rules
) -> tuple[Decimal, tuple | None]:
    """A member's unrounded amount under the best supplement class, and the step that shows it.

    A member in several classes gets the class that pays most (supplements do not add up).
    """
    best, step = base, None
    for name, code, full, share, extra in r.supplements:
        if name == "serious_illness":
            qualifies, bound = member.serious_illness, ()
        elif name == "severe_disability":
            grade = member.disability_grade
            qualifies, bound = grade is not None and grade <= r.severe_grade, (r.severe_grade,)
        elif name == "elderly":
            qualifies, bound = member.age >= r.elderly_age, (r.elderly_age,)
        elif name == "minor":
            qualifies, bound = member.age < r.minor_age, (r.minor_age,)
        else:
            qualifies, bound = size == 1, ()
        if not qualifies:
            continue
        if full:
            amount = r.standard + extra
            if amount > best:
                best, step = amount, (code, (position, r.standard, share, *bound), amount)
        else:
            amount = base + extra
            if amount > best:
                best, step = amount, (code, (position, base, r.standard, share, *bound), amount)
    return best, step


def _with_supplements(
    members: tuple[MemberFacts, ...], base: Decimal, r: _Rules, steps: list
) -> Result:
    """Members in a supplement class get their own amount; the others the gap, each rounded."""
    size = len(members)
    each = _round(base, r, steps)
    amounts = []
    supplemented = []
    for position, member in enumerate(members, 1):
        if not _may_be_supplemented(member, size, r):
            amounts.append((member.member_id, each))
            continue
        amount, step = _member_amount(member, position, size, base, r)
        if step is None:
            amounts.append((member.member_id, each))
            continue
        steps.append(step)
        amount = _round(amount, r, steps, position)
        amounts.append((member.member_id, amount))
        supplemented += (position, amount)
    if not supplemented:
        total = each * size
        steps.append(("household", (each, size), total))
        return Result._of(total, steps, r.used(steps), tuple(amounts))
    # The sum reads "575 × 2 + 1050 + 663 = 2863": the others' gap times their number, then
    # each supplemented member's amount (values: position, amount, position, amount, ...).
    plain = size - len(supplemented) // 2
    total = sum(supplemented[1::2], each * plain)
    if plain:
        steps.append(("household_sum", (each, plain, *supplemented), total))
    else:
        steps.append(("household_sum_supplemented", tuple(supplemented), total))
    return Result._of(total, steps, r.used(steps), tuple(amounts))


def _single_dibao(enrolment: EnrolmentFacts, household: HouseholdFacts, r: _Rules) -> Result:
    member = _covered_member(enrolment, household)
    if member is None:
        return Result._of(ZERO, (("not_present", (), ZERO),), {}, ())
    income = member.counted_income if member.counted_income > ZERO else ZERO
    gap = r.standard - income
    if gap < ZERO:
        gap = ZERO
    steps = [
        ("member_income", (income,), income),
        ("single_gap", (r.standard, income), gap),
    ]
    amount = _floor(gap, r, steps)
    if r.supplements:
        position = household.members.index(member) + 1
        amount, step = _member_amount(member, position, len(household.members), amount, r)
        if step is not None:
            steps.append(step)
    amount = _round(amount, r, steps)
    return Result._of(amount, tuple(steps), r.used(steps), ((member.member_id, amount),))


def _tekun(enrolment: EnrolmentFacts, household: HouseholdFacts, r: _Rules) -> Result:
    member = _covered_member(enrolment, household)
    if member is None:
        return Result._of(ZERO, (("not_present", (), ZERO),), {}, ())
    level = _care_level(enrolment, member)
    fixed, minimum_wage, share, care = r.care[level]
    total = r.basic + care
    steps = [
        ("tekun_basic", (r.standard, r.multiplier), r.basic),
        (f"care.{level}", (fixed, minimum_wage, share), care),
        ("tekun_total", (r.basic, care), total),
    ]
    amount = _round(total, r, steps)
    return Result._of(amount, tuple(steps), r.used(steps), ((member.member_id, amount),))


def _child(enrolment: EnrolmentFacts, household: HouseholdFacts, r: _Rules) -> Result:
    member = _covered_member(enrolment, household)
    if member is None:
        return Result._of(ZERO, (("not_present", (), ZERO),), {}, ())
    steps = [("orphan_institution", (r.institution,), r.institution)]
    category = enrolment.category
    if category == ORPHAN_INSTITUTION:
        amount = _round(r.institution, r, steps)
    else:
        amount = r.community
        values = (r.institution, r.community_share, r.quantum, r.mode)
        steps.append(("orphan_community", values, amount))
        if category != ORPHAN_COMMUNITY:
            unrounded = r.community * r.child_share
            steps.append((f"child_share.{category}", (r.community, r.child_share), unrounded))
            amount = _round(unrounded, r, steps)
    return Result._of(amount, tuple(steps), r.used(steps), ((member.member_id, amount),))


def _marginal(enrolment: EnrolmentFacts, household: HouseholdFacts, r: _Rules) -> Result:
    size, income = _household_income(household)
    steps = [("household_income", (size, income), income)]
    if size:
        per_capita = income / size
        steps.append(("per_capita", (income, size), per_capita))
    steps.append(("marginal_threshold", (r.standard, r.marginal_multiplier), r.threshold))
    steps.append(("marginal", (), ZERO))
    return Result._of(ZERO, tuple(steps), r.used(steps), ())


_RULES = {
    DIBAO: _dibao,
    SINGLE_DIBAO: _single_dibao,
    TEKUN: _tekun,
    MARGINAL: _marginal,
    **{category: _child for category in CHILD_CATEGORIES},
}


_KEYS = {
    DIBAO: _dibao_key,
    SINGLE_DIBAO: _single_dibao_key,
    TEKUN: _tekun_key,
    MARGINAL: _marginal_key,
    **{category: _child_key for category in CHILD_CATEGORIES},
}


def price_subsidy(
    enrolment: EnrolmentFacts,
    household: HouseholdFacts,
    params: Params,
    cpi_rise_percent: Decimal,
) -> Result | None:
    """The price-linked subsidy (价格临时补贴) of the month, or None when it is not due.

    Every covered person gets standard ÷ divisor, rounded half up to the yuan: the low divisor
    once the CPI rise reaches the trigger, the high one from the high trigger. Enrolments in
    force (active or in gradual exit) get it, marginal families included. The explanation gives
    the CPI rise recorded and the tier it reached.

    Once per person per month: a person covered by several enrolments in force gets it on the
    first of them in ``PRICE_SUBSIDY_ORDER`` (``subsidy_shares``). The line that pays it names
    the person's other enrolments; a line whose persons are all paid elsewhere is 0 and names
    the enrolment that pays them.
    """
    if enrolment.status not in (ACTIVE, GRADUAL_EXIT) or cpi_rise_percent is None:
        return None
    r = params.rules(enrolment.category, "price")
    if cpi_rise_percent < r.trigger:
        return None
    persons = covered_persons(enrolment, household)
    if persons == 0:
        return None
    shares = subsidy_shares(enrolment, household)
    elsewhere = [(position, other) for position, other, here in shares if not here]
    if elsewhere:
        persons -= len({position for position, _ in elsewhere})
    if cpi_rise_percent >= r.trigger_high:
        code, trigger, divisor = "price_subsidy_high", r.trigger_high, r.divisor_high
    else:
        code, trigger, divisor = "price_subsidy", r.trigger, r.divisor
    exact = r.standard / divisor
    each = exact.quantize(ONE, rounding=ROUND_HALF_UP)
    amount = each * persons
    steps = [
        (code, (r.standard, divisor, trigger, cpi_rise_percent), exact),
        ("round_yuan", (exact,), each),
    ]
    for position, other, here in shares:
        if here:
            steps.append(("price_subsidy_here", (position, other), enrolment.category))
    for position, other in elsewhere:
        steps.append(("price_subsidy_elsewhere", (position, other), other))
    steps.append(("price_total", (each, persons), amount))
    return Result._of(amount, tuple(steps), r.used(steps), ())


def subsidy_shares(enrolment: EnrolmentFacts, household: HouseholdFacts) -> tuple:
    """The persons of this enrolment that another enrolment in force also covers, with who pays
    their price subsidy: ((member position, the other's category, paid here), ...), empty for
    the most (no other enrolment in the household). A person is paid here when this enrolment
    comes before every other that covers them (``PRICE_SUBSIDY_ORDER``, then the oldest); the
    steps name members by position, as everywhere."""
    coverage = household.coverage
    if len(coverage) < 2:
        return ()
    mine = _subsidy_rank(enrolment.enrolment_id, enrolment.category)
    whole = enrolment.category in HOUSEHOLD_CATEGORIES
    shares = []
    for position, member in enumerate(household.members, 1):
        if not whole and member.member_id != enrolment.member_id:
            continue
        others = sorted(
            (_subsidy_rank(other_id, category), category)
            for other_id, member_id, category in coverage
            if other_id != enrolment.enrolment_id
            and (member_id is None or member_id == member.member_id)
        )
        if not others:
            continue
        if others[0][0] < mine:
            shares.append((position, others[0][1], False))
        else:
            shares.extend((position, category, True) for _rank, category in others)
    return tuple(shares)


def _subsidy_rank(enrolment_id: int, category: str) -> tuple[int, int]:
    order = PRICE_SUBSIDY_ORDER.index(category) if category in PRICE_SUBSIDY_ORDER else 99
    return (order, enrolment_id)


def gradual_exit_months(household: HouseholdFacts, params: Params) -> int:
    """How many months a household in gradual exit (渐退) keeps its amount: longer where a member
    is seriously ill or severely disabled."""
    r = params.rules(DIBAO, "gradual_exit")
    for member in household.members:
        grade = member.disability_grade
        if member.serious_illness or (grade is not None and grade <= r.severe_grade):
            return r.months_severe
    return r.months


# ---------------------------------------------------------------------------------------------
# Temporary relief (临时救助): ceilings and approval tiers in multiples of the standard.

RELIEF_MEDICAL = "medical"
RELIEF_ACCIDENTAL_DEATH = "accidental_death"
RELIEF_OTHER = "other"
APPROVAL_TOWNSHIP = "township"
APPROVAL_COUNTY = "county"


def relief_ceiling(*, relief_type: str, params: Params, self_paid_cost: Decimal = ZERO) -> Result:
    """The most temporary relief of this type may pay (rounded half up to the yuan).

    Medical: a self-paid cost up to the threshold allows up to the medical maximum multiple of
    the standard; above it, the excess share of the whole cost, capped at the medical cap
    multiple and never less than below the threshold (so a cost just above it loses nothing):
    the explanation shows the three figures compared and which one the ceiling is.
    Accidental death and other emergencies: a multiple of the standard.
    """
    r = params.rules("", "relief")
    standard = r.standard
    if relief_type == RELIEF_MEDICAL:
        multiple = r.relief["medical_max_multiple"]
        threshold = r.relief["medical_threshold"]
        base = standard * multiple
        if self_paid_cost > threshold:
            share = r.relief["medical_excess_share"]
            cap_multiple = r.relief["medical_cap_multiple"]
            by_share, cap = self_paid_cost * share, standard * cap_multiple
            amount = max(min(by_share, cap), base)
            by = "base" if amount == base else ("share" if by_share <= cap else "cap")
            steps = [
                ("relief_medical_share", (self_paid_cost, share, threshold), by_share),
                ("relief_medical_cap", (standard, cap_multiple), cap),
                ("relief_medical_below", (standard, multiple), base),
                ("relief_medical_ceiling", (by_share, cap, base, by), amount),
            ]
        else:
            amount = base
            steps = [("relief_medical", (standard, multiple, self_paid_cost, threshold), amount)]
    elif relief_type in (RELIEF_ACCIDENTAL_DEATH, RELIEF_OTHER):
        multiple = r.relief[f"{relief_type}_multiple"]
        amount = standard * multiple
        steps = [(f"relief_{relief_type}", (standard, multiple), amount)]
    else:
        raise ValueError(f"unknown relief type {relief_type!r}")
    rounded = amount.quantize(ONE, rounding=ROUND_HALF_UP)
    if rounded != amount:
        steps.append(("round_yuan", (amount,), rounded))
    return Result._of(rounded, tuple(steps), r.used(steps), ())


def relief_approval(*, amount: Decimal, params: Params) -> tuple[str | None, Result]:
    """Who approves temporary relief of this amount, and why: the township up to its limit, the
    county up to the absolute cap (the explanation says that county approval is needed), no one
    above the cap (None)."""
    r = params.rules("", "relief")
    limit = r.standard * r.relief["township_limit_multiple"]
    cap = r.standard * r.relief["county_cap_multiple"]
    steps = [("relief_township_limit", (r.standard, r.relief["township_limit_multiple"]), limit)]
    if amount <= limit:
        tier = APPROVAL_TOWNSHIP
        steps.append(("relief_township", (amount, limit), tier))
    else:
        steps.append(("relief_county_cap", (r.standard, r.relief["county_cap_multiple"]), cap))
        if amount <= cap:
            tier = APPROVAL_COUNTY
            steps.append(("relief_county", (amount, limit, cap), tier))
        else:
            tier = None
            steps.append(("relief_above_cap", (amount, cap), "none"))
    return tier, Result._of(amount, tuple(steps), r.used(steps), ())
